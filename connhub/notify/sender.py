"""The sidecar's sender: claims due outbox rows and sends each through Apprise, with one deadline.

`NotifyWorker.tick()` (from the checker's `schedule` loop) writes the hourly reminders that are due
and starts a background thread that drains the outbox; `run_once()` does both in the caller's
thread (`checker.py --once`). A temporary failure (timeout, 5xx, connection refused) is retried
with backoff; a permanent one (4xx from a webhook, an unknown chat or a blocked bot, an address
the mail server refuses) switches the channel off with the reason shown on «Уведомления».
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from connhub.crypto import UnreadableToken
from connhub.journal.hooks import note_stale_syncs
from connhub.notify import outbox
from connhub.notify.capped import answers_capped
from connhub.providers import text
from connhub.runtime import Runtime
from connhub.work.workers import BackgroundWorker

if TYPE_CHECKING:
    import apprise

log = logging.getLogger(__name__)

NOTIFY_TICK_SECONDS = 2
REMIND_EVERY_SECONDS = 60
PRUNE_EVERY_SECONDS = 3600
_HTTP_ERROR = re.compile(r"error=(\d{3})")
_TELEGRAM_REASON = re.compile(r"Failed to send Telegram notification to [^:]*: (.*?), error=\d{3}")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    permanent: bool = False
    reason: str = ""


def apprise_url(rt: Runtime, kind: str, target: str) -> str:
    """The Apprise URL of a channel; e-mail goes through the server's own SMTP settings."""
    if kind != "email":
        return target
    s = rt.settings
    auth = f"{quote(s.SMTP_USERNAME, safe='')}:{quote(s.SMTP_PASSWORD.get_secret_value(), safe='')}@" \
        if s.SMTP_USERNAME else ""
    mode = {"none": "insecure"}.get(s.SMTP_SECURITY, s.SMTP_SECURITY)
    return (f"mailto://{auth}{s.SMTP_HOST}:{s.SMTP_PORT}?smtp={quote(s.SMTP_HOST)}&from={quote(s.SMTP_FROM)}"
            f"&to={quote(target)}&mode={mode}")


def classify(kind: str, status: apprise.AppriseResultStatus, lines: list[str]) -> Outcome:
    """What a failed send means: retry later, or this channel cannot work (and why, in Russian)."""
    import apprise  # loaded by the sender's first send, not by the sidecar's start

    if status == apprise.AppriseResultStatus.TIMEOUT:
        return Outcome(False, False, "Нет ответа вовремя")
    joined = " ".join(lines)
    codes = [int(code) for code in _HTTP_ERROR.findall(joined)]
    if codes:
        code = codes[-1]
        permanent = 400 <= code < 500 and code not in (408, 425, 429)
        detail = ""
        if kind == "telegram":
            found = _TELEGRAM_REASON.search(joined)
            detail = f": {text.clean(found.group(1), 200)}" if found else ""
        return Outcome(False, permanent, f"Получатель ответил {code}{detail}")
    if kind == "email" and "Sending email to" in joined:
        return Outcome(False, True, "Почтовый сервер отклонил адрес получателя")
    if kind == "email":
        return Outcome(False, False, "Почтовый сервер недоступен")
    return Outcome(False, False, "Не удалось отправить")


def send(rt: Runtime, kind: str, url: str, title: str, body: str) -> Outcome:
    """One send, within NOTIFY_SEND_TIMEOUT_SECONDS (Apprise's call deadline and its requests' timeouts)."""
    import apprise

    deadline = rt.settings.NOTIFY_SEND_TIMEOUT_SECONDS
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return Outcome(False, True, "Адрес канала не распознан")
    if kind == "telegram" and rt.settings.TELEGRAM_API_URL:
        plugin.notify_url = f"{rt.settings.TELEGRAM_API_URL.rstrip('/')}/bot"  # type: ignore[attr-defined]
    plugin.socket_connect_timeout = plugin.socket_read_timeout = deadline  # every plugin's (URLBase)
    lines: list[str] = []
    client = apprise.Apprise()
    client.add(plugin)
    with answers_capped():  # Apprise reads each answer whole; here at most MAX_ANSWER_BYTES of it
        result = client.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT, timeout=deadline,
                               log_callback=lambda entry, _service: lines.append(str(entry.message)),
                               log_level=logging.INFO)
    if result:
        return Outcome(True)
    return classify(kind, result.status, lines)


