"""The VK shop options of a user's sync (docs/vk-goods.md, «Shop options»), kept apart from the
rest of the configuration: «Передавать остаток» (send Evotor's quantity of the chosen store as the
item's `stock_amount`) and «Подборки во ВКонтакте» (albums from the catalog's groups, `albums.py`).
Both off by default.

Functions taking a `Session` never commit; `get_options` and `save_options` are the page's door
(one read, one write transaction through `db.execute_write`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_read, execute_write
from connhub.models import SyncConfig, SyncRun, utcnow
from connhub.runtime import Runtime
from connhub.sync.albums import ALBUM_MODE_LABELS as ALBUM_MODE_LABELS
from connhub.sync.albums import AlbumMode
from connhub.sync.hand_edits import HAND_EDIT_LABELS as HAND_EDIT_LABELS
from connhub.sync.hand_edits import HandEdits
from connhub.sync.variant_run import NOT_OFFERED_NOTE
from connhub.text import plural

ALBUMS_LABEL = "Подборки во ВКонтакте"
ALBUMS_HELP = ("Подборки создаются из групп Эвотор: своя подборка у каждой группы верхнего уровня (с товарами "
               "подгрупп) или у каждой конечной группы. Подборка с тем же названием, созданная вами, "
               "используется, а не создаётся вторая; удаляются только подборки, созданные синхронизацией. "
               "Нужно право «Товары» у ключа ВКонтакте.")
HAND_LABEL = "Товар изменён во ВКонтакте вручную"
HAND_HELP = ("Каждый запуск сравнивает название, описание и цену товара во ВКонтакте с тем, что записала "
             "синхронизация. Товары, созданные не синхронизацией, не трогаются никогда.")
STOCK_LABEL = "Передавать остаток"
STOCK_HELP = ("Остаток во ВКонтакте = количество товара в выбранном магазине Эвотор, округлённое вниз "
              "(отрицательное — 0, не больше 999 999). Количество в Эвоторе верно, только если учёт "
              "остатков ведётся в Эвоторе. Изменение одного остатка — одна правка товара.")


VARIANTS_LABEL = "Модификации как варианты товара во ВКонтакте"
VARIANTS_HELP = ("Модификации группы Эвотор с одним или двумя свойствами (например, цвет и размер) выгружаются "
                 "одним товаром с вариантами: название — имя группы, выбор — варианты. Нужен расширенный магазин "
                 "ВКонтакте («Магазин 2.0»). Группы с тремя и более свойствами, группы, где в выгрузке меньше "
                 "двух модификаций или сочетания свойств повторяются, а также все модификации в сообществе без "
                 "расширенного магазина выгружаются отдельными товарами с выбором в названии.")


@dataclass(frozen=True)
class ShopOptions:
    send_stock: bool = False
    album_mode: AlbumMode = AlbumMode.OFF
    hand_edits: HandEdits = HandEdits.OVERWRITE
    variants: bool = False  # modifications as the target's variants (variant_run.py)


def read_options(session: Session, user_id: int) -> ShopOptions:
    """The user's options (the defaults when the sync is not configured yet)."""
    found = session.execute(select(SyncConfig.send_stock, SyncConfig.album_mode, SyncConfig.hand_edits,
                                   SyncConfig.variants).where(SyncConfig.user_id == user_id)).first()
    if found is None:
        return ShopOptions()
    stock, albums, hand, variants = found
    return ShopOptions(send_stock=bool(stock),
                       album_mode=AlbumMode(albums) if albums in set(AlbumMode) else AlbumMode.OFF,
                       hand_edits=HandEdits(hand) if hand in set(HandEdits) else HandEdits.OVERWRITE,
                       variants=bool(variants))


def get_options(sessions: sessionmaker[Session], user_id: int) -> ShopOptions:
    return execute_read(sessions, lambda session: read_options(session, user_id))


