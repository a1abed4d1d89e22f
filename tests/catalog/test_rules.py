"""The include/exclude rules, case by case: one table row per precedence rule."""

from __future__ import annotations

import pytest

from connhub.catalog.rules import NO_RULES, NOT_COVERED, Rule, RuleSet
from connhub.models import RuleMode, RuleTarget

STORE = "20180820-7052-4047-807D-E82C50000000"
# A > A1 > A11 three deep; B holds the modification group M.
PARENTS: dict[str, str | None] = {"A": None, "A1": "A", "A11": "A1", "B": None, "M": "B"}
NAMES = {"A": "Напитки", "A1": "Соки", "A11": "Яблочные", "B": "Одежда", "M": "Джинсы"}
PRODUCTS: dict[str, str | None] = {
    "root": None, "pa": "A", "pa1": "A1", "pa11": "A11", "pb": "B", "pm": "M",
}

INC, EXC = RuleMode.INCLUDE, RuleMode.EXCLUDE


def store(mode: RuleMode) -> Rule:
    return Rule(RuleTarget.STORE, STORE, mode)


def group(gid: str, mode: RuleMode) -> Rule:
    return Rule(RuleTarget.GROUP, gid, mode, name=NAMES.get(gid, ""))


def product(pid: str, mode: RuleMode) -> Rule:
    return Rule(RuleTarget.PRODUCT, pid, mode)


def decide(rules: list[Rule]) -> dict[str, tuple[bool, Rule | None]]:
    ruleset = RuleSet(rules, store_id=STORE, group_parents=PARENTS, group_names=NAMES)
    decisions = ruleset.decide_all(list(PRODUCTS), list(PRODUCTS.values()))
    return {pid: (d.included, d.rule) for pid, d in zip(PRODUCTS, decisions, strict=True)}


CASES = [
    pytest.param([], {p: (True, None) for p in PRODUCTS}, id="no rules: everything is in"),
    pytest.param(
        [group("A", EXC)],
        {"root": (True, None), "pa": (False, 0), "pa1": (False, 0), "pa11": (False, 0),
         "pb": (True, None), "pm": (True, None)},
        id="only excludes: everything but the excluded group and below"),
    pytest.param(
        [group("A1", INC)],
        {"root": (False, None), "pa": (False, None), "pa1": (True, 0), "pa11": (True, 0),
         "pb": (False, None), "pm": (False, None)},
        id="any include: only what an include covers"),
    pytest.param(
        [group("A", EXC), product("pa11", INC)],
        {"root": (False, None), "pa": (False, 0), "pa1": (False, 0), "pa11": (True, 1),
         "pb": (False, None), "pm": (False, None)},
        id="product beats group: one product included from an excluded group"),
    pytest.param(
        [group("A", INC), product("pa1", EXC)],
        {"root": (False, None), "pa": (True, 0), "pa1": (False, 1), "pa11": (True, 0),
         "pb": (False, None), "pm": (False, None)},
        id="product beats group: one product excluded from an included group"),
    pytest.param(
        [group("A", INC), group("A1", EXC)],
        {"root": (False, None), "pa": (True, 0), "pa1": (False, 1), "pa11": (False, 1),
         "pb": (False, None), "pm": (False, None)},
        id="nearer group beats farther: excluded subgroup of an included group"),
    pytest.param(
        [group("A", EXC), group("A11", INC)],
        {"root": (False, None), "pa": (False, 0), "pa1": (False, 0), "pa11": (True, 1),
         "pb": (False, None), "pm": (False, None)},
        id="nearer group beats farther: included subgroup of an excluded group"),
    pytest.param(
        [store(EXC), group("B", INC)],
        {"root": (False, 0), "pa": (False, 0), "pa1": (False, 0), "pa11": (False, 0),
         "pb": (True, 1), "pm": (True, 1)},
        id="group beats store: one group included from an excluded store"),
    pytest.param(
        [store(INC), product("pb", EXC)],
        {"root": (True, 0), "pa": (True, 0), "pa1": (True, 0), "pa11": (True, 0),
         "pb": (False, 1), "pm": (True, 0)},
        id="store include covers everything, a product rule still beats it"),
    pytest.param(
        [product("pa", INC), product("pa", EXC)],
        {"root": (False, None), "pa": (False, 1), "pa1": (False, None), "pa11": (False, None),
         "pb": (False, None), "pm": (False, None)},
        id="equal specificity on a product: exclude wins"),
    pytest.param(
        [group("A1", EXC), group("A1", INC)],
        {"root": (False, None), "pa": (False, None), "pa1": (False, 0), "pa11": (False, 0),
         "pb": (False, None), "pm": (False, None)},
        id="equal specificity on a group: exclude wins"),
    pytest.param(
        [store(EXC), store(INC)],
        {p: (False, 0) for p in PRODUCTS},
        id="equal specificity on the store: exclude wins"),
    pytest.param(
        [group("M", EXC)],
        {"root": (True, None), "pa": (True, None), "pa1": (True, None), "pa11": (True, None),
         "pb": (True, None), "pm": (False, 0)},
        id="a modification group is a group: excluding it excludes its modifications"),
    pytest.param(
        [product("gone", INC)],
        {p: (False, None) for p in PRODUCTS},
        id="an include whose target vanished still makes it a whitelist"),
]


