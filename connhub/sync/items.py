"""The mapping table: which target item connhub made for which catalog product (`models.SyncItem`).

Rows are scoped by user, store and community. Every write commits at once: a run can be killed
at any instant, and what is in this table is what the next run trusts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import write_locked
from connhub.models import SyncItem, SyncItemState, SyncPhoto


def rows_for(session: Session, user_id: int, store_id: str, group_id: int) -> dict[str, SyncItem]:
    """product id → its row, for one user's store and community."""
    rows = session.scalars(select(SyncItem).where(SyncItem.user_id == user_id, SyncItem.store_id == store_id,
                                                  SyncItem.group_id == group_id)).all()
    return {row.product_id: row for row in rows}


def mark_pending(sessions: sessionmaker[Session], user_id: int, store_id: str, group_id: int,
                 pending: Mapping[str, dict[str, Any]]) -> None:
    """Before an add: each product's row exists and says an add may be under way. `pending` maps
    each product id to what the row keeps meanwhile (`plan.NOT_OURS`: the items that carried its
    sku before the add, which a later run must never adopt)."""
    with write_locked(sessions) as session:
        existing = rows_for(session, user_id, store_id, group_id)
        for product_id, fields in pending.items():
            row = existing.get(product_id)
            if row is None:
                session.add(SyncItem(user_id=user_id, store_id=store_id, product_id=product_id, group_id=group_id,
                                     state=SyncItemState.PENDING, fingerprint="", fields=dict(fields)))
            else:
                row.state, row.vk_item_id, row.fingerprint = SyncItemState.PENDING, None, ""
                row.fields = dict(fields)
        session.commit()


def complete(sessions: sessionmaker[Session], user_id: int, store_id: str, group_id: int,
             done: Mapping[str, tuple[int, str, dict[str, Any], str | None]], *,
             state: SyncItemState = SyncItemState.SYNCED) -> None:
    """After a successful add or edit: product id → (VK item id, fingerprint, fields sent, image key)."""
    if not done:
        return
    with write_locked(sessions) as session:
        existing = rows_for(session, user_id, store_id, group_id)
        for product_id, (item_id, fingerprint, fields, image_key) in done.items():
            row = existing.get(product_id)
            if row is None:
                row = SyncItem(user_id=user_id, store_id=store_id, product_id=product_id, group_id=group_id)
                session.add(row)
            row.vk_item_id, row.state, row.fingerprint = item_id, state, fingerprint
            row.fields, row.image_key = dict(fields), image_key
        session.commit()


def adopt(sessions: sessionmaker[Session], row_id: int, item_id: int) -> None:
    """A pending row whose item was found on VK by its sku: the add happened. The fingerprint is
    left unknown, so the item gets one edit with the full field set."""
    with write_locked(sessions) as session:
        row = session.get(SyncItem, row_id)
        if row is not None:
            row.vk_item_id, row.state, row.fingerprint = item_id, SyncItemState.SYNCED, ""
            session.commit()


def set_state(sessions: sessionmaker[Session], row_ids: Iterable[int], state: SyncItemState, *,
              fingerprint: str | None = None) -> None:
    ids = list(row_ids)
    if not ids:
        return
    with write_locked(sessions) as session:
        for row in session.scalars(select(SyncItem).where(SyncItem.id.in_(ids))):
            row.state = state
            if fingerprint is not None:
                row.fingerprint = fingerprint
        session.commit()


def forget(sessions: sessionmaker[Session], row_ids: Iterable[int]) -> None:
    """Drop rows: their items were deleted on VK (by the sync's policy or by hand)."""
    ids = list(row_ids)
    if ids:
        with write_locked(sessions) as session:
            session.execute(delete(SyncItem).where(SyncItem.id.in_(ids)))
            session.commit()


# --- photos -------------------------------------------------------------------------------------


def photo_ids(session: Session, group_id: int, keys: Iterable[str]) -> dict[str, int]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = session.execute(select(SyncPhoto.image_key, SyncPhoto.photo_id).where(
        SyncPhoto.group_id == group_id, SyncPhoto.image_key.in_(wanted))).all()
    return {key: int(photo_id) for key, photo_id in rows}


def remember_photos(sessions: sessionmaker[Session], group_id: int, photos: Mapping[str, int]) -> None:
    if not photos:
        return
    with write_locked(sessions) as session:
        known = photo_ids(session, group_id, photos)
        for key, photo_id in photos.items():
            if key not in known:
                session.add(SyncPhoto(group_id=group_id, image_key=key, photo_id=photo_id))
        session.commit()


def forget_photo(sessions: sessionmaker[Session], group_id: int, key: str) -> None:
    with write_locked(sessions) as session:
        session.execute(delete(SyncPhoto).where(SyncPhoto.group_id == group_id, SyncPhoto.image_key == key))
        session.commit()
