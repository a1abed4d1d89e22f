"""The one function that turns a stored event into its Russian one-line summary."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connhub.journal.events import ADMIN_ACTIONS, EventKind
from connhub.text import counted, money

STATUS_TITLES = {
    "never_checked": "ещё не проверено",
    "online": "в сети",
    "offline": "не отвечает",
    "reconnect": "нужно переподключить",
}

RUN_COUNTS = (("added", "добавлено"), ("changed", "изменено"), ("hidden", "скрыто"), ("deleted", "удалено"),
              ("failed", "ошибок"))


def status_title(status: object) -> str:
    return STATUS_TITLES.get(str(status), str(status))


def _counts(details: Mapping[str, Any]) -> str:
    parts = [f"{label} {details[name]}" for name, label in RUN_COUNTS if details.get(name)]
    return ", ".join(parts) if parts else "без изменений"


def summary(kind: str, service: str, details: Mapping[str, Any], titles: Mapping[str, str] | None = None) -> str:
    """What happened, in one line, from the event's typed data (service titles from the registry)."""
    title = (titles or {}).get(service, service)
    d = details

    def reason() -> str:
        return f": {d['reason']}" if d.get("reason") else ""

    match kind:
        case EventKind.CONNECTED:
            return f"{title}: подключено ({d.get('account', '')})"
        case EventKind.RECONNECTED:
            return f"{title}: переподключено ({d.get('account', '')})"
        case EventKind.DISCONNECTED:
            return f"{title}: отключено ({d.get('account', '')})"
        case EventKind.STATUS_CHANGED:
            return f"{title}: {status_title(d.get('old'))} → {status_title(d.get('new'))}{reason()}"
        case EventKind.RIGHTS_CHANGED:
            granted = f"; появились: {d['granted']}" if d.get("granted") else ""
            missing = f"; пропали: {d['missing']}" if d.get("missing") else ""
            return f"{title}: изменились права доступа{granted}{missing}"
        case EventKind.TOKEN_UNREADABLE:
            return f"{title}: токен не удаётся расшифровать (сменился ключ шифрования)"
        case EventKind.SYNC_ENABLED:
            confirmed = f" ({d['confirmed']})" if d.get("confirmed") else ""
            return f"Синхронизация включена{confirmed}"
        case EventKind.SYNC_DISABLED:
            return "Синхронизация выключена"
        case EventKind.SETTINGS_CHANGED:
            fields = "; ".join(f"{name}: {value}" for name, value in d.items())
            return f"Настройки синхронизации изменены: {fields}"
        case EventKind.RULE_ADDED | EventKind.RULE_REMOVED:
            verb = "добавлено" if kind == EventKind.RULE_ADDED else "удалено"
            mode = "включить" if d.get("mode") == "include" else "исключить"
            return f"Каталог: правило «{mode}» {verb} для «{d.get('target', '')}»"
        case EventKind.RUN_FINISHED:
            dry = " (пробный запуск)" if d.get("dry_run") else ""
            errors = " с ошибками" if d.get("failed") else ""
            return f"Синхронизация завершена{errors}{dry}: {_counts(d)}"
        case EventKind.RUN_STOPPED:
            return f"Синхронизация остановлена{reason()}"
        case EventKind.RUN_FAILED:
            return f"Синхронизация не удалась{reason()}"
        case EventKind.RUN_STALE:
            return f"Синхронизация не запускалась {d.get('hours', '?')} ч"
        case EventKind.CATALOG_REFRESH_FAILED:
            provider = (titles or {}).get(str(d.get("provider", "")), d.get("provider", ""))
            return f"Каталог {provider}: обновление не удалось{reason()}"
        case EventKind.CATALOG_REFRESH_RECOVERED:
            provider = (titles or {}).get(str(d.get("provider", "")), d.get("provider", ""))
            return f"Каталог {provider}: обновляется снова"
        case EventKind.ADMIN_ACTION:
            action = ADMIN_ACTIONS.get(str(d.get("action", "")), str(d.get("action", "")))
            return f"{title}: администратор нажал {action}"
        case EventKind.ORDER_NEW:
            total = d.get("total_kopecks")
            amount = f" на {money(Decimal(int(total)) / 100)} ₽" if isinstance(total, int) else ""
            items = int(d.get("items") or 0)
            lines = counted(items, "товар", "товара", "товаров")
            return f"{title}: новый заказ №{d.get('number', '')}{amount} ({lines})"
    return f"{title}: {kind}"
