"""Writing an event: into the caller's transaction, with the notices it causes."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from connhub.journal.events import Event
from connhub.models import JournalEvent, utcnow

log = logging.getLogger(__name__)


def record(session: Session, event: Event) -> JournalEvent:
    """Add the event and its outbox rows to the session's transaction (flushed, never committed)."""
    from connhub.notify.outbox import enqueue_for  # notify reads the journal: import late, one way

    row = JournalEvent(at=utcnow(), user_id=event.user_id, actor_kind=event.actor.kind,
                       actor_label=event.actor.label, service=event.service, connection_id=event.connection_id,
                       kind=event.kind, details=dict(event.details))
    session.add(row)
    session.flush()
    enqueue_for(session, row)
    return row
