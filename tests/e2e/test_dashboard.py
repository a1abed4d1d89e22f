"""The plan's verification, automated in headless Chromium against the real processes.

`test_connections_dashboard` is one stateful scenario (steps 01-11) in the local mode;
`test_two_users_see_only_their_own_connections` (step 12) signs two users in through `[auth]`
on a second app instance. Every step leaves test-artifacts/e2e/<NN-name>.png; a failing step
leaves FAILED-<NN-name>.png and names itself in the error. The scenario is long by nature (one
user's whole session, step by step), hence the module's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from connhub.users import LOCAL_SUBJECT, oidc_subject

from .helpers import CHECK_INTERVAL_SECONDS, OIDC_USERS, AuthApp, Stack, Steps, wait_until

pytestmark = [
    pytest.mark.e2e,
    # Third-party noise: pytest-base-url's session fixture style, oidc-provider-mock's authlib.jose import.
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]

LOCAL = LOCAL_SUBJECT  # the implicit user of the local mode
TITLES = {"evotor": "Эвотор", "vk": "ВКонтакте"}
UI = 20_000  # ms: a click, a page switch, a script run
FRAGMENT = 30_000  # ms: the cards' fragment reruns every 10 s
# The checker's verdict reaches the card within: next check (<= interval + jitter), a tick (1 s),
# and the cards' next fragment run (10 s); doubled for a slow CI machine.
CHECKER_VERDICT = (CHECK_INTERVAL_SECONDS * 2 + 2 + 10) * 2 * 1000

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
RED_BADGES = ("Нет связи", "Требуется переподключение")


# ----------------------------------------------------------------------------- page helpers

def settled(page: Page, timeout: int = UI) -> None:
    """The app is connected and its script is not running (fragments may start again later)."""
    expect(page.locator(IDLE)).to_be_attached(timeout=timeout)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    settled(page)


def card(page: Page, provider: str) -> Locator:
    return page.locator(f".st-key-conn-{provider}")


def add_card(page: Page, provider: str) -> Locator:
    return page.locator(f".st-key-add-{provider}")


def button(page: Page, key: str) -> Locator:
    """A widget by its Streamlit key (the `st-key-<key>` class): stable whatever the label or icon."""
    return page.locator(f".st-key-{key} button")


def link(page: Page, key: str) -> Locator:
    """A link button by its Streamlit key."""
    return page.locator(f".st-key-{key} a")


def expect_dashboard(page: Page) -> None:
    expect(page.get_by_role("heading", name="Подключения")).to_be_visible(timeout=UI)
    expect(button(page, "add-connection")).to_be_visible(timeout=UI)


def expect_badge(box: Locator, label: str, color: str, timeout: int = UI) -> None:
    """The card's status badge (st.badge) says `label` and is drawn in `color` (green or red)."""
    badge = box.locator(".stMarkdownBadge").filter(has_text=label)
    expect(badge).to_be_visible(timeout=timeout)
    rgb = badge.first.evaluate("element => getComputedStyle(element).color")
    red, green, _blue = (int(part) for part in re.findall(r"\d+", rgb)[:3])
    shade = "green" if green > red else "red" if red > green else "grey"
    assert shade == color, f"the badge {label!r} is drawn in {rgb} ({shade}), expected {color}"


def expect_green(page: Page, provider: str, details: str, timeout: int = UI) -> None:
    box = card(page, provider)
    expect(box).to_be_visible(timeout=timeout)
    expect(box).to_contain_text(TITLES[provider], timeout=timeout)
    expect(box).to_contain_text("В сети", timeout=timeout)
    expect(box).to_contain_text(details, timeout=timeout)
    for red in RED_BADGES:
        expect(box).not_to_contain_text(red, timeout=timeout)
    expect_badge(box, "В сети", "green", timeout)


def status_badge(page: Page) -> Locator:
    """The first status badge in the main area: a service page's current status (its history table
    below repeats the labels)."""
    return page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile("|".join(("В сети", "Не проверялось", *RED_BADGES)))).first


