"""Is the sync ready to run? The checklist the page shows and `read_config` reports.

`evaluate` is pure: it turns facts (the two connections, the catalog, the VK rights, the saved
configuration, the selection) into lines, each green or red, with a stable code, a Russian
message and, when red, how to fix it. Gathering the facts from the database is
`connhub.sync.status`'s job; nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from connhub.models import Status
from connhub.sync.config import SyncSettings
from connhub.sync.policies import plural

# The VK rights the sync needs (providers.md §10), with the words the page uses for them.
REQUIRED_RIGHTS: dict[str, str] = {"groups": "сообщества", "market": "товары", "photos": "фотографии"}

# The checks, in the order shown.
CHECKS = ("source_connection", "catalog", "products", "target_connection", "target_rights", "community",
          "category")  # the form's order: the store first, then the community and its category


@dataclass(frozen=True)
class ConnectionFacts:
    title: str  # the service as the user knows it: «Эвотор», «ВКонтакте»
    connected: bool = False
    status: Status | None = None
    reason: str = ""


@dataclass(frozen=True)
class ReadinessFacts:
    source: ConnectionFacts
    target: ConnectionFacts
    settings: SyncSettings
    catalog_refreshed_at: datetime | None = None  # of the chosen store, or of any store if none chosen
    target_rights: Mapping[str, bool | None] | None = None  # right → has it (None: unknown); None: never probed
    target_rights_note: str = ""  # why a right stayed unknown, as the probe said
    target_rights_setting: str = ""  # the setting that lists the rights the target asks for (Roles)
    selected_products: int | None = None  # None: not known (no store chosen or no catalog)


@dataclass(frozen=True)
class Line:
    check: str  # one of CHECKS
    ok: bool
    code: str  # stable: "ok" or what is wrong, e.g. "goods_off"
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Readiness:
    lines: tuple[Line, ...]

    @property
    def ready(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def problems(self) -> list[dict[str, str]]:
        """One {"code", "message"} per red line; the code names the check and what is wrong."""
        return [{"code": f"{line.check}.{line.code}", "message": line.message}
                for line in self.lines if not line.ok]


def age_text(then: datetime, now: datetime) -> str:
    """How long ago, in Russian: «5 минут назад», «3 часа назад», «2 дня назад»."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "только что"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} {plural(minutes, 'минуту', 'минуты', 'минут')} назад"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} {plural(hours, 'час', 'часа', 'часов')} назад"
    days = hours // 24
    return f"{days} {plural(days, 'день', 'дня', 'дней')} назад"


def _connection(check: str, facts: ConnectionFacts, page_hint: str) -> Line:
    title = facts.title
    if not facts.connected:
        return Line(check, False, "not_connected", f"{title} не подключён",
                    f"Подключите {title} на странице «Добавить подключение».")
    if facts.status is Status.ONLINE:
        return Line(check, True, "ok", f"{title} в сети")
    reason = f": {facts.reason}" if facts.reason else ""
    if facts.status is Status.RECONNECT:
        return Line(check, False, "reconnect", f"{title} требует переподключения{reason}",
                    f"Переподключите {title} на странице {page_hint}.")
    if facts.status is Status.OFFLINE:
        return Line(check, False, "offline", f"Нет связи с {title}{reason}",
                    f"Проверка повторится сама; можно нажать «Проверить сейчас» на странице {page_hint}.")
    return Line(check, False, "never_checked", f"{title} ещё не проверялся",
                f"Нажмите «Проверить сейчас» на странице {page_hint}.")


