"""The album phase of a run (`albums.py` decides, this module reads and writes): after the items are
published, each product's item goes into its group's album through the `GoodsTarget`'s album
methods, in batches (one `addToAlbum` an album carries all its new items). A limit of the target
(too many albums, too many items in one) stops this phase with the reason and leaves the items
published; nothing here stops the run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog import queries
from connhub.db import execute_read, execute_write
from connhub.models import CatalogGroup, CatalogProduct, SyncAlbum, SyncItem, SyncItemState
from connhub.ports.goods import GoodsError, GoodsErrorKind, GoodsTarget
from connhub.sync.albums import AlbumMode, AlbumPlan, AlbumRow, Group, album_of, plan_albums, title_of

T = TypeVar("T")


class AlbumsStopped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check(results: Sequence[T | GoodsError]) -> list[T | GoodsError]:
    """Each entry's result; a limit or a lost right stops the phase (ALREADY counts as done)."""
    for result in results:
        if isinstance(result, GoodsError) and result.kind is not GoodsErrorKind.ALREADY:
            if result.stops_run:
                raise AlbumsStopped(result.shown())
    return list(results)


class AlbumRun:
    def __init__(self, sessions: sessionmaker[Session], target: GoodsTarget, *, user_id: int, store_id: str,
                 group_id: int, connection_id: int, say: Callable[[str], None]) -> None:
        self.sessions, self.target, self.say = sessions, target, say
        self.user_id, self.store_id, self.group_id, self.connection_id = user_id, store_id, group_id, connection_id

    def run(self, mode: AlbumMode, product_ids: Sequence[str]) -> dict[str, object]:
        """Bring the albums in line; answers what was done (for the run's record)."""
        if mode is AlbumMode.OFF:
            return {}
        try:
            wanted = execute_read(self.sessions, lambda s: self._wanted(s, mode, product_ids))
            rows = execute_read(self.sessions, self._rows)
            plan = plan_albums(wanted, rows, self.target.albums(self.group_id))
            self._apply(plan, wanted)
        except AlbumsStopped as stop:
            self.say(f"Подборки: остановлено — {stop.reason}; товары выгружены")
            return {"stopped": stop.reason}
        except GoodsError as error:
            self.say(f"Подборки не обновлены: {error.shown()}; товары выгружены")
            return {"stopped": error.shown()}
        return {"made": len(plan.new_rows), "renamed": len(plan.renames), "deleted": len(plan.deletes),
                "placed": sum(len(v) for v in plan.put.values()), "taken": sum(len(v) for v in plan.take.values())}

    # --- reading ------------------------------------------------------------------------------------

    def _wanted(self, session: Session, mode: AlbumMode, product_ids: Sequence[str],
                ) -> dict[str, tuple[str, list[int]]]:
        snapshot = queries.current_snapshot(session, self.user_id, self.connection_id, self.store_id)
        if snapshot is None:
            return {}
        groups = {g.id: Group(g.id, g.parent_id, g.name, g.is_modification_group)
                  for g in session.scalars(select(CatalogGroup).where(CatalogGroup.snapshot_id == snapshot.id))}
        of_product = dict(session.execute(select(CatalogProduct.id, CatalogProduct.group_id)
                                          .where(CatalogProduct.snapshot_id == snapshot.id)).all())
        items = dict(session.execute(
            select(SyncItem.product_id, SyncItem.vk_item_id).where(
                SyncItem.user_id == self.user_id, SyncItem.store_id == self.store_id,
                SyncItem.group_id == self.group_id, SyncItem.state == SyncItemState.SYNCED,
                SyncItem.vk_item_id.is_not(None))).all())
        wanted: dict[str, tuple[str, list[int]]] = {}
        for product_id in product_ids:
            album = album_of(of_product.get(product_id), groups, mode)
            item_id = items.get(product_id)
            if album is not None and item_id is not None:
                wanted.setdefault(album, (title_of(groups[album].name), []))[1].append(item_id)
        return wanted

    def _rows(self, session: Session) -> list[AlbumRow]:
        return [AlbumRow(r.id, r.source_group_id, r.album_id, r.title, r.created, tuple(r.items or ()))
                for r in session.scalars(select(SyncAlbum).where(*self._mine()))]

    def _mine(self) -> tuple[ColumnElement[bool], ...]:
        return (SyncAlbum.user_id == self.user_id, SyncAlbum.store_id == self.store_id,
                SyncAlbum.group_id == self.group_id)

    # --- writing ------------------------------------------------------------------------------------

    def _update(self, row_id: int, **values: object) -> None:
        def write(session: Session) -> None:
            row = session.get(SyncAlbum, row_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)
        execute_write(self.sessions, write)

    def _apply(self, plan: AlbumPlan, wanted: Mapping[str, tuple[str, list[int]]]) -> None:
        community = self.group_id
        if plan.forget:
            execute_write(self.sessions, lambda s: s.execute(delete(SyncAlbum).where(SyncAlbum.id.in_(plan.forget))))
        for row_id, album_id, created in plan.adopt:
            self._update(row_id, album_id=album_id, created=created, items=[])
        rows = self._add_rows([(g, t, None) for g, t in plan.new_rows] + [(g, t, a) for g, t, a in plan.adopt_new])
        made = [(rows[g], t) for g, t in plan.new_rows]
        if made:
            ids = self.target.add_albums(community, [t for _, t in made])
            for (row_id, _), answer in zip(made, ids, strict=True):
                if isinstance(answer, int):
                    self._update(row_id, album_id=answer, created=True)
            _check(ids)
        if plan.renames:
            _check(self.target.rename_albums(community, [(a, t) for _, a, t in plan.renames]))
            for row_id, _, title in plan.renames:
                self._update(row_id, title=title)
        if plan.deletes:
            _check(self.target.delete_albums(community, [a for _, a in plan.deletes]))
            deleted = [row_id for row_id, _ in plan.deletes]
            execute_write(self.sessions, lambda s: s.execute(delete(SyncAlbum).where(SyncAlbum.id.in_(deleted))))
        current = {r.source_group_id: r for r in execute_read(self.sessions, self._rows)}
        placements = [(g, current[g]) for g, items in plan.put.items() if items and g in current
                      and current[g].album_id is not None]
        if placements:
            _check(self.target.add_to_albums(community, [(r.album_id or 0, plan.put[g]) for g, r in placements]))
        removals = [(g, current[g], item) for g, items in plan.take.items() for item in items
                    if g in current and current[g].album_id is not None]
        if removals:
            _check(self.target.remove_from_albums(community, [(r.album_id or 0, i) for _, r, i in removals]))
        for group_id, row in current.items():
            if group_id in wanted and row.album_id is not None and sorted(row.items) != sorted(wanted[group_id][1]):
                self._update(row.id, items=sorted(wanted[group_id][1]))

    def _add_rows(self, new: Sequence[tuple[str, str, int | None]]) -> dict[str, int]:
        """Rows written before the albums are made (pending) or for the owner's albums adopted."""
        if not new:
            return {}

        def write(session: Session) -> dict[str, int]:
            made = {}
            for group_id, title, album_id in new:
                row = SyncAlbum(user_id=self.user_id, store_id=self.store_id, group_id=self.group_id,
                                source_group_id=group_id, album_id=album_id, title=title, created=False, items=[])
                session.add(row)
                session.flush()
                made[group_id] = row.id
            return made
        return execute_write(self.sessions, write)