def go_add(page: Page) -> None:
    button(page, "add-connection").click()
    expect(page).to_have_url(re.compile(r"/add$"), timeout=UI)
    expect(page.get_by_role("heading", name="Добавить подключение")).to_be_visible(timeout=UI)
    settled(page)


def back_to_dashboard(page: Page) -> None:
    page.get_by_role("link", name=re.compile("Вернуться к подключениям")).click()
    expect_dashboard(page)
    settled(page)


def open_consent(context: BrowserContext, page: Page, provider: str, start_key: str,
                 shot: Callable[[Page], object] | None = None) -> Page:
    """Click the provider's «Подключить» / «Переподключить»: one click opens the provider's consent
    page in a new tab; return that tab (`shot` photographs it)."""
    start = link(page, start_key)
    expect(start).to_be_visible(timeout=UI)
    with context.expect_page(timeout=UI) as new_tab:
        start.click()
    tab = new_tab.value
    tab.wait_for_load_state()
    expect(tab.locator("#account")).to_be_visible(timeout=UI)
    expect(tab.locator("#allow")).to_be_visible()
    expect(tab.locator("#deny")).to_be_visible()
    if shot is not None:
        shot(tab)
    return tab


def consent(tab: Page, *, account_label: str | None = None, decision: str = "allow") -> None:
    if account_label is not None:
        tab.locator("#account").select_option(label=account_label)
    tab.locator(f"#{decision}").click()
    expect(tab).to_have_url(re.compile(r"/oauth_callback|localhost:\d+/(\?|$)"), timeout=UI)


def connect(context: BrowserContext, page: Page, provider: str, *, start_key: str | None = None,
            account_label: str | None = None, shot: Callable[[Page], object] | None = None) -> Page:
    """Connect (or reconnect) through the sandbox consent page; return the tab the provider sent
    back to the app (it lands on the dashboard)."""
    tab = open_consent(context, page, provider, start_key or f"authorize-{provider}", shot)
    consent(tab, account_label=account_label)
    expect_dashboard(tab)
    return tab


def watch_for_red(page: Page, provider: str) -> None:
    """Record, in the page itself, whether the card ever shows a red badge from now on, and count
    the script runs (the cards' fragment reruns every 10 s) so a test can wait for the next one."""
    page.evaluate(
        """([selector, reds]) => {
            window.__e2eRedSeen = [];
            window.__e2eRuns = 0;
            const look = () => {
                const box = document.querySelector(selector);
                const text = box ? box.innerText : "";
                for (const red of reds) if (text.includes(red)) window.__e2eRedSeen.push(red);
            };
            window.__e2eObservers?.forEach((observer) => observer.disconnect());
            const content = new MutationObserver(look);
            content.observe(document.body, {subtree: true, childList: true, characterData: true});
            const app = document.querySelector('[data-testid="stApp"]');
            const runs = new MutationObserver(() => {
                if (app.getAttribute("data-test-script-state") === "running") window.__e2eRuns += 1;
            });
            runs.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
            window.__e2eObservers = [content, runs];
            look();
        }""",
        [f".st-key-conn-{provider}", list(RED_BADGES)],
    )


def wait_for_next_run(page: Page, timeout: int = FRAGMENT) -> None:
    """Wait until a script run (here: the cards' fragment) starts after now and finishes."""
    seen = page.evaluate("window.__e2eRuns")
    page.wait_for_function(
        """(seen) => window.__e2eRuns > seen && document.querySelector('[data-testid="stApp"]')
            .getAttribute('data-test-script-state') === 'notRunning'""",
        arg=seen, timeout=timeout,
    )


# ----------------------------------------------------------------------------- steps 01-11

