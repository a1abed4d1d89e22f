"""What the «Журнал» page and a service page ask of the journal: the user's events, filtered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub.db import execute_read
from connhub.export import excel_csv
from connhub.journal.events import ActorKind, EventKind
from connhub.journal.summary import summary
from connhub.models import JournalEvent
from connhub.notify.messages import titles
from connhub.runtime import Runtime

KIND_TITLES: dict[str, str] = {
    EventKind.CONNECTED: "Подключено",
    EventKind.RECONNECTED: "Переподключено",
    EventKind.DISCONNECTED: "Отключено",
    EventKind.STATUS_CHANGED: "Состояние изменилось",
    EventKind.RIGHTS_CHANGED: "Права изменились",
    EventKind.TOKEN_UNREADABLE: "Токен не расшифровывается",
    EventKind.SYNC_ENABLED: "Синхронизация включена",
    EventKind.SYNC_DISABLED: "Синхронизация выключена",
    EventKind.SETTINGS_CHANGED: "Настройки изменены",
    EventKind.RULE_ADDED: "Правило добавлено",
    EventKind.RULE_REMOVED: "Правило удалено",
    EventKind.RUN_FINISHED: "Запуск завершён",
    EventKind.RUN_STOPPED: "Запуск остановлен",
    EventKind.RUN_FAILED: "Запуск не удался",
    EventKind.RUN_STALE: "Синхронизация устарела",
    EventKind.CATALOG_REFRESH_FAILED: "Каталог не обновился",
    EventKind.CATALOG_REFRESH_RECOVERED: "Каталог обновляется снова",
    EventKind.ADMIN_ACTION: "Действие администратора",
    EventKind.ORDER_NEW: "Новый заказ",
}
ACTOR_TITLES: dict[str, str] = {
    ActorKind.USER: "пользователь", ActorKind.CHECKER: "проверка по расписанию",
    ActorKind.CHECK_NOW: "«Проверить сейчас»", ActorKind.SCHEDULE: "расписание", ActorKind.CRON: "cron",
    ActorKind.ADMIN: "администратор",
}
LIMIT = 1000


@dataclass(frozen=True)
class EventView:
    at: datetime
    service: str
    service_title: str
    kind: str
    kind_title: str
    actor: str
    summary: str


def service_titles() -> dict[str, str]:
    return {**titles(), "sync": "Синхронизация", "catalog": "Каталог"}


def _actor(kind: str, label: str) -> str:
    title = ACTOR_TITLES.get(kind, kind)
    return f"{title}: {label}" if kind == ActorKind.USER and label else title


def events(session: Session, user_id: int, *, services: Sequence[str] = (), kinds: Sequence[str] = (),
           since: datetime | None = None, until: datetime | None = None, connection_id: int | None = None,
           limit: int = LIMIT) -> list[EventView]:
    """The user's events, newest first (at most `limit`)."""
    query = select(JournalEvent).where(JournalEvent.user_id == user_id)
    if services:
        query = query.where(JournalEvent.service.in_(list(services)))
    if kinds:
        query = query.where(JournalEvent.kind.in_(list(kinds)))
    if since is not None:
        query = query.where(JournalEvent.at >= since)
    if until is not None:
        query = query.where(JournalEvent.at < until)
    if connection_id is not None:
        query = query.where(JournalEvent.connection_id == connection_id)
    names = service_titles()
    rows = session.scalars(query.order_by(JournalEvent.at.desc(), JournalEvent.id.desc()).limit(limit)).all()
    return [EventView(row.at, row.service, names.get(row.service, row.service), row.kind,
                      KIND_TITLES.get(row.kind, row.kind), _actor(row.actor_kind, row.actor_label),
                      summary(row.kind, row.service, row.details or {}, names)) for row in rows]


def events_for(rt: Runtime, user_id: int, **filters: Any) -> list[EventView]:
    """The page's door: `events` in a session of its own."""
    return execute_read(rt.sessions, lambda session: events(session, user_id, **filters))


def csv_bytes(views: Sequence[EventView]) -> bytes:
    return excel_csv(["Когда (UTC)", "Сервис", "Событие", "Кто", "Что произошло"],
                     [(v.at, v.service_title, v.kind_title, v.actor, v.summary) for v in views])
