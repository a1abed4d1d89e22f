"""«Модификации как варианты товара во ВКонтакте» against the sandbox's VK goods, on SQLite and
PostgreSQL. The catalog (tests/support/sync.py) gains a modification group «Футболка» (Цвет, Размер:
three modifications) and «Кепка» with three attributes (two modifications)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from connhub.models import CatalogGroup, CatalogProduct, SyncItemGroup, SyncRunState, SyncVariant
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from connhub.sync.shop_options import ShopOptions, save_options, variant_note
from tests.support.connect import make_user
from tests.support.goods import by_sku, last_run, ready_for_goods, touch

GROUP = 218252175
WRITES = ("market.add", "market.edit", "market.delete", "market.restore", "market.saveProductPhoto",
          "market.addProperty", "market.addPropertyVariant", "market.groupItems", "market.addAlbum",
          "market.addToAlbum", "market.editAlbum")
SHIRTS = {"p-red-s": ("Красный", "S"), "p-blue-s": ("Синий", "S"), "p-red-m": ("Красный", "M")}
CAPS = {"p-cap-1": ("Чёрный", "M", "Хлопок"), "p-cap-2": ("Белый", "M", "Лён")}


class Killed(BaseException):
    """The process dies here (like SIGKILL, nothing after it runs)."""


def attributes(*named: tuple[str, tuple[str, ...]]) -> list[dict]:
    return [{"id": f"a-{name}", "name": name, "choices": [{"id": f"c-{name}-{c}", "name": c} for c in choices]}
            for name, choices in named]


def add_modifications(rt, snapshot: int) -> None:
    with rt.sessions() as session:
        session.add(CatalogGroup(snapshot_id=snapshot, id="g-shirt", parent_id=None, name="Футболка",
                                 is_modification_group=True, attributes=attributes(
                                     ("Цвет", ("Красный", "Синий")), ("Размер", ("S", "M")))))
        session.add(CatalogGroup(snapshot_id=snapshot, id="g-cap", parent_id=None, name="Кепка",
                                 is_modification_group=True, attributes=attributes(
                                     ("Цвет", ("Чёрный", "Белый")), ("Размер", ("M",)),
                                     ("Материал", ("Хлопок", "Лён")))))
        for group, label, found in (("g-shirt", "Футболка", SHIRTS), ("g-cap", "Кепка", CAPS)):
            names = ("Цвет", "Размер", "Материал")
            for pid, choices in found.items():
                session.add(CatalogProduct(
                    snapshot_id=snapshot, id=pid, group_id=group, name=f"{label} {' '.join(choices)}", measure="шт",
                    price=Decimal("990"), allow_to_sell=True, type="NORMAL",
                    attributes_choices={f"a-{n}": f"c-{n}-{c}" for n, c in zip(names, choices, strict=False)}))
        session.commit()
    touch(rt, snapshot)


def shop(rt, vk_goods, *, variants: bool = True, name: str = "alice"):
    user = make_user(rt, name)
    snapshot = ready_for_goods(rt, user, vk_goods)
    add_modifications(rt, snapshot)
    assert save_options(rt.sessions, user.id, ShopOptions(variants=variants))
    return user


def sync(rt, user, **options):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test", **options)
    return outcome


def writes(vk_goods) -> dict[str, int]:
    return {m: n for m, n in vk_goods.stats()["calls"].items() if m in WRITES}


def titles(vk_goods) -> dict[str, str]:
    return {sku: items[0]["title"] for sku, items in by_sku(vk_goods).items()}


def test_modifications_are_one_product_with_variants_and_an_unchanged_rerun_writes_nothing(db_rt, vk_goods):
    user = shop(db_rt, vk_goods)
    said: list[str] = []
    outcome = sync(db_rt, user, say=said.append)
    assert outcome.state == SyncRunState.FINISHED, outcome.stop_reason
    assert "Модификации: товарами с вариантами: 1; «Кепка» отдельными товарами (больше двух свойств)" in said
    found = vk_goods.variants(GROUP)
    props = {p["title"]: set(p["variants"].values()) for p in found["properties"]}
    assert props == {"Цвет": {"Красный", "Синий"}, "Размер": {"S", "M"}}
    items = by_sku(vk_goods)
    shirts = {sku: items[sku][0] for sku in SHIRTS}
    assert {item["title"] for item in shirts.values()} == {"Футболка"}
    variant_title = {int(k): t for p in found["properties"] for k, t in p["variants"].items()}
    assert {sku: tuple(variant_title[v] for v in item["variant_ids"]) for sku, item in shirts.items()} == SHIRTS
    assert [sorted(g) for g in found["groups"].values()] == [sorted(item["id"] for item in shirts.values())]
    # «Кепка» has three attributes: separate items, the choices in their titles
    assert titles(vk_goods)["p-cap-1"] == "Кепка Чёрный M Хлопок (Чёрный, M, Хлопок)"
    assert "variant_ids" not in items["p-cap-1"][0]
    assert outcome.plan["variants"]["separate"] == [{"name": "Кепка", "why": "больше двух свойств"}]
    vk_goods.reset_stats()
    again = sync(db_rt, user)
    assert writes(vk_goods) == {} and again.counts["unchanged"] == 9


def test_a_choice_changed_in_evotor_is_one_edit_with_the_new_variant(db_rt, vk_goods):
    user = shop(db_rt, vk_goods)
    sync(db_rt, user)
    with db_rt.sessions() as session:
        snapshot = session.query(CatalogProduct).filter_by(id="p-red-m").one().snapshot_id
        session.query(CatalogProduct).filter_by(snapshot_id=snapshot, id="p-red-m").update(
            {"attributes_choices": {"a-Цвет": "c-Цвет-Синий", "a-Размер": "c-Размер-M"}})
        session.commit()
    touch(db_rt, snapshot)
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert writes(vk_goods) == {"market.edit": 1}


CHECKPOINTS = ["before_add_property", "after_add_property", "before_add_variant", "after_add_variant",
               "before_add", "after_add", "after_group"]


@pytest.mark.parametrize("moment", CHECKPOINTS)
def test_a_run_killed_at_any_step_leaves_no_duplicate_property_variant_or_item_group(rt, vk_goods, moment):
    user = shop(rt, vk_goods)

    def die(step):
        if step == moment:
            raise Killed

    with pytest.raises(Killed):
        sync(rt, user, checkpoint=die)
    assert sync(rt, user).state == SyncRunState.FINISHED
    found = vk_goods.variants(GROUP)
    assert Counter(p["title"] for p in found["properties"]) == {"Цвет": 1, "Размер": 1}
    assert all(sorted(p["variants"].values()) == sorted(set(p["variants"].values())) for p in found["properties"])
    assert len(found["groups"]) == 1 and len(next(iter(found["groups"].values()))) == 3
    assert all(len(items) == 1 for items in by_sku(vk_goods).values())
    with rt.sessions() as session:
        assert session.query(SyncItemGroup).count() == 1
        assert session.query(SyncVariant).filter(SyncVariant.target_id.is_(None)).count() == 0
    vk_goods.reset_stats()
    sync(rt, user)
    assert writes(vk_goods) == {}


def test_the_basic_market_keeps_separate_items_and_says_why(db_rt, vk_goods):
    vk_goods.set_market(GROUP, "basic")
    user = shop(db_rt, vk_goods)
    said: list[str] = []
    outcome = sync(db_rt, user, say=said.append)
    assert outcome.state == SyncRunState.FINISHED
    assert titles(vk_goods)["p-red-s"] == "Футболка Красный S (Красный, S)"
    assert len(by_sku(vk_goods)) == 9
    line = "в сообществе не включён расширенный магазин — модификации выгружены отдельными товарами"
    assert any(line in s for s in said)
    assert last_run(db_rt).plan["variants"]["not_offered"] is True
    note, warn = variant_note(db_rt.sessions, user.id)
    assert line in note and warn


def test_options_off_sends_no_variant_call(rt, vk_goods):
    user = shop(rt, vk_goods, variants=False)
    vk_goods.reset_stats()
    sync(rt, user)
    assert not set(vk_goods.stats()["calls"]) & {"market.getProperties", "market.addProperty", "market.groupItems"}
    assert titles(vk_goods)["p-red-s"] == "Футболка Красный S (Красный, S)"


def test_switching_the_option_on_later_turns_the_items_into_variants(rt, vk_goods):
    user = shop(rt, vk_goods, variants=False)
    sync(rt, user)
    assert save_options(rt.sessions, user.id, ShopOptions(variants=True))
    vk_goods.reset_stats()
    sync(rt, user)
    calls = writes(vk_goods)
    assert calls["market.edit"] == 3 and calls["market.groupItems"] == 1 and "market.add" not in calls
    assert titles(vk_goods)["p-blue-s"] == "Футболка"


def test_a_property_the_community_refuses_keeps_separate_items_with_the_reason(rt, vk_goods):
    vk_goods.variant_limits(property_limit=1)  # «Цвет» fits, «Размер» answers 1418
    user = shop(rt, vk_goods)
    said: list[str] = []
    outcome = sync(rt, user, say=said.append)
    assert outcome.state == SyncRunState.FINISHED and len(by_sku(vk_goods)) == 9
    assert titles(vk_goods)["p-blue-s"] == "Футболка Синий S (Синий, S)"
    assert any("Модификации выгружены отдельными товарами: ВКонтакте не создал свойство" in s and "1418" in s
               for s in said)
    vk_goods.variant_limits(property_limit=None)
    sync(rt, user)  # the next run adopts «Цвет» and makes only «Размер»
    assert Counter(p["title"] for p in vk_goods.variants(GROUP)["properties"]) == {"Цвет": 1, "Размер": 1}
    assert titles(vk_goods)["p-blue-s"] == "Футболка"


def test_a_dry_run_makes_no_property_and_writes_nothing(rt, vk_goods):
    user = shop(rt, vk_goods)
    vk_goods.reset_stats()
    outcome = sync(rt, user, dry_run=True)
    assert outcome.state == SyncRunState.FINISHED and writes(vk_goods) == {}
    assert len(outcome.plan["add"]) == 9
    with rt.sessions() as session:
        assert session.query(SyncVariant).count() == 0
