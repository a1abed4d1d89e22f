"""The OAuth callback page: the good callback, every bad one, a visit without params, a logged-out visit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from connhub import oauth
from connhub.models import OAuthFlow, utcnow
from tests.pages.helpers import (
    card_order,
    connect,
    connection_rows,
    consent,
    flow_count,
    page_links,
    page_text,
    titles,
    unescape,
)

CALLBACK = "pages/oauth_callback.py"


def begin(rt, user, provider="evotor") -> str:
    return oauth.begin_authorization(rt, user_id=user.id, provider=provider)


def assert_refused(at, rt, message_part: str) -> None:
    """A Russian error on the callback page, a way back, the URL cleaned, and nothing stored."""
    assert not at.exception
    assert titles(at) == ["Подключение сервиса"]
    [error] = at.error
    assert message_part in unescape(error.value)
    assert "Вернуться к подключениям" in page_links(at)
    assert dict(at.query_params) == {}
    assert connection_rows(rt) == []


def test_a_successful_callback_connects_and_shows_the_message_once_on_the_dashboard(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice, "vk"))
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert not at.exception
    assert titles(at) == ["Подключения"]
    assert [unescape(success.value) for success in at.success] == ["ВКонтакте подключён: Иван Иванов"]
    assert card_order(at) == ["vk"]
    assert dict(at.query_params) == {}
    at.run()
    assert at.success == []
    [row] = connection_rows(app_rt, alice)
    assert (row.provider, row.account_id) == ("vk", "743784474")


def test_callback_without_params_explains_how_it_is_reached(open_app, app_rt, alice):
    at = open_app(alice, page=CALLBACK)
    assert not at.exception
    assert "после подтверждения доступа" in page_text(at)
    assert "Вернуться к подключениям" in page_links(at)
    assert at.error == [] and connection_rows(app_rt) == []


def test_callback_with_only_unrelated_params_is_treated_as_a_visit_without_params(open_app, app_rt, alice):
    at = open_app(alice, page=CALLBACK, query_params={"utm_source": "mail"})
    assert "после подтверждения доступа" in page_text(at)
    assert at.error == []


@pytest.mark.parametrize("params", [{"state": "abc"}, {"code": "abc"}, {"code": "", "state": ""}])
def test_callback_missing_the_code_or_the_state_is_refused(open_app, app_rt, alice, params):
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert_refused(at, app_rt, "нет кода подтверждения")


def test_callback_with_an_unknown_state_is_refused(open_app, app_rt, alice):
    at = open_app(alice, page=CALLBACK, query_params={"code": "abc", "state": "forged-state"})
    assert_refused(at, app_rt, "Ссылка подключения не найдена")


def test_callback_with_an_expired_state_is_refused(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice))
    with app_rt.sessions() as session:
        session.execute(update(OAuthFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert_refused(at, app_rt, "Ссылка подключения устарела")


def test_a_replayed_callback_is_refused(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice))
    first = open_app(alice, page=CALLBACK, query_params=params)
    assert titles(first) == ["Подключения"]
    rows_before = [(row.id, row.token_version) for row in connection_rows(app_rt)]
    again = open_app(alice, page=CALLBACK, query_params=params)
    assert not again.exception
    [error] = again.error
    assert "уже использована" in unescape(error.value)
    assert [(row.id, row.token_version) for row in connection_rows(app_rt)] == rows_before


def test_another_users_callback_is_refused_and_stores_nothing(open_app, app_rt, alice, bob):
    params = consent(begin(app_rt, alice, "vk"))
    at = open_app(bob, page=CALLBACK, query_params=params)
    assert_refused(at, app_rt, "выдана другому пользователю")


def test_a_denied_consent_is_reported_and_stores_nothing(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice, "vk"), decision="deny")
    assert params["error"] == "access_denied"
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert_refused(at, app_rt, "Вы отказались от подключения")
    assert flow_count(app_rt, consumed=False) == 0


def test_a_failed_token_exchange_is_reported_and_stores_nothing(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice))
    params["code"] = "a-code-the-provider-never-issued"
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert_refused(at, app_rt, "Не удалось подключить Эвотор")


def test_a_failed_exchange_offers_to_start_again(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice))
    params["code"] = "bogus"
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert "Начать подключение заново" in page_links(at)


def test_logged_out_visitor_is_asked_to_sign_in_and_the_flow_is_not_completed(open_app, app_rt, alice):
    params = consent(begin(app_rt, alice))
    at = open_app(None, page=CALLBACK, query_params=params)
    assert not at.exception
    assert "Войдите в connhub" in page_text(at)
    assert [button.label for button in at.button] == ["Войти"]
    assert connection_rows(app_rt) == []
    assert flow_count(app_rt, consumed=False) == 1


def test_a_reconnect_through_the_callback_keeps_the_connection(open_app, app_rt, alice):
    connection_id = connect(app_rt, alice, "evotor")
    params = consent(begin(app_rt, alice))
    at = open_app(alice, page=CALLBACK, query_params=params)
    assert [unescape(success.value) for success in at.success] == ["Эвотор переподключён: Чайная"]
    [row] = connection_rows(app_rt, alice)
    assert row.id == connection_id and row.token_version == 2