def evaluate(facts: ReadinessFacts, *, now: datetime) -> Readiness:
    """The checklist, in the form's order: the source and its catalog, the store (what is sent), then
    the target, its rights, the community and the category."""
    settings = facts.settings
    source_page = f"«{facts.source.title}»"
    target_page = f"«{facts.target.title}»"
    lines: list[Line] = [_connection("source_connection", facts.source, source_page)]

    if facts.catalog_refreshed_at is None:
        lines.append(Line("catalog", False, "not_loaded", "Каталог ещё не загружен",
                          "Откройте «Каталог» и нажмите «Обновить каталог»."))
    else:
        lines.append(Line("catalog", True, "ok",
                          f"Каталог загружен {age_text(facts.catalog_refreshed_at, now)}"))

    if not settings.store_id:
        lines.append(Line("products", False, "no_store", "Магазин не выбран",
                          "Выберите магазин ниже и сохраните настройки."))
    elif facts.selected_products is None:
        lines.append(Line("products", False, "no_catalog", f"Каталог магазина «{settings.store_name}» не загружен",
                          "Откройте «Каталог» и нажмите «Обновить каталог»."))
    elif facts.selected_products == 0:
        lines.append(Line("products", False, "none_selected", "Ни один товар не выбран для выгрузки",
                          "Включите группы или товары на странице «Каталог»."))
    else:
        count = facts.selected_products
        lines.append(Line("products", True, "ok",
                          f"Выбрано {count} {plural(count, 'товар', 'товара', 'товаров')}"))
    lines.append(_connection("target_connection", facts.target, target_page))

    rights = facts.target_rights
    if not facts.target.connected:
        lines.append(Line("target_rights", False, "not_connected",
                          f"Права {facts.target.title} не проверить: нет подключения",
                          f"Подключите {facts.target.title}."))
    elif rights is None:
        lines.append(Line("target_rights", False, "not_probed", "Права токена ещё не проверены",
                          f"Нажмите «Проверить сейчас» на странице {target_page}."))
    else:
        missing = [label for right, label in REQUIRED_RIGHTS.items() if rights.get(right) is False]
        unknown = [label for right, label in REQUIRED_RIGHTS.items() if rights.get(right) is None]
        setting = f" (переменная {facts.target_rights_setting})" if facts.target_rights_setting else ""
        if missing:
            lines.append(Line("target_rights", False, "missing",
                              f"У токена {facts.target.title} нет прав: {', '.join(missing)}",
                              f"Подключите заново с правами market, photos, groups{setting} "
                              f"или вставьте токен пользователя с этими правами на странице {target_page}."))
        elif unknown:
            note = f" ({facts.target_rights_note})" if facts.target_rights_note else ""
            lines.append(Line("target_rights", False, "unknown",
                              f"Не удалось проверить права: {', '.join(unknown)}{note}",
                              f"Нажмите «Проверить сейчас» на странице {target_page}; если в сообществе "
                              "выключены товары, сначала включите их."))
        else:
            lines.append(Line("target_rights", True, "ok", "Права на товары, фотографии и сообщества есть"))

    if settings.vk_group_id is None:
        lines.append(Line("community", False, "not_chosen", "Сообщество не выбрано",
                          "Выберите сообщество ниже и сохраните настройки."))
    elif not facts.target.connected:  # what was saved about it can no longer be checked
        lines.append(Line("community", False, "not_connected",
                          f"Сообщество «{settings.vk_group_name}»: нет подключения {facts.target.title}",
                          f"Подключите {facts.target.title}."))
    elif not settings.vk_group_goods_enabled:
        lines.append(Line("community", False, "goods_off",
                          f"В сообществе «{settings.vk_group_name}» выключены товары",
                          "Во ВКонтакте: Управление сообществом → Разделы → Товары → «Включены», "
                          "сохраните и обновите эту страницу."))
    else:
        lines.append(Line("community", True, "ok", f"Сообщество «{settings.vk_group_name}», товары включены"))

    if settings.vk_category_id is None:
        lines.append(Line("category", False, "not_chosen", "Категория товаров не выбрана",
                          "Выберите категорию ниже и сохраните настройки."))
    else:
        lines.append(Line("category", True, "ok", f"Категория «{settings.vk_category_name}»"))

    return Readiness(tuple(lines))


def line(readiness: Readiness, check: str) -> Line:
    return next(item for item in readiness.lines if item.check == check)

