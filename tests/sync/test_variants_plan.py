"""Which modification groups become variants and which item groups a run sends (connhub.sync.variants):
pure decisions, no I/O."""

from __future__ import annotations

from connhub.sync.mapping import Modifications, ProductFacts
from connhub.sync.variants import (
    INCOMPLETE,
    TOO_FEW,
    TOO_MANY,
    TWINS,
    GroupRow,
    families,
    needed,
    plan_grouping,
    variant_ids,
)

SHIRT = Modifications("g-shirt", "Футболка", ("Цвет", "Размер"))


def mod(pid: str, *choices: str, group: Modifications = SHIRT) -> ProductFacts:
    return ProductFacts(id=pid, name=f"Футболка {pid}", choices=choices, modification_of=group)


def test_a_group_of_two_attributes_with_distinct_combinations_qualifies():
    found = families([mod("a", "Красный", "S"), mod("b", "Синий", "S"), ProductFacts(id="plain", name="Чай")])
    assert list(found) == ["g-shirt"] and found["g-shirt"].problem == ""
    assert needed(found.values()) == {"Цвет": {"Красный", "Синий"}, "Размер": {"S"}}
    ids = {("Цвет", "Красный"): 1, ("Цвет", "Синий"): 2, ("Размер", "S"): 3}
    assert variant_ids(found["g-shirt"], "b", ids) == (2, 3)
    assert variant_ids(found["g-shirt"], "a", {("Цвет", "Красный"): 1}) is None


def test_the_groups_that_stay_separate_items_say_why():
    three = Modifications("g-cap", "Кепка", ("Цвет", "Размер", "Материал"))
    found = families([mod("c1", "Чёрный", "M", "Лён", group=three), mod("c2", "Белый", "M", "Лён", group=three)])
    assert found["g-cap"].problem == TOO_MANY
    assert families([mod("a", "Красный", "S")])["g-shirt"].problem == TOO_FEW
    assert families([mod("a", "Красный", "S"), mod("b", "Красный", "S")])["g-shirt"].problem == TWINS
    assert families([mod("a", "Красный", "S"), mod("b", "Синий")])["g-shirt"].problem == INCOMPLETE


def test_a_new_family_is_grouped_whole_and_a_grouped_one_never_again():
    calls, adopted = plan_grouping({"g": [10, 11, 12]}, {}, {})
    assert [(c.items, c.existing) for c in calls] == [((10, 11, 12), None)] and adopted == {}
    row = GroupRow(1, "g", 500, (10, 11, 12))
    assert plan_grouping({"g": [10, 11, 12]}, {"g": row}, {10: 500, 11: 500, 12: 500}) == ([], {})


def test_only_the_items_in_no_group_join_the_known_one():
    row = GroupRow(1, "g", 500, (10, 11))
    calls, _ = plan_grouping({"g": [10, 11, 13]}, {"g": row}, {10: 500, 11: 500})
    assert [(c.items, c.existing) for c in calls] == [((13,), 500)]


def test_a_group_made_by_a_run_killed_before_its_row_is_adopted_from_the_listing():
    calls, adopted = plan_grouping({"g": [10, 11]}, {}, {10: 777, 11: 777})
    assert calls == [] and adopted == {"g": 777}


def test_a_family_of_one_published_item_is_not_grouped():
    assert plan_grouping({"g": [10]}, {}, {}) == ([], {})