def test_connections_dashboard(stack: Stack, page: Page, context: BrowserContext) -> None:
    page.set_default_timeout(UI)
    steps = Steps(page, outdir=stack.artifacts, procs=stack.procs)
    db = stack.db

    with steps("01 stack ready"):
        # The fixture migrated a fresh database and started the sandbox, the checker and the app,
        # each waited for on its own signal; here the checker must still be beating.
        assert stack.sandbox.alive() and stack.checker.alive() and stack.app.alive()
        first_beat = max(beat.last_beat_at for beat in db.heartbeats())
        wait_until(lambda: max(beat.last_beat_at for beat in db.heartbeats()) > first_beat,
                   timeout=10, what="a newer checker heartbeat")
        assert db.connections(LOCAL) == []
        open_app(page, stack.app_url)

    with steps("02 empty dashboard"):
        expect_dashboard(page)
        expect(page.get_by_text("Нет подключений — нажмите «Добавить»")).to_be_visible()
        expect(button(page, "add-connection")).to_contain_text("Добавить")
        expect(page.locator(".st-key-conn-evotor, .st-key-conn-vk")).to_have_count(0)
        # A running checker: no "background checks are not working" banner.
        expect(page.get_by_text("Фоновая проверка не работает")).to_have_count(0)

    with steps("03 add offers evotor and vk"):
        go_add(page)
        for provider in ("evotor", "vk"):
            expect(add_card(page, provider)).to_contain_text(TITLES[provider])
            expect(link(page, f"authorize-{provider}")).to_contain_text("Подключить")
        expect(page.get_by_text("Все доступные сервисы подключены")).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("Вернуться к подключениям"))).to_be_visible()
        steps.shot("docs-add-connection.png")

    with steps("04 connect evotor") as s:
        tab = connect(context, page, "evotor", shot=lambda consent_tab: s.shot("04-consent-page.png", consent_tab))
        s.page = tab
        expect(tab.get_by_text("Эвотор подключён")).to_be_visible()
        expect_green(tab, "evotor", "Чайная")
        evotor = db.connection(LOCAL, "evotor")
        assert evotor is not None and evotor.details == "Чайная", evotor
        # The tab that started the flow notices by itself and goes to the dashboard too.
        expect_dashboard(page)
        expect_green(page, "evotor", "Чайная")
        tab.close()
        s.page = page

    with steps("05 connect vk"):
        go_add(page)
        expect(add_card(page, "evotor")).to_have_count(0)
        tab = connect(context, page, "vk")
        expect_green(tab, "vk", "Иван Иванов")
        tab.close()
        expect_dashboard(page)
        settled(page)
        expect_green(page, "evotor", "Чайная")
        expect_green(page, "vk", "Иван Иванов")
        assert [view.provider for view in db.connections(LOCAL)] == ["evotor", "vk"]
        expect(page.get_by_test_id("stToast")).to_have_count(0)  # a clean picture for docs/
        steps.shot("docs-dashboard.png")

    with steps("06 all services connected"):
        go_add(page)
        expect(page.get_by_text("Все доступные сервисы подключены")).to_be_visible()
        expect(page.locator(".st-key-add-evotor, .st-key-add-vk")).to_have_count(0)
        back_to_dashboard(page)

    with steps("07a disconnect evotor then cancel"):
        button(page, "disconnect-evotor").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Вы уверены, что хотите отключить Эвотор?")
        expect(button(page, "confirm-disconnect")).to_be_visible()
        steps.shot("docs-delete-dialog.png")
        button(page, "cancel-disconnect").click()
        expect(dialog).to_have_count(0)
        settled(page)
        expect_green(page, "evotor", "Чайная")
        expect_green(page, "vk", "Иван Иванов")
        assert [view.provider for view in db.connections(LOCAL)] == ["evotor", "vk"]

    with steps("07b disconnect evotor and confirm"):
        button(page, "disconnect-evotor").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Вы уверены, что хотите отключить Эвотор?")
        button(page, "confirm-disconnect").click()
        expect(dialog).to_have_count(0)
        expect(card(page, "evotor")).to_have_count(0)
        expect_green(page, "vk", "Иван Иванов")
        assert [view.provider for view in db.connections(LOCAL)] == ["vk"]

    with steps("08 add offers evotor again"):
        go_add(page)
        expect(add_card(page, "evotor")).to_contain_text("Эвотор")
        expect(link(page, "authorize-evotor")).to_be_visible()
        expect(add_card(page, "vk")).to_have_count(0)
        back_to_dashboard(page)

    with steps("09a revoked vk token turns the card red without reload"):
        vk = db.connection(LOCAL, "vk")
        assert vk is not None and vk.account_id == "743784474", vk
        version_before = stack.db.token_version(vk.id)
        expect_green(page, "vk", "Иван Иванов")
        page.evaluate("window.__e2eSamePage = 'before-revoke'")
        assert stack.control.revoke("vk", account_id=vk.account_id)["affected"] >= 1
        box = card(page, "vk")
        expect(box).to_contain_text("Требуется переподключение", timeout=CHECKER_VERDICT)
        expect_badge(box, "Требуется переподключение", "red")
        expect(box).to_contain_text("подключите заново")
        assert page.evaluate("window.__e2eSamePage") == "before-revoke", "the page was reloaded"
        red = db.connection(LOCAL, "vk")
        assert red is not None and red.status == "reconnect" and red.id == vk.id, red
        expect(box).to_contain_text(red.status_reason)
        steps.shot("docs-dashboard-reconnect.png")

    with steps("09b reconnect brings the same vk card back to green") as s:
        button(page, "settings-vk").click()
        expect(page).to_have_url(re.compile(r"/vk$"))
        expect(page.get_by_role("heading", name="ВКонтакте").first).to_be_visible()
        expect(status_badge(page)).to_contain_text("Требуется переподключение")
        settled(page)
        tab = connect(context, page, "vk", start_key="authorize-vk")
        s.page = tab
        expect(tab.get_by_text("ВКонтакте переподключён")).to_be_visible()
        expect_green(tab, "vk", "Иван Иванов")
        tab.close()
        s.page = page
        back = db.connection(LOCAL, "vk")
        assert back is not None and back.id == vk.id and back.status == "online", back
        assert (stack.db.token_version(vk.id) or 0) > (version_before or 0)
        # The service page that started it refreshes itself (its status, not the history table).
        expect(status_badge(page)).to_contain_text("В сети", timeout=FRAGMENT)
        back_to_dashboard(page)
        expect_green(page, "vk", "Иван Иванов")

    with steps("10 short outage never turns a card red"):
        vk = db.connection(LOCAL, "vk")
        assert vk is not None and vk.status == "online"
        mark = db.last_check_id(vk.id)
        watch_for_red(page, "vk")
        # Two failed checks in a row: fewer than the three that turn a card red (the plan's
        # hysteresis); a lower connhub.health.FAILURE_THRESHOLD must fail this step.
        outage = 2
        # A VK check is several requests (users.get, then the rights probe, whose trouble never fails
        # the check): set the outage right after a check finished, so it meets whole checks, not the
        # tail of one in flight (the next check is an interval away).
        wait_until(lambda: any(c.source == "checker" for c in db.checks(vk.id, since_id=mark)),
                   timeout=CHECKER_VERDICT / 1000, what="a check of VK to finish")
        mark = db.last_check_id(vk.id)
        stack.control.set_fault("all", status=503, count=outage)

        def outage_over() -> bool:
            checks = [c for c in db.checks(vk.id, since_id=mark) if c.source == "checker"]
            failed = [c for c in checks if c.outcome == "trouble"]
            return len(failed) >= outage and checks[-1].outcome == "ok"

        wait_until(outage_over, timeout=CHECKER_VERDICT / 1000,
                   what=f"{outage} failed checks of VK, then a good one")
        checks = [c for c in db.checks(vk.id, since_id=mark) if c.source == "checker"]
        assert [c.status_after for c in checks] == ["online"] * len(checks), [
            (c.outcome, c.status_after, c.reason) for c in checks]
        assert stack.control.faults() == {"faults": {}}, "the outage was not used up by the checker"
        # Let the cards' fragment render the state after the outage: never red, still green.
        wait_for_next_run(page)
        expect_green(page, "vk", "Иван Иванов")
        assert page.evaluate("window.__e2eRedSeen") == [], "the VK card showed a red badge during the outage"

    with steps("11 deny on the consent page") as s:
        go_add(page)
        tab = open_consent(context, page, "evotor", "authorize-evotor")
        s.page = tab
        consent(tab, decision="deny")
        expect(tab.get_by_text("Вы отказались от подключения — ничего не сохранено.")).to_be_visible()
        settled(tab)
        s.shot("11-deny-message.png")
        assert [view.provider for view in db.connections(LOCAL)] == ["vk"]
        tab.close()
        s.page = page
        back_to_dashboard(page)
        expect(card(page, "evotor")).to_have_count(0)
        expect_green(page, "vk", "Иван Иванов")


