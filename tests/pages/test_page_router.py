"""app.py: the sign-in gate, the local mode and its refusal, the sidebar."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import select

from connhub.models import User
from connhub.users import LOCAL_SUBJECT, ensure_user
from pages.ui.session import LOCAL_NAME, is_loopback_address
from tests.pages.helpers import badges, page_text, titles


def users(rt) -> list[User]:
    with rt.sessions() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def test_logged_out_user_sees_only_the_sign_in_page_when_auth_is_configured(open_app, app_rt):
    at = open_app(None)
    assert not at.exception
    assert [button.label for button in at.button] == ["Войти"]
    assert "Подключения" not in titles(at)
    assert at.get("page_link") == [] and users(app_rt) == []


def test_sign_in_button_hands_the_click_to_st_login(open_app, monkeypatch):
    # AppTest cannot follow st.login's redirect; what matters is that the click itself calls st.login
    # (calling it inside `if st.button(...)` was seen not to redirect).
    calls = []
    monkeypatch.setattr(st, "login", lambda *args: calls.append(args))
    at = open_app(None)
    [button] = at.button
    assert (button.label, button.proto.type) == ("Войти", "primary")
    button.click().run()
    assert not at.exception
    assert calls == [()]


def test_sign_out_button_hands_the_click_to_st_logout(open_app, alice, monkeypatch):
    calls = []
    monkeypatch.setattr(st, "logout", lambda: calls.append("logout"))
    at = open_app(alice)
    at.sidebar.button(key="sign-out").click().run()
    assert calls == ["logout"]


def test_first_sign_in_creates_a_user_keyed_by_the_oidc_subject(open_app, app_rt):
    from connhub.users import UserView

    newcomer = UserView(id=0, subject="auth0|42", email="anna@example.test", name="Анна Смирнова")
    at = open_app(newcomer)
    assert not at.exception
    assert "Подключения" in titles(at)
    [row] = users(app_rt)
    assert (row.subject, row.email, row.name) == ("oidc:auth0|42", "anna@example.test", "Анна Смирнова")


def test_an_identity_provider_subject_named_local_is_not_the_local_operator(open_app, app_rt):
    from connhub.users import UserView

    with app_rt.sessions() as session:
        local = ensure_user(session, subject=LOCAL_SUBJECT, name=LOCAL_NAME)
    at = open_app(UserView(id=0, subject="local", email="mallory@example.test", name="Mallory"))
    assert not at.exception
    rows = {row.subject: row.id for row in users(app_rt)}
    assert rows["oidc:local"] != local.id


def test_sidebar_shows_the_signed_in_name_and_a_sign_out_button(open_app, alice):
    at = open_app(alice)
    assert "Alice" in page_text(at.sidebar)
    assert [button.label for button in at.sidebar.button] == ["Выйти"]


def test_sidebar_falls_back_to_the_email_without_a_name(open_app, app_rt):
    from connhub.users import UserView

    at = open_app(UserView(id=0, subject="auth0|7", email="noname@example.test", name=""))
    assert "noname@example.test" in page_text(at.sidebar)


def test_a_signed_in_user_without_a_subject_gets_an_error_not_someone_elses_data(open_app, app_rt):
    at = open_app(None, claims={"is_logged_in": True, "email": "x@example.test"})
    assert "не передал идентификатор" in page_text(at)
    assert "Подключения" not in titles(at)
    assert users(app_rt) == []


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "192.168.1.10", "connhub.example.com"])
def test_local_mode_refuses_to_serve_a_non_loopback_address(open_app, server_address, app_rt, address):
    server_address(address)
    at = open_app(None, auth=False)
    assert not at.exception
    text = page_text(at)
    assert "secrets.toml.example" in text and ".streamlit/secrets.toml" in text and "[auth]" in text
    assert "--server.address 127.0.0.1" in text
    assert "Подключения" not in titles(at) and at.button == []
    assert users(app_rt) == []


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_local_mode_serves_the_local_operator_on_a_loopback_address(open_app, server_address, app_rt, address):
    server_address(address)
    at = open_app(None, auth=False)
    assert not at.exception
    assert "Подключения" in titles(at)
    assert LOCAL_NAME in page_text(at.sidebar)
    assert "Выйти" not in [button.label for button in at.sidebar.button]
    [row] = users(app_rt)
    assert (row.subject, row.name) == ("local", LOCAL_NAME)


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("LOCALHOST", True), ("::1", True), ("[::1]", True),
    ("127.10.0.1", True), (None, False), ("", False), ("0.0.0.0", False), ("::", False),
    ("10.0.0.5", False), ("example.com", False), ("localhost.example.com", False),
])
def test_loopback_address_detection(address, loopback):
    assert is_loopback_address(address) is loopback


def test_sandbox_badge_is_shown_when_the_providers_are_the_local_sandbox(open_app, alice):
    at = open_app(alice)
    assert ("orange", "Песочница") in badges(at.sidebar)


def test_no_sandbox_badge_with_the_real_provider_urls(make_rt, monkeypatch, open_app_factory_for):
    rt = make_rt(EVOTOR_OAUTH_URL="https://oauth.evotor.ru", EVOTOR_API_URL="https://api.evotor.ru",
                 VK_ID_URL="https://id.vk.com", VK_API_URL="https://api.vk.com")
    at = open_app_factory_for(rt)(None)
    assert not at.exception
    assert ("orange", "Песочница") not in badges(at.sidebar)
    assert "Песочница" not in page_text(at)


def test_sandbox_badge_is_also_shown_on_the_sign_in_page(open_app):
    at = open_app(None)
    assert ("orange", "Песочница") in badges(at.sidebar)


def test_a_configuration_error_is_shown_in_russian_instead_of_a_traceback(open_app, alice, monkeypatch):
    monkeypatch.setenv("CONNHUB_SECRET_KEY", "not-a-fernet-key")
    at = open_app(alice)
    assert not at.exception
    text = page_text(at)
    assert "Ошибка конфигурации connhub" in text and "CONNHUB_SECRET_KEY" in text
    assert "Подключения" not in titles(at)
