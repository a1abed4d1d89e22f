"""«Магазин ВКонтакте» on «Синхронизация» (pages/ui/shop_options.py): the options save at once, and
the last run's album and hand-edit outcomes are shown."""

from __future__ import annotations

import pytest

from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.sync import target
from connhub.sync.albums import AlbumMode
from connhub.sync.hand_edits import HandEdits
from connhub.sync.shop_options import ShopOptions, get_options
from connhub.sync.target import TargetOptions
from tests.pages.helpers import toasts
from tests.support.sync import CATEGORIES, COMMUNITIES, connect_both, load_catalog, save_config

SYNC = "pages/sync.py"


@pytest.fixture(autouse=True)
def vk_lists(monkeypatch):
    options = TargetOptions(communities=dict(COMMUNITIES), categories=dict(CATEGORIES))
    monkeypatch.setattr(target, "target_options", lambda rt, user_id: options)


def set_up(rt, sandbox_control, user):
    source_id, _ = connect_both(rt, sandbox_control, user)
    load_catalog(rt, source_id)
    save_config(rt, user)


def test_the_options_are_off_and_saved_as_soon_as_they_change(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    assert not at.exception
    assert at.radio(key="shop-album-mode").label == "Подборки во ВКонтакте"
    assert "учёт остатков ведётся в Эвоторе" in " ".join(c.value for c in at.caption)
    assert at.toggle(key="shop-send-stock").value is False
    at.toggle(key="shop-send-stock").set_value(True).run()
    at.radio(key="shop-album-mode").set_value("leaf").run()
    at.radio(key="shop-hand-edits").set_value("leave").run()
    assert not at.exception
    assert "Настройки магазина сохранены" in toasts(at)
    assert get_options(app_rt.sessions, alice.id) == ShopOptions(send_stock=True, album_mode=AlbumMode.LEAF,
                                                                 hand_edits=HandEdits.LEAVE)


def test_before_the_sync_is_saved_the_options_ask_to_save_it_first(open_app, app_rt, alice):
    at = open_app(alice, page=SYNC)
    at.toggle(key="shop-send-stock").set_value(True).run()
    assert "Сначала сохраните настройки синхронизации" in toasts(at)
    assert get_options(app_rt.sessions, alice.id) == ShopOptions()


def test_the_last_runs_album_stop_and_hand_edits_are_shown(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    with app_rt.sessions() as session:
        session.add(SyncRun(user_id=alice.id, state=SyncRunState.FINISHED, trigger="cli", started_at=utcnow(),
                            finished_at=utcnow(), plan={
                                "albums": {"stopped": "В сообществе слишком много подборок (код 1407)"},
                                "hand_edited": [{"product_id": "p-latte", "name": "Латте", "what": "цена"}]}))
        session.commit()
    at = open_app(alice, page=SYNC)
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning).replace("\\", "").replace("&#58;", ":")
    assert "слишком много подборок (код 1407)" in warnings and "Товары выгружены" in warnings
    assert "«Латте» изменён во ВКонтакте вручную: цена" in warnings


def test_a_template_block_is_previewed_on_a_product_where_its_field_is_empty(open_app, app_rt, alice,
                                                                            sandbox_control):
    from tests.pages.helpers import keyed_block, page_text

    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    at.text_area(key="sync-description_template").set_value("{name}. {article:Артикул: {article}. }{price}").run()
    assert not at.exception
    first = keyed_block(at, "template-preview")
    assert [t.value for t in first.text] == ["Ассам. Артикул: ASM. 800,00 ₽"]
    blank = keyed_block(at, "template-preview-blank")
    assert blank is not None, "no preview on a product without an article"
    assert "без поля {article}: «Гёкуро»" in page_text(blank).replace("\\\\", "")
    assert [t.value for t in blank.text] == ["Гёкуро. 3 400,00 ₽"]


def test_the_variants_option_is_off_saves_at_once_and_says_which_mode_applies(open_app, app_rt, alice,
                                                                              sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    assert not at.exception
    toggle = at.toggle(key="shop-variants")
    assert toggle.label == "Модификации как варианты товара во ВКонтакте" and toggle.value is False
    captions = " ".join(c.value for c in at.caption)
    assert "Нужен расширенный магазин" in captions and "с тремя и более свойствами" in captions
    assert "каждая модификация — отдельный товар" in captions
    toggle.set_value(True).run()
    assert not at.exception and "Настройки магазина сохранены" in toasts(at)
    assert get_options(app_rt.sessions, alice.id).variants is True
    assert "Варианты применятся при следующей синхронизации" in " ".join(c.value for c in at.caption)


def test_the_last_runs_basic_market_answer_is_shown_with_the_fallback(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    from connhub.sync.shop_options import save_options

    assert save_options(app_rt.sessions, alice.id, ShopOptions(variants=True))
    with app_rt.sessions() as session:
        session.add(SyncRun(user_id=alice.id, state=SyncRunState.FINISHED, trigger="cli", started_at=utcnow(),
                            finished_at=utcnow(), plan={"variants": {
                                "separate": [{"name": "Кепка", "why": "больше двух свойств"}],
                                "stopped": "x", "not_offered": True}}))
        session.commit()
    at = open_app(alice, page=SYNC)
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "в сообществе не включён расширенный магазин — модификации выгружены отдельными товарами" in warnings


def test_a_group_with_more_than_two_attributes_is_named_on_the_page(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    from connhub.sync.shop_options import save_options

    assert save_options(app_rt.sessions, alice.id, ShopOptions(variants=True))
    with app_rt.sessions() as session:
        session.add(SyncRun(user_id=alice.id, state=SyncRunState.FINISHED, trigger="cli", started_at=utcnow(),
                            finished_at=utcnow(), plan={"variants": {
                                "variants": 1, "separate": [{"name": "Кепка", "why": "больше двух свойств"}]}}))
        session.commit()
    at = open_app(alice, page=SYNC)
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "товарами с вариантами выгружено 1 группа модификаций" in warnings
    assert "«Кепка» — больше двух свойств" in warnings
