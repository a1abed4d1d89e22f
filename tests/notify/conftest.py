from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as server:
        yield server


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def notify_overrides(smtp: SmtpReceiver, http: HttpReceiver) -> dict[str, object]:
    """Settings that send e-mail to the local SMTP server and Telegram to the local receiver."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMTP_SECURITY": "none",
            "SMTP_FROM": "connhub@example.test", "TELEGRAM_API_URL": http.base_url,
            "NOTIFY_SEND_TIMEOUT_SECONDS": 5}
