"""Добавить подключение: what is offered, the two-step OAuth start, the Evotor and VK token pastes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from connhub.models import AuthMethod, OAuthFlow, Status, utcnow
from connhub.providers.evotor.settings import EvotorSettings
from connhub.providers.vk.goods_sandbox import GoodsControl
from connhub.providers.vk.settings import VkSettings
from tests.pages.helpers import (
    add_connection,
    card_order,
    connection_rows,
    consent,
    flow_count,
    keyed_block,
    link_buttons,
    page_links,
    page_text,
    texts,
    titles,
    toasts,
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
    assert at.button(key="authorize-evotor").label == "Подключить"
    assert at.button(key="authorize-vk").label == "Подключить"
    assert "Все доступные сервисы подключены" not in texts(at)


def test_only_the_types_not_yet_connected_are_offered(open_app, app_rt, alice):
    add_connection(app_rt, alice, "evotor")
    at = open_app(alice, page=ADD)
    assert offered(at) == ["ВКонтакте"]


def test_when_everything_is_connected_the_page_says_so(open_app, app_rt, alice):
    add_connection(app_rt, alice, "evotor")
    add_connection(app_rt, alice, "vk")
    at = open_app(alice, page=ADD)
    assert offered(at) == []
    assert "Все доступные сервисы подключены" in texts(at)


def test_the_page_links_back_to_the_connections(open_app, alice):
    at = open_app(alice, page=ADD)
    assert "Вернуться к подключениям" in page_links(at)


def test_connect_creates_a_flow_for_the_user_and_shows_a_link_to_the_provider(open_app, app_rt, alice, sandbox):
    at = open_app(alice, page=ADD)
    at.button(key="authorize-vk").click().run()
    assert not at.exception
    url = link_buttons(at)["Продолжить в ВКонтакте"]
    assert url.startswith(f"{sandbox.base_url}/vkid/authorize?")
    query = dict(parse_qsl(urlsplit(url).query))
    with app_rt.sessions() as session:
        flow = session.scalars(select(OAuthFlow)).one()
    assert (flow.user_id, flow.provider, flow.consumed_at) == (alice.id, "vk", None)
    assert query["state"] == flow.state
    assert query["redirect_uri"] == app_rt.settings.oauth_redirect_uri
    assert "новой вкладке" in page_text(keyed_block(at, "add-vk"))
    # Evotor is untouched until asked.
    assert at.button(key="authorize-evotor").label == "Подключить"


def test_cancel_forgets_the_link(open_app, alice):
    at = open_app(alice, page=ADD)
    at.button(key="authorize-evotor").click().run()
    at.button(key="authorize-cancel-evotor").click().run()
    assert "Продолжить в Эвотор" not in link_buttons(at)
    assert at.button(key="authorize-evotor").label == "Подключить"


def test_full_oauth_round_trip_through_the_sandbox_lands_on_the_dashboard(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    at.button(key="authorize-evotor").click().run()
    params = consent(link_buttons(at)["Продолжить в Эвотор"])
    # The provider's redirect opens the callback page in a new browser session.
    callback = open_app(alice, page=CALLBACK, query_params=params)
    assert not callback.exception
    assert titles(callback) == ["Подключения"]
    assert [success.value.replace("\\", "") for success in callback.success] == ["Эвотор подключён: Чайная"]
    assert card_order(callback) == ["evotor"]
    assert dict(callback.query_params) == {}
    [row] = connection_rows(app_rt, alice)
    assert (row.provider, row.status, row.display_name) == ("evotor", Status.ONLINE, "Чайная")


def test_the_add_page_moves_to_the_dashboard_once_the_flow_completes_in_the_other_tab(open_app, alice):
    at = open_app(alice, page=ADD)
    at.button(key="authorize-vk").click().run()
    params = consent(link_buttons(at)["Продолжить в ВКонтакте"])
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
    assert "Это не похоже на токен Эвотор" in error.value.replace("\\", "")
    assert connection_rows(app_rt) == []
    assert at.text_input(key="token-evotor").value == "not-a-token"


def test_a_token_evotor_rejects_is_refused_and_the_input_is_kept(open_app, app_rt, alice):
    token = "f46b89a5-8e80-4591-b0aa-94551790444b"  # well-formed, but never issued by the sandbox
    at = paste_token(open_app(alice, page=ADD), token)
    assert not at.exception
    [error] = at.error
    assert error.value.replace("\\", "").startswith("Эвотор не принял этот токен")
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


def test_starting_a_flow_stores_no_connection(open_app, app_rt, alice):
    at = open_app(alice, page=ADD)
    at.button(key="authorize-evotor").click().run()
    assert flow_count(app_rt, consumed=False) == 1
    assert connection_rows(app_rt) == []


def test_an_expired_link_is_replaced_by_the_connect_button_again(open_app, alice):
    stale = {"url": "http://127.0.0.1:9/vkid/authorize?state=old", "begun_at": utcnow() - timedelta(minutes=11)}
    at = open_app(alice, page=ADD, session_state={"_connhub_authorize_vk": stale})
    assert not at.exception
    assert "Продолжить в ВКонтакте" not in link_buttons(at)
    assert at.button(key="authorize-vk").label == "Подключить"
