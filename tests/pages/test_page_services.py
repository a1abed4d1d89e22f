"""The service pages (Эвотор, ВКонтакте): account, status, history, check, reconnect, new token."""

from __future__ import annotations

from datetime import UTC, datetime

from connhub.models import AuthMethod, Status
from tests.pages.helpers import (
    add_connection,
    badges,
    connect,
    connection_rows,
    consent,
    link_buttons,
    page_links,
    page_text,
    titles,
    toasts,
)

EVOTOR = "evotor"  # service pages are opened by their url path
VK = "vk"
CALLBACK = "pages/oauth_callback.py"


def history(at):
    return at.dataframe[-1].value


def test_evotor_page_shows_the_stores_status_and_history(open_app, app_rt, alice):
    connect(app_rt, alice, "evotor")
    at = open_app(alice, page=EVOTOR)
    assert not at.exception
    assert titles(at) == ["Эвотор"]
    assert badges(at.main) == [("green", "В сети")]
    stores = at.dataframe[0].value
    assert list(stores.columns) == ["Название", "Адрес", "ID"]
    assert list(stores["Название"]) == ["Чайная", "Кофейня на Садовой"]
    assert stores["Адрес"][0] == "Россия, г. Москва, ул. Тимура Фрунзе, 24"
    assert stores["ID"][0] == "20170228-F4F1-401B-80FA-9ECCA8451FFB"
    checks = history(at)
    assert list(checks.columns) == ["Время", "Источник", "Результат", "Статус", "Причина", "Задержка, мс"]
    assert list(checks["Источник"]) == ["Подключение"]
    assert list(checks["Результат"]) == ["Успешно"]
    assert list(checks["Статус"]) == ["В сети"]
    assert "Вернуться к подключениям" in page_links(at)


def test_vk_page_shows_the_profile_with_a_link(open_app, app_rt, alice):
    connect(app_rt, alice, "vk")
    at = open_app(alice, page=VK)
    assert not at.exception
    assert titles(at) == ["ВКонтакте"]
    text = page_text(at)
    assert "Иван Иванов" in text
    assert "https://vk.com/id743784474" in text and "743784474" in text


def test_service_page_shows_the_reason_of_a_bad_status(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk",
                   status=Status.RECONNECT, reason="ВКонтакте отклонил токен — подключите заново",
                   last_checked_at=datetime(2026, 3, 6, 11, 30, tzinfo=UTC))
    at = open_app(alice, page=VK)
    assert badges(at.main) == [("red", "Требуется переподключение")]
    text = page_text(at)
    assert "ВКонтакте отклонил токен — подключите заново" in text
    assert "Последняя проверка: 06.03.2026 14:30" in text


def test_service_page_of_an_unconnected_service_says_so_and_links_to_the_add_page(open_app, app_rt, alice):
    at = open_app(alice, page=EVOTOR)
    assert not at.exception
    assert "Эвотор не подключён." in page_text(at)
    assert "Подключить" in page_links(at) and "Вернуться к подключениям" in page_links(at)
    assert at.get("dataframe") == []


def test_check_now_on_the_service_page_adds_a_manual_check_to_the_history(open_app, app_rt, alice):
    connect(app_rt, alice, "vk")
    at = open_app(alice, page=VK)
    at.button(key="check-vk").click().run()
    assert not at.exception
    assert "ВКонтакте: в сети" in toasts(at)
    checks = history(at)
    assert list(checks["Источник"]) == ["Проверка вручную", "Подключение"]
    assert int(checks["Задержка, мс"][0].replace("\xa0", "")) >= 0


def test_check_now_shows_provider_trouble_in_the_history(open_app, app_rt, alice, sandbox_control):
    connect(app_rt, alice, "evotor")
    sandbox_control.set_fault("evotor-api", status=503)
    at = open_app(alice, page=EVOTOR)
    at.button(key="check-evotor").click().run()
    assert not at.exception
    checks = history(at)
    assert checks["Результат"][0] == "Сбой у сервиса"
    assert "503" in checks["Причина"][0]
    # One failure does not paint the card red (hysteresis), but the reason is shown.
    assert badges(at.main) == [("green", "В сети")]
    assert "Проверка не удалась (1 из 3)" in page_text(at)


def test_reconnect_keeps_the_connection_and_its_id(open_app, app_rt, alice):
    connection_id = connect(app_rt, alice, "vk")
    at = open_app(alice, page=VK)
    params = consent(link_buttons(at)["Переподключить"], account="100200300")
    callback = open_app(alice, page=CALLBACK, query_params=params)
    assert "ВКонтакте переподключён: Мария Петрова" in page_text(callback)
    [row] = connection_rows(app_rt, alice)
    assert (row.id, row.display_name, row.token_version) == (connection_id, "Мария Петрова", 2)
    at.run()  # the page that started it notices, and shows the new account
    assert "ВКонтакте переподключён: Мария Петрова" in toasts(at)
    assert "Мария Петрова" in page_text(at)


def test_reconnect_is_one_link_to_the_provider(open_app, app_rt, alice, sandbox):
    connect(app_rt, alice, "evotor")
    at = open_app(alice, page=EVOTOR)
    assert link_buttons(at)["Переподключить"].startswith(f"{sandbox.base_url}/evotor/oauth/authorize?")


def test_a_new_evotor_token_replaces_the_tokens_in_place(open_app, app_rt, alice, sandbox_control):
    connection_id = connect(app_rt, alice, "evotor")
    at = open_app(alice, page=EVOTOR)
    assert [expander.label for expander in at.expander] == ["Ввести новый токен"]
    at.text_input(key="token-evotor").input(sandbox_control.cloud_token()["token"])
    at.button[[button.label for button in at.button].index("Подключить по токену")].click().run()
    assert not at.exception
    assert "Эвотор переподключён: Чайная" in toasts(at)
    [row] = connection_rows(app_rt, alice)
    assert (row.id, row.auth_method, row.token_version) == (connection_id, AuthMethod.TOKEN, 2)
    assert at.text_input(key="token-evotor").value == ""


def test_vk_page_offers_a_new_token_and_shows_the_rights(open_app, app_rt, alice):
    connect(app_rt, alice, "vk")
    at = open_app(alice, page=VK)
    assert [expander.label for expander in at.expander] == ["Ввести новый токен"]
    text = page_text(at)
    assert "Права для выгрузки товаров" in text
    assert "сообщества: есть · товары: есть · фотографии: есть" in text  # the sandbox's app asks for them