def save_options(sessions: sessionmaker[Session], user_id: int, options: ShopOptions) -> bool:
    """Store the options; False when the user has no sync configuration yet (save it first)."""
    def write(session: Session) -> bool:
        row = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
        if row is None:
            return False
        wanted = (options.send_stock, options.album_mode.value, options.hand_edits.value, options.variants)
        if (row.send_stock, row.album_mode, row.hand_edits, row.variants) != wanted:
            row.send_stock, row.album_mode, row.hand_edits, row.variants = wanted
            row.updated_at = utcnow()
        return True

    return execute_write(sessions, write)


def _last_plan(sessions: sessionmaker[Session], user_id: int) -> dict[str, Any]:
    """The plan record of the user's last finished run that was not a dry run ({} when none)."""
    def read(session: Session) -> dict[str, Any]:
        plan = session.scalar(select(SyncRun.plan).where(SyncRun.user_id == user_id, SyncRun.dry_run.is_(False),
                                                          SyncRun.finished_at.is_not(None))
                              .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1))
        return plan if isinstance(plan, dict) else {}

    return execute_read(sessions, read)


def album_note(sessions: sessionmaker[Session], user_id: int) -> str | None:
    """What the last finished run did with the albums (Russian), or None when it did nothing with them."""
    found = _last_plan(sessions, user_id).get("albums")
    albums = found if isinstance(found, dict) else None
    if not albums:
        return None
    if albums.get("stopped"):
        return f"Подборки при последнем запуске не обновлены до конца: {albums['stopped']}. Товары выгружены."
    made, placed = int(str(albums.get("made", 0))), int(str(albums.get("placed", 0)))
    return (f"Последний запуск: создано {made} {plural(made, 'подборка', 'подборки', 'подборок')}, "
            f"добавлено в подборки {placed} {plural(placed, 'товар', 'товара', 'товаров')}.")


def hand_note(sessions: sessionmaker[Session], user_id: int) -> list[str]:
    """The items the last finished run found changed or deleted by hand (Russian lines)."""
    plan = _last_plan(sessions, user_id)
    lines = [f"«{e.get('name')}» изменён во ВКонтакте вручную: {e.get('what')}"
             for e in plan.get("hand_edited") or [] if isinstance(e, dict)]
    lines += [f"«{e.get('name')}» удалён во ВКонтакте вручную и не создаётся заново"
              for e in plan.get("hand_deleted") or [] if isinstance(e, dict)]
    return lines


def variant_note(sessions: sessionmaker[Session], user_id: int) -> tuple[str, bool]:
    """Which mode the modifications are in and why (Russian), and whether it is a warning."""
    if not get_options(sessions, user_id).variants:
        return "Выключено: каждая модификация — отдельный товар, выбор в названии.", False
    found = _last_plan(sessions, user_id).get("variants")
    if not isinstance(found, dict):
        return "Варианты применятся при следующей синхронизации, если в сообществе включён расширенный магазин.", False
    separate = [f"«{s.get('name')}» — {s.get('why')}" for s in found.get("separate") or [] if isinstance(s, dict)]
    tail = f" Отдельными товарами: {'; '.join(separate)}." if separate else ""
    if found.get("not_offered"):
        return f"Последний запуск: {NOT_OFFERED_NOTE}.", True
    if found.get("stopped"):
        return f"Последний запуск: варианты не созданы ({found['stopped']}), модификации выгружены отдельными " \
               f"товарами.", True
    made = int(str(found.get("variants", 0)))
    groups = f"{made} {plural(made, 'группа модификаций', 'группы модификаций', 'групп модификаций')}"
    return f"Последний запуск: товарами с вариантами выгружено {groups}.{tail}", bool(separate)


# --- the page's doors: a Runtime in, never a session out ---------------------------------------------

def options_for(rt: Runtime, user_id: int) -> ShopOptions:
    return get_options(rt.sessions, user_id)


def save_for(rt: Runtime, user_id: int, options: ShopOptions) -> bool:
    return save_options(rt.sessions, user_id, options)


def album_note_for(rt: Runtime, user_id: int) -> str | None:
    return album_note(rt.sessions, user_id)


def hand_note_for(rt: Runtime, user_id: int) -> list[str]:
    return hand_note(rt.sessions, user_id)


def variant_note_for(rt: Runtime, user_id: int) -> tuple[str, bool]:
    return variant_note(rt.sessions, user_id)
