"""Добавить подключение: what is offered, one-click OAuth start, the Evotor and VK token pastes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from connhub.models import AuthMethod, OAuthFlow, Status, utcnow
from connhub.providers.evotor.settings import EvotorSettings
from connhub.providers.vk.sandbox import GoodsControl
from connhub.providers.vk.settings import VkSettings
from pages.ui.connect import PendingFlow
from tests.pages.helpers import (
    add_connection,
    card_order,
    connect_urls,
    connection_rows,
    consent,
    flow_count,
    keyed_block,
    page_links,
    page_text,
    texts,
    titles,
    toasts,
    unescape,
)

ADD = "pages/add_connection.py"
CALLBACK = "pages/oauth_callback.py"


def offered(at) -> list[str]:
    return [subheader.value for subheader in at.subheader]


def test_both_types_are_offered_when_nothing_is_connected(open_app, alice):
    at = open_app(alice, page=ADD)
    assert not at.exception
    assert titles(at) == ["Добавить подключение"]
    assert offered(at) == ["Эвотор", "ВКонтакте"]
    evotor, vk = keyed_block(at, "add-evotor"), keyed_block(at, "add-vk")
    assert "Подключите кассу Эвотор для синхронизации каталога товаров." in texts(evotor)
    assert "Подключите аккаунт ВКонтакте для публикации товаров в вашу группу." in texts(vk)
    assert evotor.subheader[0].proto.icon == ":material/storefront:"
    assert vk.subheader[0].proto.icon == ":material/forum:"
    assert [(button.proto.label, button.proto.id.endswith(f"authorize-{key}"))
            for button, key in zip(at.get("link_button"), ("evotor", "vk"), strict=True)] == [("Подключить", True)] * 2
    assert "Все доступные сервисы подключены" not in texts(at)


def test_only_the_types_not_yet_connected_are_offered(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(alice, page=ADD)
    assert offered(at) == ["ВКонтакте"]


def test_when_everything_is_connected_the_page_says_so(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(alice, page=ADD)
    assert offered(at) == []
    assert "Все доступные сервисы подключены" in texts(at)


def test_the_page_links_back_to_the_connections(open_app, alice):
    at = open_app(alice, page=ADD)
    assert "Вернуться к подключениям" in page_links(at)


def test_connect_is_one_link_straight_to_the_provider_with_a_flow_for_the_user(open_app, app_rt, alice, sandbox):
    at = open_app(alice, page=ADD)
    assert not at.exception
    url = connect_urls(at)["vk"]
    assert url.startswith(f"{sandbox.base_url}/vkid/authorize?")
    query = dict(parse_qsl(urlsplit(url).query))
    with app_rt.sessions() as session:
        flow = session.scalars(select(OAuthFlow).where(OAuthFlow.provider == "vk")).one()
    assert (flow.user_id, flow.consumed_at) == (alice.id, None)
    assert query["state"] == flow.state
    assert query["redirect_uri"] == app_rt.settings.oauth_redirect_uri
    assert "новой вкладке" in page_text(keyed_block(at, "add-vk"))


def test_redrawing_the_page_reuses_the_flow_while_it_is_valid(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    first = connect_urls(at)
    at.run()
    assert connect_urls(at) == first
    assert flow_count(app_rt) == 2  # one per provider, made once


def test_a_link_about_to_expire_is_renewed_with_a_fresh_flow(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    old = at.session_state["_connhub_authorize_vk"]
    at.session_state["_connhub_authorize_vk"] = replace(old, expires_at=utcnow() + timedelta(seconds=30))
    at.run()
    assert not at.exception
    assert connect_urls(at)["vk"] != old.url
    assert flow_count(app_rt, consumed=False) == 3


def test_a_link_whose_flow_was_used_without_connecting_gets_a_fresh_flow(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    used = connect_urls(at)["vk"]
    params = consent(used, decision="deny")
    open_app(alice, page=CALLBACK, query_params=params)  # «Вы отказались»: the flow is spent
    at.run()  # the watcher notices, the page draws a new link
    assert not at.exception
    assert connect_urls(at)["vk"] != used
    with app_rt.sessions() as session:
        open_vk = session.scalars(select(OAuthFlow).where(OAuthFlow.provider == "vk",
                                                          OAuthFlow.consumed_at.is_(None))).all()
    assert len(open_vk) == 1 and open_vk[0].state in connect_urls(at)["vk"]


def test_full_oauth_round_trip_through_the_sandbox_lands_on_the_dashboard(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    params = consent(connect_urls(at)["evotor"])
    # The provider's redirect opens the callback page in a new browser session.
    callback = open_app(alice, page=CALLBACK, query_params=params)
    assert not callback.exception
    assert titles(callback) == ["Подключения"]
    assert [unescape(success.value) for success in callback.success] == ["Эвотор подключён: Чайная"]
    assert card_order(callback) == ["evotor"]
    assert dict(callback.query_params) == {}
    [row] = connection_rows(app_rt, alice)
    assert (row.provider, row.status, row.display_name) == ("evotor", Status.ONLINE, "Чайная")


def test_the_add_page_moves_to_the_dashboard_once_the_flow_completes_in_the_other_tab(open_app, alice):
    at = open_app(alice, page=ADD)
    params = consent(connect_urls(at)["vk"])
    open_app(alice, page=CALLBACK, query_params=params)
    at.run()  # the watcher fragment's next tick
    assert not at.exception
    assert titles(at) == ["Подключения"]
    assert "ВКонтакте подключён: Иван Иванов" in toasts(at)
    assert card_order(at) == ["vk"]


def test_both_services_offer_a_token_paste(open_app, alice):
    at = open_app(alice, page=ADD)
    assert [expander.label for expander in at.expander] == ["Ввести токен", "Ввести токен"]
    assert keyed_block(at, "add-evotor").expander[0].label == "Ввести токен"
    assert keyed_block(at, "add-vk").expander[0].label == "Ввести токен"
    assert "с правами на сообщества, товары и фотографии" in page_text(keyed_block(at, "add-vk").expander[0])


def test_sandbox_mode_links_to_the_sandbox_vk_token_page(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    hint = page_text(keyed_block(at, "add-vk").expander[0])
    assert f"({app_rt.settings.of(VkSettings).VK_API_URL}/token)" in hint


def paste_vk_token(at, token: str):
    at.text_input(key="token-vk").input(token)
    block = keyed_block(at, "add-vk")
    block.button[[button.label for button in block.button].index("Подключить по токену")].click().run()
    return at


def test_a_vk_token_with_the_sync_rights_connects_and_records_them(open_app, app_rt, alice, sandbox):
    token = GoodsControl(sandbox.base_url).user_token(("groups", "market", "photos"))
    at = paste_vk_token(open_app(alice, page=ADD), token)
    assert not at.exception
    assert "ВКонтакте подключён: Иван Иванов" in toasts(at)
    [row] = connection_rows(app_rt, alice)
    assert (row.provider, row.auth_method, row.status) == ("vk", AuthMethod.TOKEN, Status.ONLINE)
    assert {key: row.profile["rights"][key] for key in ("groups", "market", "photos")} == {
        "groups": True, "market": True, "photos": True}
    assert token not in row.access_token_sealed


def test_a_vk_token_without_goods_rights_still_connects_with_the_rights_it_lacks(open_app, app_rt, alice, sandbox):
    token = GoodsControl(sandbox.base_url).user_token(("groups",))
    at = paste_vk_token(open_app(alice, page=ADD), token)
    assert "ВКонтакте подключён: Иван Иванов" in toasts(at)
    [row] = connection_rows(app_rt, alice)
    assert row.status == Status.ONLINE
    assert (row.profile["rights"]["groups"], row.profile["rights"]["market"]) == (True, False)


def test_a_vk_token_of_the_wrong_shape_or_unknown_is_refused_and_nothing_is_stored(open_app, app_rt, alice):
    at = paste_vk_token(open_app(alice, page=ADD), "not a token")
    assert "Это не похоже на ключ доступа ВКонтакте" in " ".join(e.value for e in at.error)
    at = paste_vk_token(at, "vk1.a." + "x" * 80)
    assert "ВКонтакте не принял этот токен" in " ".join(e.value for e in at.error)
    assert connection_rows(app_rt, alice) == []


def test_sandbox_mode_links_to_the_sandbox_market_page_for_the_token(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    hint = page_text(at.expander[0])
    assert f"({app_rt.settings.of(EvotorSettings).EVOTOR_OAUTH_URL}/market)" in hint


def paste_token(at, token: str):
    at.text_input(key="token-evotor").input(token)
    at.button[[button.label for button in at.button].index("Подключить по токену")].click()
    return at.run()


def test_a_token_of_the_wrong_shape_is_refused_with_a_message_and_nothing_is_stored(open_app, app_rt, alice):
    at = paste_token(open_app(alice, page=ADD), "not-a-token")
    assert not at.exception
    [error] = at.error
    assert "Это не похоже на токен Эвотор" in unescape(error.value)
    assert connection_rows(app_rt) == []
    assert at.text_input(key="token-evotor").value == "not-a-token"


def test_a_token_evotor_rejects_is_refused_and_the_input_is_kept(open_app, app_rt, alice):
    token = "f46b89a5-8e80-4591-b0aa-94551790444b"  # well-formed, but never issued by the sandbox
    at = paste_token(open_app(alice, page=ADD), token)
    assert not at.exception
    [error] = at.error
    assert unescape(error.value).startswith("Эвотор не принял этот токен")
    assert connection_rows(app_rt) == []
    assert at.text_input(key="token-evotor").value == token
    assert titles(at) == ["Добавить подключение"]


def test_a_good_token_connects_evotor_and_goes_to_the_dashboard(open_app, app_rt, alice, sandbox_control):
    token = sandbox_control.cloud_token()["token"]
    at = paste_token(open_app(alice, page=ADD), token)
    assert not at.exception
    assert titles(at) == ["Подключения"]
    assert "Эвотор подключён: Чайная" in toasts(at)
    assert card_order(at) == ["evotor"]
    [row] = connection_rows(app_rt, alice)
    assert (row.provider, row.auth_method, row.status) == ("evotor", AuthMethod.TOKEN, Status.ONLINE)
    assert token not in row.access_token_sealed


def test_offering_a_link_stores_no_connection(open_app, app_rt, alice):
    open_app(alice, page=ADD)
    assert flow_count(app_rt, consumed=False) == 2
    assert connection_rows(app_rt) == []


def test_an_expired_link_from_an_old_session_is_replaced(open_app, alice):
    stale = PendingFlow(user_id=alice.id, url="http://127.0.0.1:9/vkid/authorize?state=old", state="old",
                        expires_at=utcnow() - timedelta(minutes=1), since=utcnow() - timedelta(minutes=11))
    at = open_app(alice, page=ADD, session_state={"_connhub_authorize_vk": stale})
    assert not at.exception
    assert connect_urls(at)["vk"] != stale.url


def test_a_leftover_flow_for_a_service_already_connected_is_dropped_not_renewed(open_app, app_rt, alice,
                                                                                  sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk")
    leftover = PendingFlow(user_id=alice.id, url="http://127.0.0.1:9/vkid/authorize?state=old", state="old",
                           expires_at=utcnow() + timedelta(minutes=1), since=utcnow())
    at = open_app(alice, page=ADD, session_state={"_connhub_authorize_vk": leftover})
    assert not at.exception
    assert offered(at) == ["Эвотор"]
    assert "_connhub_authorize_vk" not in at.session_state