@pytest.mark.parametrize(("rules", "expected"), CASES)
def test_rule_precedence(rules: list[Rule], expected: dict[str, tuple[bool, int | None]]) -> None:
    got = decide(rules)
    for pid, (included, rule_index) in expected.items():
        want_rule = None if rule_index is None else rules[rule_index]
        assert got[pid][0] is included, pid
        assert got[pid][1] == want_rule, pid


def test_the_default_decision_says_why():
    assert decide([])["pa"] == (True, None)
    ruleset = RuleSet([], store_id=STORE, group_parents=PARENTS)
    assert ruleset.decide("pa", "A") is NO_RULES
    ruleset = RuleSet([group("B", INC)], store_id=STORE, group_parents=PARENTS)
    assert ruleset.decide("pa", "A") is NOT_COVERED
    assert NOT_COVERED.reason == "По умолчанию (не входит ни в одно включение)"


def test_a_product_no_rule_covers_says_default_even_when_other_rules_exist():
    """Issue 15.4: 4,672 rows said «Правил нет» although two rules existed."""
    ruleset = RuleSet([group("B", EXC)], store_id=STORE, group_parents=PARENTS)
    decision = ruleset.decide("pa", "A")
    assert decision.included and decision.rule is None
    assert decision.reason == "По умолчанию (в выгрузке)"
    assert "Правил нет" not in decision.reason and ":" not in decision.reason


def test_each_decision_names_its_rule_in_russian():
    ruleset = RuleSet([group("A", EXC), product("pa11", INC), store(INC)], store_id=STORE,
                      group_parents=PARENTS, group_names=NAMES)
    assert ruleset.decide("pa1", "A1").reason == "Группа «Напитки» исключена"
    assert ruleset.decide("pa11", "A11").reason == "Товар включён"
    assert ruleset.decide("pb", "B").reason == "Магазин включён"


def test_a_group_rule_names_the_group_as_it_was_when_it_left_the_catalog():
    ruleset = RuleSet([Rule(RuleTarget.GROUP, "old", INC, name="Архив")], store_id=STORE,
                      group_parents={"old": None})
    assert ruleset.decide("x", "old").reason == "Группа «Архив» включена"


def test_rules_whose_target_vanished_are_reported_missing():
    rules = [group("A", EXC), group("Z", INC), product("pa", INC), product("gone", EXC), store(INC),
             Rule(RuleTarget.STORE, "other-store", EXC)]
    ruleset = RuleSet(rules, store_id=STORE, group_parents=PARENTS)
    missing = ruleset.missing(group_ids=PARENTS, product_ids=PRODUCTS)
    assert missing == [rules[1], rules[3], rules[5]]


def test_a_cycle_in_the_group_tree_does_not_hang():
    parents = {"X": "Y", "Y": "X"}
    ruleset = RuleSet([store(EXC)], store_id=STORE, group_parents=parents)
    assert ruleset.decide("p", "X").included is False


def test_a_product_in_an_unknown_group_falls_back_to_the_store_rule():
    ruleset = RuleSet([store(EXC)], store_id=STORE, group_parents=PARENTS)
    assert ruleset.decide("p", "nowhere").rule == store(EXC)