class NotifyWorker:
    """The sidecar's sender (`connhub.work.workers.Worker`): due notices in a background thread;
    reminders and staleness at most once a minute, from the tick."""

    name = "notify"
    every = NOTIFY_TICK_SECONDS

    def __init__(self, rt: Runtime, worker_id: str, stop: threading.Event) -> None:
        self.rt = rt
        self.worker_id = worker_id
        self.stop = stop
        self._next_remind = 0.0
        self._next_prune = 0.0
        self._runner = BackgroundWorker("notify-send", NOTIFY_TICK_SECONDS,
                                        has_work=lambda: outbox.has_due(rt.sessions), work=self.drain)

    def send_one(self, row: outbox.Claimed) -> Outcome | None:
        if not outbox.mark_sending(self.rt.sessions, row.id, self.worker_id):
            return None  # lost the claim, or the channel was switched off meanwhile
        try:
            target = self.rt.cipher.open(row.target_sealed).reveal()
        except UnreadableToken:
            outcome = Outcome(False, True, "Адрес канала не расшифровывается ключом сервера")
        else:
            link = f"{self.rt.settings.PUBLIC_URL}/{row.link_path}" if row.link_path else self.rt.settings.PUBLIC_URL
            try:
                outcome = send(self.rt, row.channel_kind, apprise_url(self.rt, row.channel_kind, target), row.title,
                               f"{row.body}\n{link}")
            except Exception as exc:  # one bad channel must not stop the others
                log.warning("notify: sending notice %s failed unexpectedly: %s", row.id, type(exc).__name__)
                outcome = Outcome(False, False, "Внутренняя ошибка при отправке")
        if outcome.ok:
            outbox.mark_sent(self.rt.sessions, row.id, self.worker_id)
        elif outcome.permanent:
            outbox.mark_permanent(self.rt.sessions, row.id, self.worker_id, channel_id=row.channel_id,
                                  reason=outcome.reason)
            log.warning("notify: channel %s switched off: %s", row.channel_id, outcome.reason)
        else:
            outbox.mark_retry(self.rt.sessions, row.id, self.worker_id, attempts=row.attempts + 1,
                              error=outcome.reason)
            log.info("notify: notice %s will be retried: %s", row.id, outcome.reason)
        return outcome

    def drain(self) -> int:
        """Send every due row (in this thread); the number sent."""
        sent = 0
        while not self.stop.is_set():
            rows = outbox.claim(self.rt.sessions, self.worker_id)
            if not rows:
                break
            for row in rows:
                if self.stop.is_set():
                    break  # unsent claims expire and another sidecar (or the next tick) sends them
                outcome = self.send_one(row)
                sent += bool(outcome and outcome.ok)
        return sent

    def remind(self) -> None:
        """Reminders that are due, and «устарела» for syncs that stopped running."""
        try:
            outbox.enqueue_reminders(self.rt.sessions)
            note_stale_syncs(self.rt.sessions, after=timedelta(hours=self.rt.settings.SYNC_STALE_HOURS))
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                outbox.prune(self.rt.sessions)
        except Exception:
            log.exception("notify: writing reminders failed")

    def tick(self) -> None:
        """Send what is due (in the background); reminders and staleness once a minute (they lock)."""
        if self.stop.is_set():
            return
        if time.monotonic() >= self._next_remind:
            self._next_remind = time.monotonic() + REMIND_EVERY_SECONDS
            self.remind()
        self._runner.tick()

    def run_once(self) -> int:
        self.remind()
        return self.drain()

    def join(self, timeout: float | None = None) -> None:
        self._runner.join(timeout)
