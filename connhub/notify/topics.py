"""What a channel can receive (topics), the notices there are, and which event causes which."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from connhub.journal.events import EventKind

BAD_STATUSES = ("offline", "reconnect")


class Topic(StrEnum):
    CONNECTION_TROUBLE = "connection_trouble"
    CONNECTION_RECOVERED = "connection_recovered"
    SYNC_STOPPED = "sync_stopped"
    SYNC_FAILED = "sync_failed"
    SYNC_ERRORS = "sync_errors"
    SYNC_STALE = "sync_stale"
    CATALOG = "catalog"
    SHOP_ORDERS = "shop_orders"


TOPIC_TITLES: dict[Topic, str] = {
    Topic.CONNECTION_TROUBLE: "Подключение перестало работать",
    Topic.CONNECTION_RECOVERED: "Подключение снова работает",
    Topic.SYNC_STOPPED: "Синхронизация остановлена",
    Topic.SYNC_FAILED: "Синхронизация не удалась",
    Topic.SYNC_ERRORS: "Синхронизация завершена с ошибками",
    Topic.SYNC_STALE: "Синхронизация давно не запускалась",
    Topic.CATALOG: "Каталог не обновляется (и снова обновляется)",
    Topic.SHOP_ORDERS: "Новые заказы во ВКонтакте",
}
ALL_TOPICS = tuple(Topic)


class Notice(StrEnum):
    TROUBLE = "trouble"
    RECOVERED = "recovered"
    UNSTABLE = "unstable"  # instead of one notice per change of a flapping connection
    REMINDER = "reminder"  # still broken, at most hourly
    SYNC_STOPPED = "sync_stopped"
    SYNC_FAILED = "sync_failed"
    SYNC_ERRORS = "sync_errors"
    SYNC_STALE = "sync_stale"
    CATALOG_FAILED = "catalog_failed"
    CATALOG_RECOVERED = "catalog_recovered"
    ORDER_NEW = "order_new"
    TEST = "test"


CONNECTION_NOTICES = (Notice.TROUBLE, Notice.RECOVERED, Notice.UNSTABLE, Notice.REMINDER)


def notice_for(kind: str, details: Mapping[str, Any]) -> tuple[Topic, Notice] | None:
    """The notice an event causes, on the edge only (None: nobody is told)."""
    match kind:
        case EventKind.STATUS_CHANGED:
            old, new = str(details.get("old")), str(details.get("new"))
            if new in BAD_STATUSES and old != new:
                return Topic.CONNECTION_TROUBLE, Notice.TROUBLE
            if old in BAD_STATUSES and new == "online":
                return Topic.CONNECTION_RECOVERED, Notice.RECOVERED
            return None
        case EventKind.RECONNECTED:
            if str(details.get("was")) in BAD_STATUSES:
                return Topic.CONNECTION_RECOVERED, Notice.RECOVERED
            return None
        case EventKind.TOKEN_UNREADABLE:
            return Topic.CONNECTION_TROUBLE, Notice.TROUBLE
        case EventKind.RUN_STOPPED:
            return (None if details.get("dry_run") else (Topic.SYNC_STOPPED, Notice.SYNC_STOPPED))
        case EventKind.RUN_FAILED:
            return (None if details.get("dry_run") else (Topic.SYNC_FAILED, Notice.SYNC_FAILED))
        case EventKind.RUN_FINISHED:
            if details.get("failed") and not details.get("dry_run"):
                return Topic.SYNC_ERRORS, Notice.SYNC_ERRORS
            return None
        case EventKind.RUN_STALE:
            return Topic.SYNC_STALE, Notice.SYNC_STALE
        case EventKind.CATALOG_REFRESH_FAILED:
            return Topic.CATALOG, Notice.CATALOG_FAILED
        case EventKind.CATALOG_REFRESH_RECOVERED:
            return Topic.CATALOG, Notice.CATALOG_RECOVERED
        case EventKind.ORDER_NEW:
            return Topic.SHOP_ORDERS, Notice.ORDER_NEW
    return None
