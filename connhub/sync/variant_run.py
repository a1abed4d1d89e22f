"""The variants phase of a run (`variants.py` decides, this module reads and writes): with the shop
option on, before the plan, the community's properties are listed and the ones the modification
groups need are adopted by title or made (`sync_variants`, the row written before the call), and
each modification of a group that qualifies gets its variants and its group's name for a title
(`mapping.as_variant`); after publishing, `group` puts each group's items into one item group
(`sync_item_groups`). A market without variants (NOT_OFFERED) or any refusal here leaves the
modifications separate items with the choices in their titles, says why, and the run goes on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_read, execute_write
from connhub.models import SyncItem, SyncItemGroup, SyncItemState, SyncVariant
from connhub.ports.goods import GoodsError, GoodsErrorKind, GoodsTarget, ListedItem
from connhub.sync.mapping import ProductFacts, as_variant
from connhub.sync.plan import Wanted
from connhub.sync.variants import Family, GroupRow, families, needed, plan_grouping, variant_ids

NOT_OFFERED_NOTE = "в сообществе не включён расширенный магазин — модификации выгружены отдельными товарами"


class VariantsOff(Exception):
    def __init__(self, reason: str, not_offered: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_offered = not_offered


def _stop(error: GoodsError) -> VariantsOff:
    return VariantsOff(NOT_OFFERED_NOTE if error.kind is GoodsErrorKind.NOT_OFFERED else error.shown(),
                       not_offered=error.kind is GoodsErrorKind.NOT_OFFERED)


class VariantRun:
    def __init__(self, sessions: sessionmaker[Session], target: GoodsTarget, *, user_id: int, store_id: str,
                 group_id: int, say: Callable[[str], None], checkpoint: Callable[[str], None]) -> None:
        self.sessions, self.target, self.say, self.checkpoint = sessions, target, say, checkpoint
        self.user_id, self.store_id, self.group_id = user_id, store_id, group_id
        self.chosen: dict[str, Family] = {}  # the families published as variants this run
        self.record: dict[str, Any] = {}  # for the run's plan (`plan["variants"]`) and the page
        self._refused = ""  # the first refusal of a property or variant, for the reason said

    # --- before the plan ------------------------------------------------------------------------------

    def prepare(self, wanted: Mapping[str, Wanted], facts: Mapping[str, ProductFacts], *, write: bool) -> None:
        """Each modification of a qualifying group as a variant (its `Wanted.item` replaced); the
        others stay as mapped. `write` False (a dry run) makes nothing: missing ids read as 0."""
        found = families(facts[pid] for pid in wanted if pid in facts)
        if not found:
            return
        separate = [{"name": f.name, "why": f.problem} for f in found.values() if f.problem]
        good = {gid: f for gid, f in found.items() if not f.problem}
        self.record = {"separate": separate}
        if not good:
            self._line()
            return
        try:
            ids = self._ids(needed(good.values()), write=write)
        except VariantsOff as off:
            self.record = {"separate": separate, "stopped": off.reason, "not_offered": off.not_offered}
            self.say(f"Модификации: {off.reason}" if off.not_offered else
                     f"Модификации выгружены отдельными товарами: {off.reason}")
            return
        for gid, family in good.items():
            chosen = {pid: variant_ids(family, pid, ids) for pid in family.members}
            if any(v is None for v in chosen.values()):
                separate.append({"name": family.name, "why": "свойство не создано"})
                continue
            for pid, vids in chosen.items():
                w = wanted[pid]
                w.item = as_variant(w.item, facts[pid], vids or ())
            self.chosen[gid] = family
        self.record = {"variants": len(self.chosen), "separate": separate}
        self._line()

    def _line(self) -> None:
        parts = [f"товарами с вариантами: {len(self.chosen)}"] if self.chosen else []
        parts += [f"«{s['name']}» отдельными товарами ({s['why']})" for s in self.record.get("separate", [])]
        if parts:
            self.say("Модификации: " + "; ".join(parts))

    def _ids(self, wants: Mapping[str, set[str]], *, write: bool) -> dict[tuple[str, str], int]:
        """(property, variant) → variant id, every one listed or made."""
        try:
            listed = self.target.properties(self.group_id)
        except GoodsError as error:
            if error.kind is GoodsErrorKind.NOT_OFFERED:
                raise _stop(error) from None
            stored = execute_read(self.sessions, lambda s: {k: r.target_id for k, r in self._rows(s).items()
                                                             if r.target_id is not None})
            pairs = [(t, v) for t in wants for v in wants[t]]
            if not all((t, "") in stored and (t, v) in stored for t, v in pairs):
                raise _stop(error) from None
            # the items keep the variants they have: no run flips them to separate items and back
            self.say(f"Свойства ВКонтакте не прочитаны ({error.shown()}): использованы записанные")
            return {pair: stored[pair] for pair in pairs}
        props = {p.title: p for p in reversed(listed)}  # the first of a title wins
        missing = sorted(t for t in wants if t not in props)
        made = self._make(missing, [("", t) for t in missing], self.target.add_properties, write=write)
        if write and any(made.get(t) is None for t in missing):  # refused: stop; the next run tries again
            raise VariantsOff(f"ВКонтакте не создал свойство: {self._refused}")
        prop_ids = {t: (props[t].id if t in props else made.get(t) or 0) for t in wants}
        if write:
            self._adopt([(t, "", prop_ids[t]) for t in wants if t in props])
        known = {t: dict(props[t].variants) if t in props else {} for t in wants}
        lacking = [(t, v) for t in sorted(wants) for v in sorted(wants[t]) if v not in known[t]]
        got = self._make([f"{t}\x00{v}" for t, v in lacking], lacking,
                         lambda community, entries: self.target.add_variants(
                             community, [(prop_ids[t], v) for t, v in entries]), write=write)
        if write and any(got.get(f"{t}\x00{v}") is None for t, v in lacking):
            raise VariantsOff(f"ВКонтакте не создал вариант: {self._refused}")
        if write:
            self._adopt([(t, v, known[t][v]) for t in wants for v in wants[t] if v in known[t]])
        return {(t, v): known[t].get(v) or got.get(f"{t}\x00{v}") or 0 for t in wants for v in wants[t]}

    def _make(self, keys: Sequence[str], entries: Sequence[tuple[str, str]],
              call: Callable[[int, Sequence[Any]], list[int | GoodsError]], *, write: bool) -> dict[str, int]:
        """Properties (`entries` ("", title)) or variants ((property, title)) made, each row written
        pending first: key → new id."""
        if not entries or not write:
            return {}
        rows = [(t, "") if not p else (p, t) for p, t in entries]
        self._pending(rows)
        self.checkpoint("before_add_variant" if entries[0][0] else "before_add_property")
        try:
            answers = call(self.group_id, [t for _, t in entries] if not entries[0][0] else list(entries))
        except GoodsError as error:
            raise _stop(error) from None
        self.checkpoint("after_add_variant" if entries[0][0] else "after_add_property")
        out: dict[str, int] = {}
        for key, row, answer in zip(keys, rows, answers, strict=True):
            if isinstance(answer, int):
                out[key] = answer
                self._set(row, answer, created=True)
            elif answer.kind is GoodsErrorKind.NOT_OFFERED or answer.stops_run:
                raise _stop(answer)
            else:
                self._refused = self._refused or answer.shown()
        return out

    # --- rows ---------------------------------------------------------------------------------------

    def _pending(self, rows: Sequence[tuple[str, str]]) -> None:
        def write(session: Session) -> None:
            have = self._rows(session)
            for prop, variant in rows:
                if (prop, variant) not in have:
                    session.add(SyncVariant(user_id=self.user_id, group_id=self.group_id, property=prop,
                                            variant=variant, target_id=None, created=False))
        execute_write(self.sessions, write)

    def _set(self, key: tuple[str, str], target_id: int, *, created: bool) -> None:
        def write(session: Session) -> None:
            row = self._rows(session).get(key)
            if row is None:
                session.add(SyncVariant(user_id=self.user_id, group_id=self.group_id, property=key[0],
                                        variant=key[1], target_id=target_id, created=created))
            elif row.target_id != target_id:
                row.target_id, row.created = target_id, created or row.target_id is None
        execute_write(self.sessions, write)

    def _adopt(self, found: Sequence[tuple[str, str, int]]) -> None:
        """Listed ones recorded: a pending row's (its lost add made it) counts as made by connhub."""
        def write(session: Session) -> None:
            have = self._rows(session)
            for prop, variant, target_id in found:
                row = have.get((prop, variant))
                if row is None:
                    session.add(SyncVariant(user_id=self.user_id, group_id=self.group_id, property=prop,
                                            variant=variant, target_id=target_id, created=False))
                elif row.target_id != target_id:
                    row.created = row.target_id is None or row.created
                    row.target_id = target_id
        if found:
            execute_write(self.sessions, write)

    def _rows(self, session: Session) -> dict[tuple[str, str], SyncVariant]:
        return {(r.property, r.variant): r for r in session.scalars(select(SyncVariant).where(
            SyncVariant.user_id == self.user_id, SyncVariant.group_id == self.group_id))}

    # --- after publishing -----------------------------------------------------------------------------

    def group(self, listed: Sequence[ListedItem]) -> None:
        """Each chosen family's published items into one item group (≥ 2 items); never twice."""
        if not self.chosen:
            return
        members, rows = execute_read(self.sessions, self._members)
        calls, adopted = plan_grouping(members, rows, {item.id: item.grouping for item in listed})
        made = 0
        try:  # one batch: the target sends them through `execute`, 25 a request
            answers: list[int | GoodsError] = self.target.group_items(
                self.group_id, [(call.items, call.existing) for call in calls]) if calls else []
        except GoodsError as error:
            answers = [error] * len(calls)
        for call, answer in zip(calls, answers, strict=True):
            if isinstance(answer, GoodsError):
                self.say(f"Модификации «{self.chosen[call.source_group_id].name}» не объединены: {answer.shown()}")
                self.record.setdefault("group_failed", []).append(self.chosen[call.source_group_id].name)
                continue
            self.checkpoint("after_group")
            adopted[call.source_group_id] = answer
            made += 1
        self._groups(adopted, members)
        self.record["grouped"] = made

    def _members(self, session: Session) -> tuple[dict[str, list[int]], dict[str, GroupRow]]:
        items = dict(session.execute(select(SyncItem.product_id, SyncItem.vk_item_id).where(
            SyncItem.user_id == self.user_id, SyncItem.store_id == self.store_id, SyncItem.group_id == self.group_id,
            SyncItem.state == SyncItemState.SYNCED, SyncItem.vk_item_id.is_not(None))).all())
        members = {gid: [found for pid in family.members if (found := items.get(pid)) is not None]
                   for gid, family in self.chosen.items()}
        rows = {r.source_group_id: GroupRow(r.id, r.source_group_id, r.item_group_id, tuple(r.items or ()))
                for r in session.scalars(select(SyncItemGroup).where(*self._mine()))}
        return members, rows

    def _mine(self) -> tuple[Any, ...]:
        return (SyncItemGroup.user_id == self.user_id, SyncItemGroup.store_id == self.store_id,
                SyncItemGroup.group_id == self.group_id)

    def _groups(self, grouped: Mapping[str, int], members: Mapping[str, list[int]]) -> None:
        if not grouped:
            return

        def write(session: Session) -> None:
            rows = {r.source_group_id: r for r in session.scalars(select(SyncItemGroup).where(*self._mine()))}
            for gid, item_group_id in grouped.items():
                row = rows.get(gid)
                if row is None:
                    session.add(SyncItemGroup(user_id=self.user_id, store_id=self.store_id, group_id=self.group_id,
                                              source_group_id=gid, item_group_id=item_group_id,
                                              items=sorted(members[gid])))
                else:
                    row.item_group_id, row.items = item_group_id, sorted(members[gid])
        execute_write(self.sessions, write)
