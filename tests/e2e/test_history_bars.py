"""The 24-hour bars in a real browser: `streamlit run app.py` (local mode) over a database holding a
day of checks, opened in headless Chromium; each card draws 24 segments with their tooltips, and
the page is saved as test-artifacts/history/dashboard-bars.png (the README's picture comes from it).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest

from connhub.config import PROJECT_ROOT
from connhub.crypto import Secret
from connhub.health.history import floor_hour, roll_up
from connhub.models import Base, CheckerHeartbeat, Connection, Outcome, Status, utcnow
from connhub.runtime import Runtime
from connhub.users import LOCAL_SUBJECT, ensure_user
from tests.support.history import add_checks

from .helpers import PYTHON, Proc, free_port, http_text, wait_until

pytestmark = pytest.mark.e2e
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "history"
CHROMIUM = os.environ.get("CONNHUB_E2E_CHROMIUM") or shutil.which("chromium")
OK, TROUBLE, REJECTED = Outcome.OK, Outcome.TROUBLE, Outcome.REJECTED


def a_day_of_checks(rt: Runtime) -> None:
    """Evotor: an outage 7-6 hours ago and a shaky hour; VK: a revoked token 15 hours ago, reconnected."""
    Base.metadata.create_all(rt.engine)
    with rt.sessions() as session:
        user = ensure_user(session, subject=LOCAL_SUBJECT)
        rows = {provider: Connection(user_id=user.id, provider=provider, auth_method="oauth", display_name=name,
                                     access_token_sealed=rt.cipher.seal(Secret("placeholder")),
                                     refresh_token_sealed=None, status=Status.ONLINE, is_online=True,
                                     last_checked_at=utcnow())
                for provider, name in (("evotor", "Чайная"), ("vk", "Иван Иванов"))}
        session.add_all(rows.values())
        session.add(CheckerHeartbeat(checker_id="test", started_at=utcnow(), last_beat_at=utcnow() + timedelta(
            hours=1), interval_seconds=600, last_cycle={}))
        session.commit()
        ids = {provider: row.id for provider, row in rows.items()}
    now = utcnow()
    hour = floor_hour(now)
    for provider, cid in ids.items():
        checks = []
        for n in range(24 * 6):
            when = now - timedelta(minutes=10 * n + 1)
            ago = (hour - floor_hour(when)) // timedelta(hours=1)
            latency = 140 + (n * 37) % 90 + (300 if ago in (9, 10) else 0)
            if provider == "evotor" and ago in (6, 7):
                checks.append((when, TROUBLE, Status.OFFLINE, 5000))
            elif provider == "evotor" and ago == 12 and n % 3 == 0:
                checks.append((when, TROUBLE, Status.ONLINE, 5000))
            elif provider == "vk" and ago in (15, 16):
                checks.append((when, REJECTED, Status.RECONNECT, None))
            elif provider == "vk" and ago > 20:
                continue  # connected 21 hours ago
            else:
                checks.append((when, OK, Status.ONLINE, latency))
        add_checks(rt, cid, checks)
    roll_up(rt.sessions, raw_days=7, rollup_days=90)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: install Debian's `chromium` package")
def test_the_dashboard_draws_a_24_hour_bar_on_each_card_in_chromium(make_rt, tmp_path, browser):
    """`browser` is pytest-playwright's, launched as the e2e conftest says (Debian's chromium)."""
    rt = make_rt()
    a_day_of_checks(rt)
    port = free_port()
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text("# local mode: no [auth]\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("STREAMLIT_")}
    env.update(rt.settings.env(), PYTHONPATH=str(PROJECT_ROOT), PUBLIC_URL=f"http://localhost:{port}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    app = Proc("app", [PYTHON, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.headless", "true",
                       "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType",
                       "none", "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets_file)],
               env=env, cwd=tmp_path, log_path=ARTIFACTS / "app.log").start()
    try:
        app.wait_ready(lambda: http_text(f"http://127.0.0.1:{port}/_stcore/health") == "ok", timeout=60,
                       what="/_stcore/health == ok")
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="ru-RU",
                                timezone_id="Europe/Moscow")
        page.goto(f"http://localhost:{port}/", timeout=30_000)
        bars = page.locator(".connhub-bar")
        wait_until(lambda: bars.count() == 2, timeout=30, what="two 24-hour bars")
        for n in range(2):
            assert bars.nth(n).locator(".connhub-segment").count() == 24
        evotor = bars.nth(0).locator(".connhub-segment")
        assert evotor.nth(23 - 6).get_attribute("data-state") == "offline"
        assert "худший статус: нет связи" in (evotor.nth(23 - 6).get_attribute("title") or "")
        vk = bars.nth(1).locator(".connhub-segment")
        assert vk.nth(23 - 15).get_attribute("data-state") == "reconnect"
        assert vk.nth(0).get_attribute("data-state") == "none"
        page.locator(".connhub-segment").first.wait_for(state="visible", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-bars.png"), full_page=True)
        page.goto(f"http://localhost:{port}/evotor", timeout=30_000)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(state="visible", timeout=30_000)
        page.locator(".connhub-bar").first.wait_for(state="visible", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "service-latency.png"), full_page=True)
        page.close()
    finally:
        app.stop()
