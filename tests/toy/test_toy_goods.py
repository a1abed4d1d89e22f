"""A provider offering goods, defined only in tests/toy, is the sync's target: the run publishes to it
with nothing outside its folder touched but the registry's list (here: `register`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connhub.crypto import Secret
from connhub.models import Connection, Status, SyncRunState, utcnow
from connhub.providers.capabilities import GOODS, offered_by
from connhub.providers.registry import provider_classes, register, unregister
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.connect import add_connection, make_user
from tests.support.sync import load_catalog, save_config, set_rights, switch_on
from tests.toy.goods import SHOP
from tests.toy.provider import ToyProvider

SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}


@pytest.fixture
def toy_is_the_target() -> Iterator[None]:
    """The toy provider registered and the registered goods providers before it set aside."""
    before = provider_classes()
    aside = [cls for cls in before if GOODS.offered_by(cls)]
    for cls in aside:
        unregister(cls.info.key)
    register(ToyProvider)
    SHOP.reset()
    yield
    unregister(ToyProvider.info.key)
    for cls in before:
        if cls not in provider_classes():
            register(cls)
    assert provider_classes() == before


def test_the_toy_provider_declares_goods(toy_is_the_target):
    assert GOODS in offered_by(ToyProvider)


def test_a_run_publishes_to_the_toy_shop_and_a_second_run_writes_nothing(toy_is_the_target, make_rt, sandbox_control):
    rt = make_rt()
    user = make_user(rt, "alice")
    source_id = add_connection(rt, sandbox_control, user, "evotor")
    with rt.sessions() as session:
        toy = Connection(user_id=user.id, provider="toy", auth_method="oauth", account_id="toy-1",
                         display_name="Игрушечный магазин", profile={}, token_version=1,
                         access_token_sealed=rt.cipher.seal(Secret("toy-token")), refresh_token_sealed=None,
                         status=Status.ONLINE, status_reason="", is_online=True)
        session.add(toy)
        session.commit()
        toy_id = toy.id
    set_rights(rt, toy_id, ["groups", "market", "photos"])
    load_catalog(rt, source_id, completed_at=utcnow())
    save_config(rt, user)
    switch_on(rt, user)

    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED, outcome.stop_reason
    items = SHOP.items.values()
    assert {item.fields["sku"] for item in items} == SELECTED and outcome.counts["added"] == 4
    assert outcome.requests >= 2  # the listing and the add, counted by the toy target

    _run, again = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert again.counts["unchanged"] == 4 and again.counts["added"] == again.counts["changed"] == 0
    assert all(item.edits == 0 for item in SHOP.items.values())


def test_albums_on_a_target_without_albums_leave_the_items_published_and_say_why(toy_is_the_target, make_rt,
                                                                                 sandbox_control):
    from connhub.sync.shop_options import AlbumMode, ShopOptions, save_options

    rt = make_rt()
    user = make_user(rt, "alice")
    source_id = add_connection(rt, sandbox_control, user, "evotor")
    with rt.sessions() as session:
        toy = Connection(user_id=user.id, provider="toy", auth_method="oauth", account_id="toy-1",
                         display_name="Игрушечный магазин", profile={}, token_version=1,
                         access_token_sealed=rt.cipher.seal(Secret("toy-token")), refresh_token_sealed=None,
                         status=Status.ONLINE, status_reason="", is_online=True)
        session.add(toy)
        session.commit()
        toy_id = toy.id
    set_rights(rt, toy_id, ["groups", "market", "photos"])
    load_catalog(rt, source_id, completed_at=utcnow())
    save_config(rt, user)
    switch_on(rt, user)
    assert save_options(rt.sessions, user.id, ShopOptions(album_mode=AlbumMode.TOP))

    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED, outcome.stop_reason
    assert {item.fields["sku"] for item in SHOP.items.values()} == SELECTED
    assert outcome.plan["albums"] == {"stopped": "В игрушечном магазине нет подборок"}


def test_orders_on_a_target_without_them_say_why_on_the_page(toy_is_the_target, make_rt, sandbox_control):
    from connhub.orders.service import check_now, orders_for

    rt = make_rt()
    user = make_user(rt, "alice")
    with rt.sessions() as session:
        session.add(Connection(user_id=user.id, provider="toy", auth_method="oauth", account_id="toy-1",
                               display_name="Игрушечный магазин", profile={}, token_version=1,
                               access_token_sealed=rt.cipher.seal(Secret("toy-token")), refresh_token_sealed=None,
                               status=Status.ONLINE, status_reason="", is_online=True))
        session.commit()
    add_connection(rt, sandbox_control, user, "evotor")
    save_config(rt, user)

    assert check_now(rt, user.id).problem == "В игрушечном магазине нет вариантов и заказов"
    page = orders_for(rt, user.id)
    assert page.orders == () and "В игрушечном магазине нет вариантов и заказов" in page.empty_reason
