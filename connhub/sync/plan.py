"""The plan: what a run adds, edits, hides, deletes and adopts, decided without writing anything.

`make_plan` compares the products in the sync (`Wanted`), the mapping table's rows (`Row`) and the
items the target lists, and answers a `Plan`; the run applies its `adopt` and `forget` lists and
the publisher its writes. A dry run shows the same plan and applies nothing.

- A mapped item gone from the target (deleted by hand) is forgotten and its product added again.
- A row left `pending` by an interrupted run (no item id) is matched by `sku`: an item with the
  product's sku that was not there when the add was recorded (`Row.not_ours`, the ids of the items
  that already carried that sku) is the lost add's item, and is adopted; any other item carrying
  the sku is someone else's and never adopted. Not found, the product is added again, but only
  once the lost add can no longer land: `in_flight_wait` says how long the run waits for that (a
  process killed mid-request leaves its request at the target, which may still carry it out).
- Items without a row (made by anyone else) are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connhub.models import SyncItemState
from connhub.ports.goods import ListedItem
from connhub.ports.images import ImageRef
from connhub.sync.hand_edits import HandEdits, changed_by_hand
from connhub.sync.mapping import Skipped, VkItem
from connhub.sync.policies import RemovedPolicy

NOT_OURS = "not_ours"  # in a pending row's fields: ids of items that carried its sku before the add


@dataclass
class Wanted:
    """One product in the sync, as it should look at the target."""

    product_id: str
    title: str  # for people: the catalog's name
    item: VkItem
    image: ImageRef | None = None
    photo_id: int | None = None


@dataclass(frozen=True)
class Row:
    """A mapping table row as the plan reads it (`models.SyncItem`)."""

    id: int
    product_id: str
    item_id: int | None  # None: pending, an add may have happened
    state: str
    fingerprint: str
    fields: Mapping[str, Any]
    written_at: datetime | None = None  # for a pending row: when its add was about to be sent

    @property
    def not_ours(self) -> frozenset[int]:
        found = self.fields.get(NOT_OURS) if self.item_id is None else None
        return frozenset(int(i) for i in found if isinstance(i, int)) if isinstance(found, list) else frozenset()

    @property
    def title(self) -> str:
        return str(self.fields.get("name") or self.product_id)


@dataclass
class Plan:
    adds: list[Wanted] = field(default_factory=list)
    edits: list[tuple[Row, Wanted]] = field(default_factory=list)
    hides: list[Row] = field(default_factory=list)
    deletes: list[Row] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # product id, title, reason
    names: dict[str, str] = field(default_factory=dict)  # product id → title, for reports
    adopt: list[tuple[int, int]] = field(default_factory=list)  # (row id, item id): a lost add found
    forget: list[int] = field(default_factory=list)  # row ids whose items are gone from the target
    taken_skus: dict[str, tuple[int, ...]] = field(default_factory=dict)  # product id → items with its sku now
    hand_edited: list[tuple[str, str]] = field(default_factory=list)  # (product id, what changed) at the target
    hand_deleted: list[str] = field(default_factory=list)  # product ids whose items were deleted by hand, left so

    def summary(self) -> dict[str, Any]:
        """The lists a dry run shows (product id and name each)."""
        def named(ids: Iterable[str]) -> list[dict[str, str]]:
            return [{"product_id": pid, "name": self.names.get(pid, pid)} for pid in ids]
        return {
            "add": named(w.product_id for w in self.adds),
            "change": named(w.product_id for _, w in self.edits),
            "hide": named(row.product_id for row in self.hides),
            "delete": named(row.product_id for row in self.deletes),
            "unchanged": len(self.unchanged),
            "skip": [{"product_id": pid, "name": title, "reason": reason} for pid, title, reason in self.skipped],
            **({"hand_edited": [{"product_id": pid, "name": self.names.get(pid, pid), "what": what}
                                for pid, what in self.hand_edited]} if self.hand_edited else {}),
            **({"hand_deleted": named(self.hand_deleted)} if self.hand_deleted else {}),
        }

    @property
    def writes(self) -> int:
        return len(self.adds) + len(self.edits) + len(self.hides) + len(self.deletes)

    def line(self) -> str:
        return (f"План: добавить {len(self.adds)}, изменить {len(self.edits)}, скрыть {len(self.hides)}, "
                f"удалить {len(self.deletes)}, без изменений {len(self.unchanged)}, пропустить {len(self.skipped)}")


def in_flight_wait(rows: Iterable[Row], listed: Iterable[ListedItem], now: datetime, write_deadline: float) -> float:
    """Seconds until no add of an interrupted run can still land: 0 when every pending row's item is
    listed or its add was sent longer than `write_deadline` seconds ago."""
    with_sku: dict[str, set[int]] = {}
    for item in listed:
        if item.sku:
            with_sku.setdefault(item.sku, set()).add(item.id)
    waits = [write_deadline - (now - row.written_at).total_seconds() for row in rows
             if row.item_id is None and row.written_at is not None
             and not with_sku.get(row.product_id, set()) - row.not_ours]
    return max([0.0, *waits])


def make_plan(wanted: Mapping[str, Wanted], skipped: Sequence[tuple[Skipped, str]], rows: Mapping[str, Row],
              listed: Sequence[ListedItem], on_removed: RemovedPolicy,
              hand_edits: HandEdits = HandEdits.OVERWRITE) -> Plan:
    """The plan for one run; `skipped` pairs each skipped product with its title."""
    plan = Plan()
    plan.names = {pid: w.title for pid, w in wanted.items()} | {s.product_id: title for s, title in skipped}
    present = {item.id for item in listed}
    looks = {item.id: item.looks for item in listed}
    leave = hand_edits is HandEdits.LEAVE
    left_alone: set[str] = set()  # products the owner changed or deleted by hand: no write under LEAVE
    claimed = {row.item_id for row in rows.values() if row.item_id is not None}
    with_sku: dict[str, list[int]] = {}
    for item in listed:
        if item.sku:
            with_sku.setdefault(item.sku, []).append(item.id)
    current: dict[str, int | None] = {}  # product id → its item id after adoption and forgetting
    for product_id, row in rows.items():
        if row.item_id is None:  # pending: did the add happen before the run was cut short?
            found = next((i for i in with_sku.get(product_id, ()) if i not in claimed and i not in row.not_ours), None)
            if found is not None:
                plan.adopt.append((row.id, found))
                claimed.add(found)
            current[product_id] = found
        elif row.item_id not in present:  # deleted at the target by hand: made again if still wanted
            if leave and row.state == SyncItemState.SYNCED:
                plan.hand_deleted.append(product_id)
                left_alone.add(product_id)
                current[product_id] = row.item_id
                continue
            plan.forget.append(row.id)
            current[product_id] = None
        else:
            current[product_id] = row.item_id
            what = changed_by_hand(looks.get(row.item_id), row.fields) if row.state == SyncItemState.SYNCED else []
            if what:
                plan.hand_edited.append((product_id, ", ".join(what)))
                if leave:
                    left_alone.add(product_id)
    adopted = {row_id for row_id, _ in plan.adopt}
    by_hand = {pid for pid, _ in plan.hand_edited}
    for product_id, want in wanted.items():
        mapped = rows.get(product_id)
        item_id = current.get(product_id)
        if product_id in left_alone:
            continue
        if mapped is None or item_id is None:
            plan.adds.append(want)
            plan.taken_skus[product_id] = tuple(with_sku.get(product_id, ()))
        elif mapped.id in adopted:  # its fields are unknown: one edit with the full set
            plan.edits.append((Row(mapped.id, product_id, item_id, SyncItemState.SYNCED, "", {}), want))
        elif (mapped.state == SyncItemState.SYNCED and mapped.fingerprint == want.item.fingerprint
              and product_id not in by_hand):
            plan.unchanged.append(product_id)
        else:
            plan.edits.append((mapped, want))
    plan.skipped = [(s.product_id, title, s.message) for s, title in skipped]
    for product_id, row in rows.items():
        if product_id in wanted or current.get(product_id) is None or product_id in left_alone:
            continue
        if row.id in adopted:
            row = Row(row.id, product_id, current[product_id], SyncItemState.SYNCED, "", {})
        if on_removed is RemovedPolicy.DELETE:
            plan.deletes.append(row)
        elif row.state != SyncItemState.HIDDEN:
            plan.hides.append(row)
    return plan
