"""What the «Уведомления» page asks: the user's channels, adding and changing them, a test notice.

No network call happens here: «Отправить проверочное сообщение» writes a notice to the outbox and
the sidecar sends it. A channel's target (an e-mail address, a Telegram bot token and chat, an
Apprise URL) is sealed at rest like the connections' tokens; the page only ever sees its label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import apprise
from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub.crypto import Secret, TokenCipher
from connhub.db import execute_read, execute_write
from connhub.models import NotifyChannel, NotifyOutbox
from connhub.notify import outbox
from connhub.notify.topics import ALL_TOPICS, TOPIC_TITLES, Topic
from connhub.runtime import Runtime

KIND_TITLES = {"email": "E-mail", "telegram": "Telegram", "apprise": "Apprise"}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
TELEGRAM_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{10,100}$")
TELEGRAM_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{4,64})$")


class InvalidChannel(ValueError):
    """The form's values cannot make a channel; the message says which and why, in Russian."""


@dataclass(frozen=True)
class ChannelView:
    id: int
    kind: str
    label: str
    topics: tuple[str, ...]
    remind_hourly: bool
    enabled: bool
    disabled_reason: str
    last_sent_at: datetime | None
    pending: int


def topic_choices() -> list[tuple[str, str]]:
    return [(topic.value, TOPIC_TITLES[topic]) for topic in ALL_TOPICS]


def _topics(values: Iterable[str]) -> list[str]:
    known = {topic.value for topic in Topic}
    return [value for value in values if value in known]


def _masked_email(address: str) -> str:
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


def validate_email(address: str) -> str:
    address = address.strip()
    if not EMAIL.match(address):
        raise InvalidChannel("Адрес e-mail выглядит неверно, например: ivan@example.ru")
    return address


def telegram_url(bot_token: str, chat_id: str) -> str:
    bot_token, chat_id = bot_token.strip(), chat_id.strip()
    if not TELEGRAM_TOKEN.match(bot_token):
        raise InvalidChannel("Токен бота выглядит неверно: его выдаёт @BotFather, вида 123456789:AA…")
    if not TELEGRAM_CHAT.match(chat_id):
        raise InvalidChannel("Чат: число (id чата, для группы с минусом) или @имя_канала")
    return f"tgram://{bot_token}/{chat_id}"


def validate_apprise_url(url: str) -> str:
    url = url.strip()
    if not url or len(url) > 2000 or apprise.Apprise.instantiate(url) is None:
        raise InvalidChannel("Apprise не распознал этот адрес; примеры форматов: https://appriseit.com/services/")
    return url


def apprise_label(url: str) -> str:
    """What the page shows of an Apprise URL: its scheme and host, never the credentials in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" if host else f"{parts.scheme}://…"


def add_channel(session: Session, cipher: TokenCipher, user_id: int, *, kind: str, target: str,
                topics: Iterable[str] = (), remind_hourly: bool = False) -> ChannelView:
    """Add a channel (validated; the target sealed); InvalidChannel with the reason."""
    if kind == "email":
        target = validate_email(target)
        label = _masked_email(target)
    elif kind == "telegram":
        label = f"Telegram, чат {target.rsplit('/', 1)[-1]}"
    elif kind == "apprise":
        target = validate_apprise_url(target)
        label = apprise_label(target)
    else:
        raise InvalidChannel("Неизвестный вид канала")
    chosen = _topics(topics) or [topic.value for topic in ALL_TOPICS]
    row = NotifyChannel(user_id=user_id, kind=kind, label=label[:255], target_sealed=cipher.seal(Secret(target)),
                        topics=chosen, remind_hourly=remind_hourly, enabled=True, disabled_reason="")
    session.add(row)
    session.flush()
    return _view(session, row)


def _owned(session: Session, user_id: int, channel_id: int) -> NotifyChannel | None:
    return session.scalar(select(NotifyChannel).where(NotifyChannel.id == channel_id,
                                                      NotifyChannel.user_id == user_id))


def _view(session: Session, row: NotifyChannel) -> ChannelView:
    last = session.scalar(select(NotifyOutbox.sent_at).where(NotifyOutbox.channel_id == row.id,
                                                             NotifyOutbox.state == outbox.SENT)
                          .order_by(NotifyOutbox.sent_at.desc()).limit(1))
    pending = len(session.scalars(select(NotifyOutbox.id).where(NotifyOutbox.channel_id == row.id,
                                                                NotifyOutbox.state == outbox.PENDING)).all())
    return ChannelView(row.id, row.kind, row.label, tuple(row.topics or ()), row.remind_hourly, row.enabled,
                       row.disabled_reason, last, pending)


def list_channels(session: Session, user_id: int) -> list[ChannelView]:
    rows = session.scalars(select(NotifyChannel).where(NotifyChannel.user_id == user_id)
                           .order_by(NotifyChannel.id)).all()
    return [_view(session, row) for row in rows]


def update_channel(session: Session, user_id: int, channel_id: int, *, topics: Iterable[str],
                   remind_hourly: bool, enabled: bool) -> ChannelView | None:
    row = _owned(session, user_id, channel_id)
    if row is None:
        return None
    row.topics = _topics(topics)
    row.remind_hourly = remind_hourly
    if enabled and not row.enabled:
        row.disabled_reason = ""  # switched back on by the user: the next send tells again
    row.enabled = enabled
    session.flush()
    return _view(session, row)


def delete_channel(session: Session, user_id: int, channel_id: int) -> bool:
    row = _owned(session, user_id, channel_id)
    if row is None:
        return False
    session.delete(row)
    return True


def send_test(session: Session, user_id: int, channel_id: int) -> bool:
    """«Отправить проверочное сообщение»: a notice in the outbox; the sidecar sends it."""
    row = _owned(session, user_id, channel_id)
    if row is None or not row.enabled:
        return False
    outbox.enqueue_test(session, row)
    return True


# --- the page's door: each call is its own transaction (`execute_write`) ------------------------


def channels(rt: Runtime, user_id: int) -> list[ChannelView]:
    return execute_read(rt.sessions, lambda session: list_channels(session, user_id))


def add(rt: Runtime, user_id: int, *, kind: str, target: str, topics: Iterable[str] = (),
        remind_hourly: bool = False) -> ChannelView:
    return execute_write(rt.sessions, lambda session: add_channel(session, rt.cipher, user_id, kind=kind, target=target,
                                                                  topics=topics, remind_hourly=remind_hourly))


def update(rt: Runtime, user_id: int, channel_id: int, *, topics: Iterable[str], remind_hourly: bool,
           enabled: bool) -> ChannelView | None:
    return execute_write(rt.sessions, lambda session: update_channel(session, user_id, channel_id, topics=topics,
                                                                     remind_hourly=remind_hourly, enabled=enabled))


def delete(rt: Runtime, user_id: int, channel_id: int) -> bool:
    return execute_write(rt.sessions, lambda session: delete_channel(session, user_id, channel_id))


def test(rt: Runtime, user_id: int, channel_id: int) -> bool:
    """«Отправить проверочное сообщение»: a notice in the outbox; the sidecar sends it."""
    return execute_write(rt.sessions, lambda session: send_test(session, user_id, channel_id))
