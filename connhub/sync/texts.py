"""The sync's run texts, written once: outcome labels, trigger labels, counts, plans and phases.

The runs list on «Синхронизация», `python -m connhub.sync` and the engine's phase lines all read
them from here, so a run is described in the same words wherever it is seen. Plain text: a page
that shows a label as a badge adds its own markup around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connhub.models import SyncRunState
from connhub.text import counted, duration, number

# The outcome of a run, as a label (the page's badge) and as a word in a sentence (the CLI's «итог: …»).
STATE_LABELS: dict[str, str] = {
    SyncRunState.REQUESTED: "Ожидает запуска",
    SyncRunState.RUNNING: "Идёт",
    SyncRunState.FINISHED: "Готово",
    SyncRunState.STOPPED: "Остановлено",
    SyncRunState.FAILED: "Прервано",
}
STATE_COLORS: dict[str, str] = {
    SyncRunState.REQUESTED: "blue", SyncRunState.RUNNING: "blue", SyncRunState.FINISHED: "green",
    SyncRunState.STOPPED: "orange", SyncRunState.FAILED: "red",
}
# Who started a run (runs.Trigger values); a page run names the person.
TRIGGER_CRON = "cron"
TRIGGER_PAGE = "page"
TRIGGER_CLI = "cli"
TRIGGER_SCHEDULE = "schedule"  # the sidecar's own schedule (connhub.sync.schedule)
TRIGGER_MANUAL = "manual"  # run/sync.sh started by a person at a terminal
TRIGGER_LABELS: dict[str, str] = {TRIGGER_SCHEDULE: "по расписанию", TRIGGER_CRON: "cron (run/sync.sh)",
                                  TRIGGER_MANUAL: "вручную (run/sync.sh)", TRIGGER_CLI: "из командной строки",
                                  TRIGGER_PAGE: "со страницы"}

PHASE_WAITING = "Ожидает запуска"
PHASE_CHECKING = "Проверка настроек"
PHASE_SELECTING = "Отбор товаров по правилам каталога"
PHASE_PHOTOS = "Фото товаров"
UNEXPECTED_ERROR = "Непредвиденная ошибка синхронизации"

COUNT_WORDS = (("added", "добавлено"), ("changed", "изменено"), ("hidden", "скрыто вне выгрузки"),
               ("deleted", "удалено"), ("unchanged", "без изменений"), ("skipped", "пропущено"), ("failed", "ошибок"))
PLAN_WORDS = (("add", "добавить"), ("change", "изменить"), ("hide", "скрыть"), ("delete", "удалить"))
PLAN_TITLES = {"add": "Будут добавлены", "change": "Будут изменены", "hide": "Будут скрыты",
               "delete": "Будут удалены", "skip": "Не выгружаются"}
PHASE_WRITES = "Запись в сообщество"
PHASE_SHOP_EXTRAS = "Подборки и товары с вариантами"
FINISHED_WITH_ERRORS = "Готово с ошибками"


def progress_line(step: str, done: int, total: int, left_seconds: float | None) -> str:
    """«Фото товаров (25 из 4462), осталось около 2 мин 30 с»: a step's progress as the run row shows it."""
    line = f"{step} ({done} из {total})"
    if left_seconds is not None:
        line += f", осталось около {duration(max(1, round(left_seconds)))}"
    return line


def waiting_for_lost_adds(seconds: float) -> str:
    """The phase while a run waits out the adds an interrupted run may still have in flight."""
    return f"Ожидание добавлений прерванного запуска: около {duration(max(1, round(seconds)))}"


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, str(state))


def outcome_label(state: str, failed: int) -> str:
    """«Готово», «Готово с ошибками» (products refused), «Остановлено», «Прервано»."""
    return FINISHED_WITH_ERRORS if state == SyncRunState.FINISHED and failed else state_label(state)


def outcome_color(state: str, failed: int) -> str:
    return "orange" if state == SyncRunState.FINISHED and failed else STATE_COLORS.get(state, "gray")


def result_text(plan: Mapping[str, Any], counts: Mapping[str, int]) -> str:
    """What the run left in the community, by the run's forecast (`connhub.sync.forecast`):
    «в продаже 57, скрыто (не для продажи) 2; не выгружено 3: … — 3; отказано: 1 товар из 60 (1,7 %)»."""
    result = plan.get("result") or {}
    if not result:
        return ""
    skipped = result.get("skipped") or {}
    line = f"в продаже {int(result.get('on_sale') or 0)}, скрыто (не для продажи) {int(result.get('hidden') or 0)}"
    if skipped:
        line += f"; не выгружено {sum(int(n) for n in skipped.values())}: "
        line += "; ".join(f"{reason} — {n}" for reason, n in skipped.items())
    failed = int(counts.get("failed", 0))
    if failed:
        tried = failed + int(result.get("on_sale") or 0) + int(result.get("hidden") or 0)
        share = number(round(failed * 100 / max(1, tried), 1))
        line += f"; отказано: {counted(failed, 'товар', 'товара', 'товаров')} из {tried} ({share} %)"
    return line


def run_kind(dry_run: bool) -> str:
    return "Предпросмотр" if dry_run else "Синхронизация"


def trigger_text(trigger: str, triggered_by: str | None) -> str:
    if trigger == TRIGGER_PAGE and triggered_by:
        return f"со страницы: {triggered_by}"
    return TRIGGER_LABELS.get(trigger, str(trigger))


def counts_text(counts: Mapping[str, int]) -> str:
    """«добавлено 3, изменено 0, …, ошибок 0»."""
    return ", ".join(f"{word} {int(counts.get(key, 0))}" for key, word in COUNT_WORDS)


def plan_text(plan: Mapping[str, Any]) -> str:
    """«План: добавить 3, изменить 1, скрыть 0, удалить 0, без изменений 12»."""
    parts = [f"{word} {len(plan.get(key) or [])}" for key, word in PLAN_WORDS]
    parts.append(f"без изменений {int(plan.get('unchanged', 0) or 0)}")
    return "План: " + ", ".join(parts)


def run_duration(duration_ms: int | None) -> str:
    """«2 мин 30 с»; «—» while unknown."""
    return duration(None if duration_ms is None else duration_ms / 1000)
