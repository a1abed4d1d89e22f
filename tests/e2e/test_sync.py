"""«Синхронизация» in headless Chromium against the real processes: choose the store and the
community, set the policies, switch the sync on through the confirmation, and see
`run/read_config.py` report it ready.

It runs on the session's stack after the dashboard scenario (same local operator): the
connections it needs are made here, through the sandbox, and the catalog is refreshed by the
running checker, waited for on its database row.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from connhub import oauth
from connhub.catalog import refresh, service
from connhub.models import RefreshState
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from connhub.providers.vk.sandbox import GoodsControl
from connhub.runtime import Runtime, load_settings
from connhub.users import LOCAL_SUBJECT, ensure_user
from tests.support.connect import connect

from .conftest import CONNHUB_VARS
from .helpers import PYTHON, ROOT, Stack, Steps, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"),
]

UI = 20_000  # ms
CATALOG_REFRESH = 60  # s: the checker's catalog tick plus a small store's refresh, generously
CHECKER_SETTLES = 60_000  # ms: a few checker intervals plus the checklist's 10 s refresh, generously
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
STORE = EVOTOR_ACCOUNTS[ACCOUNT][1]  # a small store of the demo account
COMMUNITY = "Магазин у дома"
CATEGORY = "Продукты питания / Чай и кофе"


def settled(page: Page) -> None:
    expect(page.locator(IDLE)).to_be_attached(timeout=UI)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def choose(page: Page, key: str, option: str) -> None:
    """Pick an option of the selectbox with Streamlit key `key`."""
    box = page.locator(f".st-key-{key}")
    listbox = page.get_by_role("listbox")
    for _attempt in range(5):  # a rerun that lands as the list opens closes it again: open it anew
        box.locator("button[aria-haspopup='listbox']").click()
        try:
            listbox.wait_for(state="visible", timeout=3_000)
            break
        except PlaywrightTimeout:
            settled(page)
    listbox.get_by_role("option", name=option).click()
    expect(box.get_by_role("combobox")).to_have_value(option)
    settled(page)


def stack_runtime(stack: Stack) -> Runtime:
    values = {name: stack.env[name] for name in CONNHUB_VARS if name in stack.env}
    return Runtime.from_settings(load_settings(_env_file=None, **values))


def test_configure_and_switch_on_the_sync(stack: Stack, page: Page) -> None:
    page.set_default_timeout(UI)
    steps = Steps(page, outdir=stack.artifacts / "sync", procs=stack.procs)
    rt = stack_runtime(stack)
    try:
        with steps("01 connections and catalog"):
            with rt.sessions() as session:
                user = ensure_user(session, subject=LOCAL_SUBJECT, name="Локальный оператор")
            evotor = connect(rt, user, "evotor", account=ACCOUNT)
            token = GoodsControl(stack.sandbox_url).user_token(("groups", "market", "photos"))
            pasted = oauth.connect_with_token(rt, user_id=user.id, provider="vk", raw_token=token)
            assert pasted.ok, pasted.message
            job = service.request_refresh(rt.sessions, user.id, evotor, STORE["id"])
            assert job is not None

            def refreshed() -> bool:
                with rt.sessions() as session:
                    done = refresh.last_finished_job(session, evotor, STORE["id"], succeeded=True)
                return done is not None and done.state == RefreshState.SUCCEEDED

            wait_until(refreshed, timeout=CATALOG_REFRESH, what="the checker to refresh the store's catalog")

        with steps("02 the sync page"):
            page.goto(stack.app_url)
            settled(page)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Синхронизация").click()
            expect(page).to_have_url(re.compile(r"/sync$"))
            settled(page)
            expect(page.get_by_role("heading", name="Синхронизация")).to_be_visible()
            expect(page.locator(".st-key-ready-community")).to_contain_text("Сообщество не выбрано")

        with steps("03 choose the store, the community and the category"):
            choose(page, "sync-store_id", STORE["name"])
            choose(page, "sync-vk_group_id", f"{COMMUNITY} — товары включены")
            choose(page, "sync-vk_category_id", CATEGORY)

        with steps("04 set the policies and save"):
            page.locator(".st-key-sync-on_removed").get_by_text("удалять").click()
            settled(page)
            multiplier = page.locator(".st-key-sync-price_multiplier input")
            multiplier.fill("1,5")
            multiplier.press("Enter")
            settled(page)
            page.locator(".st-key-save-sync button").click()
            settled(page)
            expect(page.get_by_text("Настройки синхронизации сохранены")).to_be_visible()
            for check, text in (("source_connection", "Эвотор в сети"), ("catalog", "Каталог загружен"),
                                ("target_connection", "ВКонтакте в сети"),
                                ("target_rights", "Права на товары, фотографии и сообщества есть"),
                                ("community", f"Сообщество «{COMMUNITY}», товары включены"),
                                ("category", f"Категория «{CATEGORY}»"), ("products", "Выбрано ")):
                # The checklist re-reads itself; the checker's next checks settle the rights probe.
                expect(page.locator(f".st-key-ready-{check}")).to_contain_text(text, timeout=CHECKER_SETTLES)

        with steps("05 switch on through the confirmation"):
            page.locator(".st-key-sync-enabled label").click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text(f"В сообщество «{COMMUNITY}» будут выгружены")
            expect(dialog).to_contain_text(f"из магазина «{STORE['name']}»; товары, исключённые из выгрузки, "
                                           "будут удалены.")
            steps.shot("confirmation.png")
            dialog.locator(".st-key-confirm-enable button").click()
            settled(page)
            expect(page.get_by_text(re.compile(r"Включена .*, подтвердил\(а\) Локальный оператор"))).to_be_visible()

        with steps("06 read_config reports it ready"):
            # The dashboard scenario signed other users in on the same database: name ours.
            done = subprocess.run([PYTHON, str(ROOT / "run" / "read_config.py"), "--user", LOCAL_SUBJECT],
                                  cwd=stack.run_dir,
                                  env=stack.env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            data = json.loads(done.stdout)
            assert data["enabled"] is True and data["ready"] is True and data["problems"] == []
            assert data["evotor"]["store_id"] == STORE["id"]
            assert data["vk"]["group_name"] == COMMUNITY and data["vk"]["category_name"] == CATEGORY
            assert data["policies"]["on_removed"] == "delete" and data["policies"]["price_multiplier"] == "1.50"
            assert data["products"], "the store's products are in the sync"
    finally:
        rt.close()
