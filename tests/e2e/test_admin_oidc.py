"""«Обзор» through a real sign-in: two users of the local test IdP (oidc-provider-mock) against an app
with `[auth]` and ADMIN_EMAILS=alice@example.test. Bob tries every way in a browser has (the menu,
the URL, the URL with query parameters) and gets the refusal; alice sees both users' connections."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, insert

from connhub.models import Base, Connection, User, utcnow
from connhub.runtime import emulations
from connhub.sandbox import sandbox_env

from .conftest import STARTUP_TIMEOUT, base_env, start_app
from .helpers import ARTIFACTS, free_port, http_text, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Use of a session fixture for base_url:DeprecationWarning"),
]

UI = 60_000  # ms; the first run of a fresh app process imports everything
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
REFUSAL = "Эта страница только для администраторов connhub."
USERS = {"alice": "Алиса Смирнова", "bob": "Борис Кузнецов"}


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from oidc_provider_mock import User as IdpUser
    from oidc_provider_mock import run_server_in_thread

    run_dir = tmp_path_factory.mktemp("admin-oidc")
    url = f"sqlite:///{run_dir / 'connhub.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as db:  # a connection of someone else's, with a name bob must never see
        carol = db.execute(insert(User).values(subject="oidc:carol", email="carol@example.test", name="Карина",
                                               created_at=utcnow()).returning(User.id)).scalar_one()
        db.execute(insert(Connection).values(
            user_id=carol, provider="evotor", auth_method="token", account_id="1", display_name="Чайная Карины",
            profile={}, auth_params={}, access_token_sealed="x", token_version=1, status="reconnect",
            status_reason="Токен отозван", next_check_at=utcnow() + timedelta(days=1), created_at=utcnow(),
            updated_at=utcnow()))
    engine.dispose()
    idp_users = [IdpUser(sub=sub, claims={"email": f"{sub}@example.test", "email_verified": True, "name": name})
                 for sub, name in USERS.items()]
    with run_server_in_thread(port=free_port(), user_claims=idp_users) as oidc:
        oidc_url = f"http://localhost:{oidc.server_port}"
        wait_until(lambda: http_text(f"{oidc_url}/.well-known/openid-configuration"), timeout=STARTUP_TIMEOUT,
                   what="the OIDC provider's discovery document")
        port = free_port()
        app_url = f"http://localhost:{port}"
        secrets_file = run_dir / "secrets-auth.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "{app_url}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "connhub-admin-e2e"\n'
            f'client_secret = "{secrets.token_hex(16)}"\n'
            f'server_metadata_url = "{oidc_url}/.well-known/openid-configuration"\n'
        )
        env = base_env(DATABASE_URL=url, CONNHUB_DATA_DIR=str(run_dir / "data"), PUBLIC_URL=app_url,
                       ADMIN_EMAILS="alice@example.test", CONNHUB_SECRET_KEY=Fernet.generate_key().decode(),
                       **sandbox_env("http://127.0.0.1:9", emulations()))
        app = start_app("app-admin-oidc", env=env, run_dir=run_dir, port=port, secrets_file=secrets_file,
                        logs=ARTIFACTS.parent / "admin-oidc")
        try:
            yield app_url
        finally:
            app.stop()


def settled(page: Page) -> None:
    expect(page.locator(IDLE)).to_be_attached(timeout=UI)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def sign_in(browser: Browser, context_args: dict, app_url: str, subject: str) -> Page:
    page = browser.new_context(**context_args).new_page()
    page.goto(app_url)
    page.get_by_role("button", name=re.compile("Войти")).click(timeout=UI)
    page.locator('input[name="sub"]').fill(subject)  # the oidc-provider-mock's authorization form
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(USERS[subject], timeout=UI)
    settled(page)
    return page


def screenshot(page: Page, name: str) -> None:
    folder = ARTIFACTS.parent / "admin-oidc"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / name))


def test_only_the_administrator_gets_the_overview(admin_app: str, browser: Browser, browser_context_args: dict):
    bob = sign_in(browser, browser_context_args, admin_app, "bob")
    navigation = bob.get_by_test_id("stSidebarNav")
    expect(navigation.get_by_role("link", name="Подключения", exact=True)).to_be_visible()
    expect(navigation.get_by_role("link", name="Обзор")).to_have_count(0)  # 1. not in his menu

    for path in ("overview", "overview?admin=1&is_admin=true&user_id=1&groups=connhub-admins"):
        bob.goto(f"{admin_app}/{path}")  # 2. the URL, 3. with query parameters
        settled(bob)
        expect(bob.get_by_text(REFUSAL)).to_be_visible()
        expect(bob.get_by_text("Чайная Карины")).to_have_count(0)
        expect(bob.get_by_text("carol@example.test")).to_have_count(0)
        expect(bob.get_by_test_id("stDataFrame")).to_have_count(0)
    screenshot(bob, "bob-overview-refused.png")

    alice = sign_in(browser, browser_context_args, admin_app, "alice")
    alice.get_by_test_id("stSidebarNav").get_by_role("link", name="Обзор").click()
    settled(alice)
    expect(alice.get_by_role("heading", name="Все подключения")).to_be_visible()
    expect(alice.get_by_text(REFUSAL)).to_have_count(0)
    expect(alice.get_by_test_id("stMetric").filter(has_text="Переподключить")).to_contain_text("1")
    screenshot(alice, "alice-overview.png")
