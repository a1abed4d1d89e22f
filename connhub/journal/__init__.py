"""The journal: one table of typed events, written by the code path that causes each (docs/notifications.md).

`record.record(session, event)` adds the event (and the notices it causes, connhub.notify.outbox) to
the caller's transaction; it never commits. Events are built by the constructors in `events`, from
typed data only, so no token, secret or unescaped provider text reaches the table.
"""
