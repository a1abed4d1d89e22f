"""The notices' Russian text: what happened, since when, what to do (the link is added when sent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connhub.journal.summary import status_title, summary
from connhub.notify.topics import Notice
from connhub.providers import text
from connhub.providers.registry import PROVIDER_INFO


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link_path: str  # the page under PUBLIC_URL


def when(at: datetime) -> str:
    return at.strftime("%d.%m.%Y %H:%M UTC")


def titles() -> dict[str, str]:
    return {key: info.title for key, info in PROVIDER_INFO.items()}


WHAT_TO_DO = {
    "reconnect": "Переподключите сервис на его странице в connhub: сервис отклонил доступ.",
    "offline": "Сервис не отвечает. connhub проверяет его снова сам и сообщит, когда он заработает.",
}


def compose(notice: Notice, *, service: str, kind: str, details: Mapping[str, Any], at: datetime,
            account: str = "", flaps: int = 0) -> Message:
    names = titles()
    title = names.get(service, service)
    who = f" ({text.clean(account, 120)})" if account else ""
    line = summary(kind, service, details, names)
    since = f"С {when(at)}."
    match notice:
        case Notice.TROUBLE:
            new = str(details.get("new", "reconnect"))
            todo = WHAT_TO_DO.get(new, "Откройте страницу сервиса в connhub.")
            state = status_title(new)
            if kind == "connection.token_unreadable":
                todo = "Токен не расшифровывается ключом сервера: проверьте CONNHUB_SECRET_KEY (администратор)."
                state = "ошибка ключа"
            return Message(f"connhub: {title} — {state}", f"{line}{who}.\n{since}\n{todo}", service)
        case Notice.RECOVERED:
            return Message(f"connhub: {title} снова работает", f"{line}{who}.\n{since}\nДелать ничего не нужно.",
                           service)
        case Notice.UNSTABLE:
            return Message(f"connhub: {title} работает нестабильно",
                           f"Подключение {title}{who} за последний час меняло состояние {flaps} раз. "
                           f"Отдельные уведомления об изменениях пока не отправляются.\nС {when(at)}.\n"
                           f"Откройте страницу сервиса, чтобы увидеть текущее состояние.", service)
        case Notice.REMINDER:
            new = str(details.get("status", "offline"))
            return Message(f"connhub: {title} всё ещё {status_title(new)}",
                           f"Подключение {title}{who} всё ещё {status_title(new)}.\nС {when(at)}.\n"
                           f"{WHAT_TO_DO.get(new, '')}", service)
        case Notice.SYNC_STOPPED | Notice.SYNC_FAILED | Notice.SYNC_ERRORS | Notice.SYNC_STALE:
            todo = "Откройте «Синхронизацию»: там причина и что исправить."
            return Message(f"connhub: {line.split(':')[0]}", f"{line}.\n{when(at)}.\n{todo}", "sync")
        case Notice.CATALOG_FAILED:
            return Message("connhub: каталог не обновляется", f"{line}.\nС {when(at)}.\n"
                           "Откройте «Каталог»: connhub повторит обновление по расписанию.", "catalog")
        case Notice.CATALOG_RECOVERED:
            return Message("connhub: каталог обновляется снова", f"{line}.\n{when(at)}.", "catalog")
        case Notice.ORDER_NEW:
            said = details.get("comment")
            comment = f"\nКомментарий покупателя: {text.clean(said, 200)}" if said else ""
            return Message(f"connhub: новый заказ №{text.clean(details.get('number', ''), 64)}",
                           f"{line}.{comment}\n{when(at)}.\nСостав заказа — на странице «Заказы».", "orders")
    return Message("connhub: проверочное сообщение",
                   f"Это проверочное сообщение connhub ({when(at)}). Канал работает.", "notifications")
