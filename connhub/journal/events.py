"""The typed events and their constructors; the one place that decides what an event carries.

Every value in `details` is a number, a boolean, None or a short cleaned string. Strings that came
from outside (a provider's reason, a store name) pass `connhub.providers.text.clean`, which cuts
them and strips control characters; the pages escape them where they enter markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from connhub.providers import text

Detail = str | int | bool | None


class ActorKind(StrEnum):
    USER = "user"
    CHECKER = "checker"
    CHECK_NOW = "check_now"  # «Проверить сейчас»
    SCHEDULE = "schedule"
    CRON = "cron"
    ADMIN = "admin"


class EventKind(StrEnum):
    CONNECTED = "connection.connected"
    RECONNECTED = "connection.reconnected"
    DISCONNECTED = "connection.disconnected"
    STATUS_CHANGED = "connection.status_changed"
    RIGHTS_CHANGED = "connection.rights_changed"
    TOKEN_UNREADABLE = "connection.token_unreadable"
    SYNC_ENABLED = "sync.enabled"
    SYNC_DISABLED = "sync.disabled"
    SETTINGS_CHANGED = "sync.settings_changed"
    RULE_ADDED = "catalog.rule_added"
    RULE_REMOVED = "catalog.rule_removed"
    RUN_FINISHED = "sync.run_finished"
    RUN_STOPPED = "sync.run_stopped"
    RUN_FAILED = "sync.run_failed"
    RUN_STALE = "sync.run_stale"
    CATALOG_REFRESH_FAILED = "catalog.refresh_failed"
    CATALOG_REFRESH_RECOVERED = "catalog.refresh_recovered"
    ADMIN_ACTION = "admin.action"  # an administrator acted on the user's behalf («Обзор»)
    ORDER_NEW = "shop.order_new"  # a buyer's order the orders poller saw first (connhub.orders)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    label: str = ""

    @classmethod
    def user(cls, label: str) -> Actor:
        return cls(ActorKind.USER, text.clean(label, 320))


CHECKER = Actor(ActorKind.CHECKER, "checker")
CHECK_NOW = Actor(ActorKind.CHECK_NOW, "«Проверить сейчас»")
SCHEDULE = Actor(ActorKind.SCHEDULE, "расписание")


@dataclass(frozen=True)
class Event:
    user_id: int
    kind: EventKind
    service: str  # a provider key, "sync" or "catalog"
    actor: Actor
    connection_id: int | None = None
    details: Mapping[str, Detail] = field(default_factory=dict)


SHORT = 200


def _clean(value: object) -> str:
    return text.clean(value, SHORT)


def _shown(value: object) -> str:
    return "—" if value is None or value == "" else _clean(value)


def connected(user_id: int, provider: str, connection_id: int, actor: Actor, *, account: str,
              reconnected: bool, was: str = "") -> Event:
    """`was`: the status a reconnect repaired (a reconnect out of trouble is a recovery)."""
    details: dict[str, Detail] = {"account": _clean(account)}
    if was:
        details["was"] = str(was)
    return Event(user_id, EventKind.RECONNECTED if reconnected else EventKind.CONNECTED, provider, actor,
                 connection_id, details)


def disconnected(user_id: int, provider: str, connection_id: int, actor: Actor, *, account: str) -> Event:
    return Event(user_id, EventKind.DISCONNECTED, provider, actor, connection_id, {"account": _clean(account)})


def status_changed(user_id: int, provider: str, connection_id: int, actor: Actor, *, old: str, new: str,
                   reason: str) -> Event:
    return Event(user_id, EventKind.STATUS_CHANGED, provider, actor, connection_id,
                 {"old": str(old), "new": str(new), "reason": _clean(reason)})


def rights_changed(user_id: int, provider: str, connection_id: int, actor: Actor, *, granted: str,
                   missing: str) -> Event:
    return Event(user_id, EventKind.RIGHTS_CHANGED, provider, actor, connection_id,
                 {"granted": _clean(granted), "missing": _clean(missing)})


def token_unreadable(user_id: int, provider: str, connection_id: int, actor: Actor) -> Event:
    return Event(user_id, EventKind.TOKEN_UNREADABLE, provider, actor, connection_id, {})


def sync_switched(user_id: int, actor: Actor, *, on: bool, confirmed: str = "") -> Event:
    return Event(user_id, EventKind.SYNC_ENABLED if on else EventKind.SYNC_DISABLED, "sync", actor, None,
                 {"confirmed": _clean(confirmed)} if on else {})


def settings_changed(user_id: int, actor: Actor, changes: Mapping[str, tuple[object, object]]) -> Event:
    details: dict[str, Detail] = {}
    for name, (old, new) in sorted(changes.items())[:20]:
        details[_clean(name)[:40]] = f"{_shown(old)} → {_shown(new)}"
    return Event(user_id, EventKind.SETTINGS_CHANGED, "sync", actor, None, details)


def rule_changed(user_id: int, actor: Actor, *, added: bool, mode: str, target_kind: str, target_name: str,
                 store_id: str) -> Event:
    return Event(user_id, EventKind.RULE_ADDED if added else EventKind.RULE_REMOVED, "catalog", actor, None,
                 {"mode": _clean(mode), "target_kind": _clean(target_kind), "target": _clean(target_name),
                  "store_id": _clean(store_id)})


def run_ended(user_id: int, actor: Actor, *, state: str, run_id: int, dry_run: bool, counts: Mapping[str, int],
              reason: str = "") -> Event:
    kind = {"finished": EventKind.RUN_FINISHED, "stopped": EventKind.RUN_STOPPED,
            "failed": EventKind.RUN_FAILED}.get(state, EventKind.RUN_FAILED)
    details: dict[str, Detail] = {"run_id": int(run_id), "dry_run": bool(dry_run), "reason": _clean(reason)}
    details.update({name: int(value) for name, value in counts.items()})
    return Event(user_id, kind, "sync", actor, None, details)


def run_stale(user_id: int, actor: Actor, *, hours: int) -> Event:
    return Event(user_id, EventKind.RUN_STALE, "sync", actor, None, {"hours": int(hours)})


def catalog_refresh(user_id: int, provider: str, connection_id: int, actor: Actor, *, failed: bool,
                    reason: str = "") -> Event:
    kind = EventKind.CATALOG_REFRESH_FAILED if failed else EventKind.CATALOG_REFRESH_RECOVERED
    return Event(user_id, kind, "catalog", actor, connection_id,
                 {"provider": _clean(provider), "reason": _clean(reason)} if failed else {"provider": _clean(provider)})


ADMIN_ACTIONS = {"check_now": "«Проверить сейчас»", "sync_now": "«Синхронизировать сейчас»"}


def admin_action(user_id: int, admin_label: str, *, action: str, service: str, subject: str,
                 outcome: str, connection_id: int | None = None) -> Event:
    """An administrator pressed a button on the user's behalf; the user's journal shows who."""
    return Event(user_id, EventKind.ADMIN_ACTION, service, Actor(ActorKind.ADMIN, _clean(admin_label)), connection_id,
                 {"action": _clean(action), "subject": _clean(subject), "outcome": _clean(outcome)})


def order_new(user_id: int, provider: str, connection_id: int | None, *, number: str, total_kopecks: int | None,
              items: int, comment: str = "") -> Event:
    """A buyer's order in the user's community, first seen by the orders poller."""
    return Event(user_id, EventKind.ORDER_NEW, provider, CHECKER, connection_id,
                 {"number": _clean(number), "total_kopecks": total_kopecks, "items": int(items),
                  "comment": _clean(comment)})