# ----------------------------------------------------------------------------- step 12

def sign_in(page: Page, app_url: str, subject: str, shot: Callable[[Page], object] | None = None) -> None:
    """Sign in through st.login and the oidc-provider-mock's form, as the user `subject`."""
    open_app(page, app_url)
    sign_in_button = page.get_by_role("button", name=re.compile("Войти"))
    expect(sign_in_button).to_be_visible()
    if shot is not None:
        shot(page)
    sign_in_button.click()
    # The oidc-provider-mock's authorization form.
    page.locator('input[name="sub"]').fill(subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(app_url)), timeout=UI)
    expect_dashboard(page)
    settled(page)
    # The sidebar names the signed-in user as the IdP sent them.
    expect(page.get_by_test_id("stSidebar")).to_contain_text(OIDC_USERS[subject])


def test_two_users_see_only_their_own_connections(stack: Stack, auth_app: AuthApp, browser,
                                                  browser_context_args) -> None:
    db = stack.db
    alice_ctx = browser.new_context(**browser_context_args)
    bob_ctx = browser.new_context(**browser_context_args)
    alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
    alice.set_default_timeout(UI)
    bob.set_default_timeout(UI)
    steps = Steps(alice, outdir=stack.artifacts, procs=[auth_app.app, stack.checker, stack.sandbox])
    try:
        with steps("12a two users sign in") as s:
            sign_in(alice, auth_app.url, "alice", shot=lambda p: s.shot("12a-sign-in-page.png", p))
            expect(alice.get_by_text("Нет подключений — нажмите «Добавить»")).to_be_visible()
            s.page = bob
            sign_in(bob, auth_app.url, "bob")
            expect(bob.get_by_text("Нет подключений — нажмите «Добавить»")).to_be_visible()
            s.page = alice

        with steps("12b alice connects evotor, bob connects vk") as s:
            go_add(alice)
            connect(alice_ctx, alice, "evotor").close()
            expect_dashboard(alice)  # the tab that began the flow moves on by itself
            s.page = bob
            go_add(bob)
            connect(bob_ctx, bob, "vk", account_label="Мария Петрова").close()
            expect_dashboard(bob)
            assert [v.provider for v in db.connections(oidc_subject("alice"))] == ["evotor"]
            assert [(v.provider, v.details) for v in db.connections(oidc_subject("bob"))] == [("vk", "Мария Петрова")]
            s.page = alice

        with steps("12c each sees only their own") as s:
            for page in (alice, bob):  # fresh sessions, still signed in through the cookie
                open_app(page, auth_app.url)
                expect_dashboard(page)
            expect_green(alice, "evotor", "Чайная")
            expect(card(alice, "vk")).to_have_count(0)
            s.shot("12c-alice.png", alice)
            s.page = bob
            expect_green(bob, "vk", "Мария Петрова")
            expect(card(bob, "evotor")).to_have_count(0)
            expect(card(bob, "vk")).not_to_contain_text("Иван Иванов")  # the local operator's VK
            # Nor can one reach the other's service page.
            bob.goto(f"{auth_app.url}/evotor")
            settled(bob)
            expect(bob.get_by_text("Эвотор не подключён")).to_be_visible()
            s.shot("12c-bob-evotor-page.png", bob)
            bob.goto(auth_app.url)
            settled(bob)
    finally:
        alice_ctx.close()
        bob_ctx.close()
