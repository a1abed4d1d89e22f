"""Measure the delay from a provider revoking a token to the notice reaching a local SMTP server.

    .venv/bin/python -m tests.notify.measure_delay 10 3      # interval 10 s, 3 samples
    .venv/bin/python -m tests.notify.measure_delay 600 1     # the default interval, 1 sample (≤ 10 min)

Runs the real sandbox, a real `checker.py` and a real SMTP server (aiosmtpd); prints one line per
sample and a summary. Not part of the test suite (it waits for the checker's own schedule).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from connhub.models import Base
from connhub.notify import service
from connhub.runtime import Runtime, emulations
from connhub.sandbox import SandboxControl, SandboxServer
from tests.notify.receivers import SmtpReceiver
from tests.notify.sidecar import sidecar
from tests.support.connect import connect, make_user
from tests.support.sandbox import settings_for


def main(interval: int, samples: int) -> None:
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(emulations(), port=0) as sandbox, SmtpReceiver() as smtp:
        control = SandboxControl(sandbox.base_url)
        control.reset()
        rt = Runtime.from_settings(settings_for(
            Path(tmp), sandbox, HEALTH_CHECK_INTERVAL_SECONDS=interval, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
            SMTP_SECURITY="none", SMTP_FROM="connhub@example.test"))
        Base.metadata.create_all(rt.engine)
        user = make_user(rt, "alice")
        connect(rt, user, "vk")
        service.add(rt, user.id, kind="email", target="alice@example.test",
                            topics=["connection_trouble"])
        with sidecar(rt):
            for sample in range(samples):
                if sample:
                    connect(rt, user, "vk")  # a fresh token (its recovery notice is not subscribed)
                before = len(smtp.items)
                control.revoke("vk")
                revoked = time.monotonic()
                mails = smtp.wait_for(before + 1, timeout=interval * 2 + 60)
                if len(mails) <= before:
                    print(f"sample {sample + 1}: no notice within {interval * 2 + 60} s")
                    continue
                delay = mails[before].received_at - revoked
                delays.append(delay)
                print(f"sample {sample + 1}: interval {interval} s → notice after {delay:.1f} s")
        rt.close()
    if delays:
        print(f"interval {interval} s: n={len(delays)} min {min(delays):.1f} s, median "
              f"{statistics.median(delays):.1f} s, max {max(delays):.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
