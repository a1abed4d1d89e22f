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
from connhub.models import SyncConfig, SyncRun, utcnow
from connhub.sync.albums import ALBUM_MODE_LABELS as ALBUM_MODE_LABELS
from connhub.sync.albums import AlbumMode
from connhub.text import plural

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


def album_note(sessions: sessionmaker[Session], user_id: int) -> str | None:
    """What the last finished run did with the albums (Russian), or None when it did nothing with them."""
    def read(session: Session) -> dict[str, object] | None:
        plan = session.scalar(select(SyncRun.plan).where(SyncRun.user_id == user_id, SyncRun.dry_run.is_(False),
                                                          SyncRun.finished_at.is_not(None))
                              .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1))
        found = plan.get("albums") if isinstance(plan, dict) else None
        return found if isinstance(found, dict) else None

    albums = execute_read(sessions, read)
    if not albums:
        return None
    if albums.get("stopped"):
        return f"Подборки при последнем запуске не обновлены до конца: {albums['stopped']}. Товары выгружены."
    made, placed = int(str(albums.get("made", 0))), int(str(albums.get("placed", 0)))
    return (f"Последний запуск: создано {made} {plural(made, 'подборка', 'подборки', 'подборок')}, "
            f"добавлено в подборки {placed} {plural(placed, 'товар', 'товара', 'товаров')}.")
