"""«Отключить»: the confirmation dialog, confirm and cancel."""

from __future__ import annotations

from pages.ui.notices import PENDING_DISCONNECT_KEY
from tests.pages.helpers import add_connection, card_order, connection_rows, page_text, titles, toasts, unescape


def dialog(at):
    dialogs = at.get("dialog")
    return dialogs[0] if dialogs else None


def test_disconnect_asks_for_confirmation_in_a_dialog(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(alice)
    at.button(key="disconnect-evotor").click().run()
    assert not at.exception
    box = dialog(at)
    assert box is not None and box.proto.dialog.title == "Отключение"
    assert "Вы уверены, что хотите отключить Эвотор?" in page_text(box)
    assert [(button.label, button.proto.type) for button in box.button] == [
        ("Отключить", "primary"), ("Отмена", "secondary")]
    assert len(connection_rows(app_rt, alice)) == 1


def test_dialog_names_vk_when_disconnecting_vk(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(alice)
    at.button(key="disconnect-vk").click().run()
    assert "Вы уверены, что хотите отключить ВКонтакте?" in page_text(dialog(at))


def test_confirming_deletes_the_connection_and_its_card(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(alice)
    at.button(key="disconnect-evotor").click().run()
    at.button(key="confirm-disconnect").click().run()
    assert not at.exception
    assert "Эвотор отключён" in toasts(at)
    assert [row.provider for row in connection_rows(app_rt, alice)] == ["vk"]
    assert card_order(at) == ["vk"]
    assert dialog(at) is None
    assert PENDING_DISCONNECT_KEY not in at.session_state


def test_confirming_the_last_connection_leaves_the_empty_state(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(alice)
    at.button(key="disconnect-vk").click().run()
    at.button(key="confirm-disconnect").click().run()
    assert "ВКонтакте отключён" in toasts(at)
    assert "Нет подключений — нажмите «Добавить»" in page_text(at)


def test_cancel_keeps_the_connection_and_closes_the_dialog(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(alice)
    at.button(key="disconnect-evotor").click().run()
    at.button(key="cancel-disconnect").click().run()
    assert not at.exception
    assert dialog(at) is None
    assert len(connection_rows(app_rt, alice)) == 1
    assert card_order(at) == ["evotor"]
    assert toasts(at) == []
    at.run()  # and it does not come back on the next run
    assert dialog(at) is None


def test_a_disconnected_type_is_offered_again_on_the_add_page(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(alice)
    at.button(key="disconnect-evotor").click().run()
    at.button(key="confirm-disconnect").click().run()
    at.button(key="add-connection").click().run()
    assert titles(at) == ["Добавить подключение"]
    assert [subheader.value for subheader in at.subheader] == ["Эвотор"]


def test_disconnecting_vk_while_the_sync_is_on_warns_and_switches_the_sync_off(open_app, app_rt, alice,
                                                                                sandbox_control, monkeypatch):
    """Issue 15.5: no warning, and afterwards the toggle read «Включена» while the checklist was red."""
    from connhub.sync import config, target
    from connhub.sync.target import TargetOptions
    from tests.support.sync import CATEGORIES, COMMUNITIES, ready_user

    monkeypatch.setattr(target, "target_options",
                        lambda rt, user_id: TargetOptions(communities=dict(COMMUNITIES), categories=dict(CATEGORIES)))
    ready_user(app_rt, sandbox_control, alice)
    at = open_app(alice)
    at.button(key="disconnect-vk").click().run()
    warning = " ".join(unescape(w.value) for w in dialog(at).warning)
    assert "Синхронизация включена и будет выключена" in warning
    assert "останутся там" in warning
    at.button(key="confirm-disconnect").click().run()
    assert not at.exception
    with app_rt.sessions() as session:
        assert not config.get_config(session, alice.id).is_on
    sync = open_app(alice, page="pages/sync.py")
    assert sync.toggle(key="sync-enabled").value is False
    community = [m.value for m in sync.markdown if "Сообщество" in m.value]
    assert community and all(value.startswith(":red[") for value in community), community
