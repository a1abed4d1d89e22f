"""The VK shop options of a user's sync (docs/vk-goods.md, «Shop options»), kept apart from the
rest of the configuration: «Передавать остаток» (send Evotor's quantity of the chosen store as the
item's `stock_amount`) and «Подборки во ВКонтакте» (albums from the catalog's groups, `albums.py`).
Both off by default.

Functions taking a `Session` never commit; `get_options` and `save_options` are the page's door
(one read, one write transaction through `db.execute_write`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_read, execute_write
from connhub.models import SyncConfig, utcnow
from connhub.sync.albums import ALBUM_MODE_LABELS as ALBUM_MODE_LABELS
from connhub.sync.albums import AlbumMode

ALBUMS_LABEL = "Подборки во ВКонтакте"
ALBUMS_HELP = ("Подборки создаются из групп Эвотор: своя подборка у каждой группы верхнего уровня (с товарами "
               "подгрупп) или у каждой конечной группы. Подборка с тем же названием, созданная вами, "
               "используется, а не создаётся вторая; удаляются только подборки, созданные синхронизацией. "
               "Нужно право «Товары» у ключа ВКонтакте.")
STOCK_LABEL = "Передавать остаток"
STOCK_HELP = ("Остаток во ВКонтакте = количество товара в выбранном магазине Эвотор, округлённое вниз "
              "(отрицательное — 0, не больше 999 999). Количество в Эвоторе верно, только если учёт "
              "остатков ведётся в Эвоторе. Изменение одного остатка — одна правка товара.")


@dataclass(frozen=True)
class ShopOptions:
    send_stock: bool = False
    album_mode: AlbumMode = AlbumMode.OFF


def read_options(session: Session, user_id: int) -> ShopOptions:
    """The user's options (the defaults when the sync is not configured yet)."""
    found = session.execute(select(SyncConfig.send_stock, SyncConfig.album_mode)
                            .where(SyncConfig.user_id == user_id)).first()
    if found is None:
        return ShopOptions()
    stock, albums = found
    return ShopOptions(send_stock=bool(stock),
                       album_mode=AlbumMode(albums) if albums in set(AlbumMode) else AlbumMode.OFF)


def get_options(sessions: sessionmaker[Session], user_id: int) -> ShopOptions:
    return execute_read(sessions, lambda session: read_options(session, user_id))


def save_options(sessions: sessionmaker[Session], user_id: int, options: ShopOptions) -> bool:
    """Store the options; False when the user has no sync configuration yet (save it first)."""
    def write(session: Session) -> bool:
        row = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
        if row is None:
            return False
        if (row.send_stock, row.album_mode) != (options.send_stock, options.album_mode.value):
            row.send_stock, row.album_mode = options.send_stock, options.album_mode.value
            row.updated_at = utcnow()
        return True

    return execute_write(sessions, write)
