"""The sync's configuration against the sandbox providers over HTTP: the Evotor catalog refreshed
for real, VK connected with a pasted user token, communities and categories listed live."""

from __future__ import annotations

import io
import json

from connhub.runtime import Runtime
from connhub.sync import config, readout, target
from connhub.sync.config import Choices
from connhub.sync.policies import DEFAULT_TEMPLATE
from connhub.sync.status import switch_on, sync_status
from tests.support.connect import connect
from tests.support.goods import ACCOUNT, GOODS_OFF, GOODS_ON, SMALL_STORE, connect_vk, refresh_catalog


def test_the_target_lists_communities_with_their_goods_and_leaf_categories(rt, alice, vk_goods):
    connect_vk(rt, alice, vk_goods)
    options = target.target_options(rt, alice.id)
    assert options.error == ""
    assert options.communities is not None and options.categories is not None
    assert options.communities[GOODS_ON].name == "Магазин у дома" and options.communities[GOODS_ON].goods_enabled
    assert options.communities[GOODS_OFF].goods_enabled is False
    assert options.categories[500] == "Продукты питания / Напитки"
    assert 5 not in options.categories  # a section, not a leaf


def test_without_a_target_connection_the_lists_say_why(rt, alice):
    options = target.target_options(rt, alice.id)
    assert options.communities is None and options.error == "ВКонтакте не подключён"


def test_a_configuration_made_from_live_lists_is_ready_and_read_config_reports_it(rt, alice, vk_goods):
    evotor = connect(rt, alice, "evotor", account=ACCOUNT)
    refresh_catalog(rt, evotor)
    connect_vk(rt, alice, vk_goods)
    options = target.target_options(rt, alice.id)
    from connhub.sync import selection

    with rt.sessions.begin() as session:
        stores = selection.stores(session, alice.id, evotor)
        config.save_settings(session, alice.id, {
            "store_id": SMALL_STORE, "vk_group_id": GOODS_ON, "vk_category_id": 501, "on_removed": "hide",
            "on_not_for_sale": "hide", "on_zero_price": "skip", "price_multiplier": "1",
            "description_template": DEFAULT_TEMPLATE,
        }, Choices(stores=stores, communities=options.communities, categories=options.categories))
    status = sync_status(rt, alice.id)
    assert status.readiness.ready, status.readiness.problems
    assert status.selection is not None and status.selection.count > 0
    switch_on(rt, alice.id, confirmed_by=alice.label, shown=status.snapshot)

    out = io.StringIO()
    code = readout.main([], stdout=out, runtime_factory=lambda: Runtime.from_settings(rt.settings))
    data = json.loads(out.getvalue())
    assert code == 0 and data["ready"] is True
    assert data["vk"]["rights"] == ["groups", "market", "photos"]
    assert data["vk"]["category_name"] == "Продукты питания / Чай и кофе"
    assert len(data["products"]) == status.selection.count


def test_a_pasted_token_without_goods_rights_is_a_red_line(rt, alice, vk_goods):
    connect_vk(rt, alice, vk_goods, scopes=("groups",))
    status = sync_status(rt, alice.id)
    rights = next(line for line in status.readiness.lines if line.check == "target_rights")
    assert not rights.ok and rights.code == "missing"
    assert "товары" in rights.message
