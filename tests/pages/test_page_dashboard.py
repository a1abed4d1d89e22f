"""Подключения: cards, statuses, time zones, the checker banner, «Проверить сейчас», navigation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connhub.models import Status, utcnow
from connhub.oauth import connect_with_token
from connhub.providers.vk.sandbox import GoodsControl
from pages.ui.notices import FLASH_KEY
from tests.pages.helpers import (
    add_connection,
    badges,
    beat,
    card,
    card_order,
    connect,
    connection_rows,
    page_text,
    texts,
    titles,
    toasts,
    unescape,
)

CHECKED = datetime(2026, 3, 6, 11, 30, tzinfo=UTC)  # 14:30 in Moscow


def test_empty_dashboard_says_there_are_no_connections(open_app, alice):
    at = open_app(alice)
    assert not at.exception
    assert titles(at) == ["Подключения"]
    assert "Нет подключений — нажмите «Добавить»" in texts(at)
    assert card_order(at) == []
    assert at.button(key="add-connection").label == "Добавить"


def test_add_button_opens_the_add_page(open_app, alice):
    at = open_app(alice)
    at.button(key="add-connection").click().run()
    assert not at.exception
    assert titles(at) == ["Добавить подключение"]


def test_one_connection_shows_one_card_with_icon_name_and_details(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk", last_checked_at=CHECKED)
    at = open_app(alice)
    assert card_order(at) == ["vk"]
    vk = card(at, "vk")
    assert vk.subheader[0].value == "ВКонтакте"
    assert vk.subheader[0].proto.icon == ":material/forum:"
    assert "Иван Иванов" in texts(vk)
    assert [button.label for button in vk.button] == ["Настроить", "Отключить", "Проверить сейчас"]
    assert "Нет подключений — нажмите «Добавить»" not in texts(at)


def test_both_connections_show_in_the_fixed_order(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk")
    add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(alice)
    assert card_order(at) == ["evotor", "vk"]
    evotor = card(at, "evotor")
    assert evotor.subheader[0].value == "Эвотор"
    assert evotor.subheader[0].proto.icon == ":material/storefront:"
    assert "Чайная" in texts(evotor)


def test_never_checked_connection_has_a_grey_badge_and_a_dash_for_the_last_check(open_app, app_rt, alice,
                                                                                 sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor", status=Status.NEVER_CHECKED)
    at = open_app(alice)
    evotor = card(at, "evotor")
    assert badges(evotor) == [("gray", "Не проверялось")]
    assert "Последняя проверка: —" in texts(evotor)


def test_online_connection_has_a_green_badge_and_the_last_check_in_moscow_time(open_app, app_rt, alice,
                                                                               sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor", status=Status.ONLINE, last_checked_at=CHECKED)
    at = open_app(alice)
    evotor = card(at, "evotor")
    assert badges(evotor) == [("green", "В сети")]
    assert "Последняя проверка: 06.03.2026 14:30" in texts(evotor)
    assert evotor.caption[-1].value == "Последняя проверка: 06.03.2026 14:30"


def test_last_check_is_shown_in_the_browsers_time_zone(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor", last_checked_at=CHECKED)
    at = open_app(alice, timezone="Asia/Vladivostok")
    assert "Последняя проверка: 06.03.2026 21:30" in texts(card(at, "evotor"))


def test_last_check_falls_back_to_moscow_without_a_browser_time_zone(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor", last_checked_at=CHECKED)
    at = open_app(alice, timezone=None)
    assert "Последняя проверка: 06.03.2026 14:30" in texts(card(at, "evotor"))


@pytest.mark.parametrize(("provider", "status", "reason", "badge"), [
    ("evotor", Status.ONLINE, "Проверка не удалась (1 из 3): Эвотор недоступен (ошибка 503)", ("green", "В сети")),
    ("evotor", Status.OFFLINE, "Нет связи с сервером Эвотор", ("red", "Нет связи")),
    ("vk", Status.RECONNECT, "ВКонтакте отклонил токен — подключите заново", ("red", "Требуется переподключение")),
], ids=["online-with-a-reason", "offline", "reconnect"])
def test_a_card_shows_its_status_badge_and_reason(open_app, app_rt, alice, sandbox_control, provider, status,
                                                  reason, badge):
    add_connection(app_rt, sandbox_control, alice, provider, status=status, reason=reason, last_checked_at=CHECKED)
    at = open_app(alice)
    shown = card(at, provider)
    assert badges(shown) == [badge]
    assert reason in texts(shown)
    if status is Status.ONLINE:  # a reason on a green card is a quiet caption, not red text
        assert any(reason in unescape(caption.value) for caption in shown.caption)


def test_banner_warns_when_the_checker_never_sent_a_heartbeat(open_app, alice):
    at = open_app(alice)
    [warning] = at.warning
    assert warning.value.startswith("Фоновая проверка не работает:")
    assert "ещё не было" in warning.value


def test_banner_warns_with_the_last_beat_when_the_heartbeat_is_older_than_two_intervals(open_app, app_rt, alice):
    interval = app_rt.settings.HEALTH_CHECK_INTERVAL_SECONDS
    beat(app_rt, CHECKED)
    assert utcnow() - CHECKED > timedelta(seconds=2 * interval)
    at = open_app(alice)
    [warning] = at.warning
    assert unescape(warning.value).startswith("Фоновая проверка не работает: последний сигнал 06.03.2026 14:30")


def test_no_banner_while_the_checker_is_alive(open_app, app_rt, alice):
    beat(app_rt, utcnow() - timedelta(seconds=5))
    at = open_app(alice)
    assert at.warning == []


def test_settings_button_opens_the_service_page(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(alice)
    at.button(key="settings-evotor").click().run()
    assert not at.exception
    assert titles(at) == ["Эвотор"]


def test_flash_message_is_shown_once(open_app, alice):
    at = open_app(alice, session_state={FLASH_KEY: "Эвотор подключён: Чайная"})
    assert [unescape(success.value) for success in at.success] == ["Эвотор подключён: Чайная"]
    at.run()
    assert at.success == []


def test_cards_reflect_what_the_checker_wrote_on_the_next_refresh(open_app, app_rt, alice,
                                                                  sandbox_control):
    connection_id = add_connection(app_rt, sandbox_control, alice, "evotor",
                                   status=Status.ONLINE, last_checked_at=CHECKED)
    at = open_app(alice)
    assert badges(card(at, "evotor")) == [("green", "В сети")]
    from sqlalchemy import update

    from connhub.models import Connection

    with app_rt.sessions() as session:
        session.execute(update(Connection).where(Connection.id == connection_id).values(
            status=Status.OFFLINE, status_reason="Эвотор не ответил вовремя"))
        session.commit()
    at.run()  # AppTest runs the run_every fragment once per run: this stands for the next tick
    assert badges(card(at, "evotor")) == [("red", "Нет связи")]
    assert "Эвотор не ответил вовремя" in texts(card(at, "evotor"))


@pytest.mark.parametrize(("provider", "details"), [("evotor", "Чайная"), ("vk", "Иван Иванов")])
def test_check_now_runs_the_health_check_and_toasts_the_result(open_app, app_rt, alice, provider, details):
    connect(app_rt, alice, provider)
    at = open_app(alice)
    before = connection_rows(app_rt, alice)[0].last_checked_at
    at.button(key=f"check-{provider}").click().run()
    assert not at.exception
    [row] = connection_rows(app_rt, alice)
    assert row.last_checked_at > before
    title = "Эвотор" if provider == "evotor" else "ВКонтакте"
    assert f"{title}: в сети" in toasts(at)
    assert badges(card(at, provider)) == [("green", "В сети")]
    assert details in texts(card(at, provider))


def test_check_now_shows_a_revoked_token_as_needing_a_reconnect(open_app, app_rt, alice, sandbox_control):
    connect(app_rt, alice, "evotor")
    sandbox_control.revoke("evotor")
    at = open_app(alice)
    at.button(key="check-evotor").click().run()
    assert not at.exception
    evotor = card(at, "evotor")
    assert badges(evotor) == [("red", "Требуется переподключение")]
    [row] = connection_rows(app_rt, alice)
    assert row.status == Status.RECONNECT
    assert any(toast.startswith("Эвотор: требуется переподключение — ") for toast in toasts(at))
    assert row.status_reason in page_text(evotor)


def test_vk_card_says_which_rights_the_goods_sync_lacks(open_app, app_rt, alice, sandbox):
    token = GoodsControl(sandbox.base_url).user_token(("groups",))
    assert connect_with_token(app_rt, user_id=alice.id, provider="vk", raw_token=token).ok
    vk = card(open_app(alice), "vk")
    assert "Нет прав для выгрузки товаров: товары" in texts(vk)


def test_vk_card_with_every_right_says_so(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk")
    with app_rt.sessions() as session:
        [row] = connection_rows(app_rt, alice)
        row = session.merge(row)
        row.profile = {**row.profile, "rights": {"groups": True, "market": True, "photos": True}}
        session.commit()
    assert "Права для выгрузки товаров есть" in texts(card(open_app(alice), "vk"))


def test_evotor_card_has_no_rights_line(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    assert not [text for text in texts(card(open_app(alice), "evotor")) if "Права" in text or "прав" in text]
