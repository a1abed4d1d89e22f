"""Modifications as the target's variants, decided without writing anything (docs/vk-goods.md,
«Shop options»).

A modification group of the catalog becomes one product with variants when it has one or two
attributes and at least two of its modifications are published with distinct, complete
combinations of choices; otherwise its modifications stay separate items with the choices in
their titles (`families` says which and why). The properties are the attributes' names and the
variants the choices' names, per community: `needed` lists them, and a property or variant is
adopted by title when the community already has it (a lost `addProperty` answer never makes a
second one). After publishing, `plan_grouping` says which items go into an item group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from connhub.sync.mapping import ProductFacts

TITLE_MAX = 60  # a property's or variant's title at the target
ATTRIBUTES_MAX = 2  # variants of at most two properties an item

TOO_MANY = "больше двух свойств"
TOO_FEW = "в выгрузке меньше двух модификаций"
INCOMPLETE = "не у всех модификаций выбраны все свойства"
TWINS = "у модификаций одинаковые сочетания свойств"
SAME_NAMES = "у свойств одинаковые названия"


def title_of(name: str) -> str:
    return " ".join(name.split())[:TITLE_MAX]


@dataclass
class Family:
    """A modification group's published modifications: product id → its choices' titles."""

    group_id: str
    name: str
    attributes: tuple[str, ...]
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problem: str = ""  # why it stays separate items ("" : published as variants)

    def check(self) -> Family:
        combos = list(self.members.values())
        if len(self.attributes) > ATTRIBUTES_MAX:
            self.problem = TOO_MANY
        elif any(len(c) != len(self.attributes) or not all(c) for c in combos) or not self.attributes:
            self.problem = INCOMPLETE
        elif len(set(self.attributes)) != len(self.attributes):
            self.problem = SAME_NAMES
        elif len(combos) < 2:
            self.problem = TOO_FEW
        elif len(set(combos)) != len(combos):
            self.problem = TWINS
        return self


def families(facts: Iterable[ProductFacts]) -> dict[str, Family]:
    """The modification groups of the published products, each checked."""
    found: dict[str, Family] = {}
    for fact in facts:
        group = fact.modification_of
        if group is None:
            continue
        family = found.setdefault(group.group_id, Family(group.group_id, group.name,
                                                         tuple(title_of(a) for a in group.attributes)))
        family.members[fact.id] = tuple(title_of(c) for c in fact.choices)
    return {gid: family.check() for gid, family in found.items()}


def needed(chosen: Iterable[Family]) -> dict[str, set[str]]:
    """Property title → the variant titles the families need."""
    out: dict[str, set[str]] = {}
    for family in chosen:
        for combo in family.members.values():
            for prop, variant in zip(family.attributes, combo, strict=True):
                out.setdefault(prop, set()).add(variant)
    return out


def variant_ids(family: Family, product_id: str, ids: Mapping[tuple[str, str], int]) -> tuple[int, ...] | None:
    """The variant id of each of a member's choices, or None when one is missing."""
    found = [ids.get((prop, variant)) for prop, variant in zip(family.attributes, family.members[product_id],
                                                               strict=True)]
    return tuple(v for v in found if v is not None) if all(v is not None for v in found) else None


@dataclass(frozen=True)
class GroupRow:
    """What the sync recorded of a family's item group (`models.SyncItemGroup`)."""

    id: int
    source_group_id: str
    item_group_id: int | None
    items: tuple[int, ...]


@dataclass(frozen=True)
class Grouping:
    source_group_id: str
    items: tuple[int, ...]  # the items to send: all of them for a new group, the missing ones otherwise
    existing: int | None  # the item group they join, or None for a new one
    members: tuple[int, ...]  # every item of the family, for the row


def plan_grouping(members: Mapping[str, Sequence[int]], rows: Mapping[str, GroupRow],
                  grouping: Mapping[int, int | None]) -> tuple[list[Grouping], dict[str, int]]:
    """(the item groups to make or extend, the families already grouped whose row needs only writing:
    group id → item group id). `grouping` is each listed item's item group as the target said it
    (None: in none, or not said): it wins over the row, so a run killed after `groupItems` and before
    its row adopts the group instead of grouping again."""
    calls: list[Grouping] = []
    adopted: dict[str, int] = {}
    for gid, items in members.items():
        if len(items) < 2:
            continue
        row = rows.get(gid)
        known = [grouping.get(i) or (row.item_group_id if row is not None and i in row.items else None)
                 for i in items]
        counts = Counter(g for g in known if g is not None)
        existing = (row.item_group_id if row is not None and row.item_group_id in counts
                    else counts.most_common(1)[0][0] if counts else None)
        missing = tuple(i for i, g in zip(items, known, strict=True) if g is None)
        if existing is None:
            calls.append(Grouping(gid, tuple(items), None, tuple(items)))
        elif missing:
            calls.append(Grouping(gid, missing, existing, tuple(items)))
        elif row is None or row.item_group_id != existing or sorted(row.items) != sorted(items):
            adopted[gid] = existing
    return calls, adopted
