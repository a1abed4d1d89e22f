"""Albums from the catalog's groups, decided without writing anything (docs/vk-goods.md, «Shop options»).

`album_of` says which group's album a product goes into: its top-level group (`top`: subgroups
included) or its own group (`leaf`); a modification group counts as its parent. `plan_albums`
compares what is wanted with the `sync_albums` rows and the community's albums and answers an
`AlbumPlan`:

- a row whose album is gone from the community (deleted by hand) is forgotten;
- a row left pending by an interrupted run (no album id) adopts the album of its title, which the
  lost `addAlbum` made (`created`); not found, the album is made again;
- a wanted group without a row adopts the owner's album of the same title (`created` false: never
  deleted, never renamed), or has its album made;
- a group renamed renames the album connhub made; an adopted album is let go and the new title
  adopted or made;
- items are added to and removed from an album by difference with what the row says was put there;
- an album connhub made whose group left the selection is deleted; an adopted one is let go.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connhub.ports.goods import ListedAlbum

TITLE_MAX = 128


class AlbumMode(enum.StrEnum):
    OFF = "off"
    TOP = "top"  # one album per top-level group, its subgroups included
    LEAF = "leaf"  # one album per group that holds products


ALBUM_MODE_LABELS = {
    AlbumMode.OFF: "Не создавать",
    AlbumMode.TOP: "По группам верхнего уровня (с подгруппами)",
    AlbumMode.LEAF: "По конечным группам",
}


@dataclass(frozen=True)
class Group:
    id: str
    parent_id: str | None
    name: str
    modifications: bool = False


@dataclass(frozen=True)
class AlbumRow:
    id: int
    source_group_id: str
    album_id: int | None
    title: str
    created: bool
    items: tuple[int, ...]


@dataclass
class AlbumPlan:
    forget: list[int] = field(default_factory=list)  # row ids
    adopt: list[tuple[int, int, bool]] = field(default_factory=list)  # (row id, album id, created)
    new_rows: list[tuple[str, str]] = field(default_factory=list)  # (group id, title): write pending, then make
    adopt_new: list[tuple[str, str, int]] = field(default_factory=list)  # (group id, title, owner's album id)
    renames: list[tuple[int, int, str]] = field(default_factory=list)  # (row id, album id, title)
    deletes: list[tuple[int, int]] = field(default_factory=list)  # (row id, album id)
    put: dict[str, list[int]] = field(default_factory=dict)  # group id → items to add to its album
    take: dict[str, list[int]] = field(default_factory=dict)  # group id → items to take out of its album

    @property
    def writes(self) -> int:
        return (len(self.new_rows) + len(self.renames) + len(self.deletes) + sum(1 for v in self.put.values() if v)
                + sum(len(v) for v in self.take.values()))


def title_of(name: str) -> str:
    title = " ".join(name.split()) or "Без названия"
    return title[:TITLE_MAX]


def album_of(group_id: str | None, groups: Mapping[str, Group], mode: AlbumMode) -> str | None:
    """The group whose album a product of `group_id` goes into, or None (no group, or albums off)."""
    if mode is AlbumMode.OFF or group_id is None:
        return None
    seen: set[str] = set()
    current = groups.get(group_id)
    while current is not None and current.modifications and current.parent_id is not None:
        current = groups.get(current.parent_id)
    if current is None:
        return None
    if mode is AlbumMode.TOP:
        while current.parent_id is not None and current.parent_id in groups and current.id not in seen:
            seen.add(current.id)
            current = groups[current.parent_id]
    return current.id


def plan_albums(wanted: Mapping[str, tuple[str, Sequence[int]]], rows: Sequence[AlbumRow],
                listed: Sequence[ListedAlbum]) -> AlbumPlan:
    """`wanted`: group id → (album title, the item ids that belong in it)."""
    plan = AlbumPlan()
    present = {album.id for album in listed}
    claimed = {row.album_id for row in rows if row.album_id is not None and row.album_id in present}
    by_title: dict[str, list[int]] = {}
    for album in listed:
        by_title.setdefault(album.title, []).append(album.id)

    def free(title: str) -> int | None:
        found = next((a for a in by_title.get(title, ()) if a not in claimed), None)
        if found is not None:
            claimed.add(found)
        return found

    kept: dict[str, AlbumRow] = {}
    for row in rows:
        if row.album_id is None:  # pending: did the lost addAlbum happen?
            found = free(row.title)
            if found is None:
                plan.forget.append(row.id)
                continue
            plan.adopt.append((row.id, found, True))
            row = AlbumRow(row.id, row.source_group_id, found, row.title, True, ())
        album_id = row.album_id
        if album_id not in present:
            plan.forget.append(row.id)
            continue
        want = wanted.get(row.source_group_id)
        if want is None:
            if row.created:
                plan.deletes.append((row.id, album_id))
            else:
                plan.forget.append(row.id)
            continue
        if want[0] != row.title:
            if not row.created:
                plan.forget.append(row.id)
                continue
            plan.renames.append((row.id, album_id, want[0]))
        kept[row.source_group_id] = row
    for group_id, (title, items) in wanted.items():
        mine = kept.get(group_id)
        if mine is None:
            owners = free(title)
            if owners is not None:
                plan.adopt_new.append((group_id, title, owners))
            else:
                plan.new_rows.append((group_id, title))
            have: set[int] = set()
        else:
            have = set(mine.items)
        plan.put[group_id] = sorted(set(items) - have)
        plan.take[group_id] = sorted(have - set(items))
    return plan
