"""«Синхронизация», the runs section: the current run's progress, «Синхронизировать сейчас», the
dry-run preview and the last runs.

A button only records a request (`connhub.sync.runs.request_run`); the sidecar (`checker.py`)
picks it up and runs the engine outside any page run. The progress is polled by a fragment, so
a reload shows the same.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from connhub.health.history_views import run_history
from connhub.models import SyncRunState
from connhub.sync import runs
from connhub.sync.runs import RunView, Trigger
from connhub.sync.status import SyncStatus
from pages.ui.history import runs_panel
from pages.ui.session import runtime
from pages.ui.text import format_time, md

PROGRESS_SECONDS = 2
SEEN_RUN = "_connhub_sync_seen_run"
HISTORY = 10
STATE_LABELS = {
    SyncRunState.REQUESTED: ":blue-badge[Ожидает запуска]",
    SyncRunState.RUNNING: ":blue-badge[Идёт]",
    SyncRunState.FINISHED: ":green-badge[Готово]",
    SyncRunState.STOPPED: ":orange-badge[Остановлено]",
    SyncRunState.FAILED: ":red-badge[Прервано]",
}
TRIGGER_LABELS = {Trigger.CRON: "по расписанию (run/sync.sh)", Trigger.CLI: "из командной строки"}


def ask(user_id: int, who: str, dry_run: bool) -> None:
    try:
        runs.request_run(runtime().sessions, user_id, triggered_by=who, dry_run=dry_run)
    except runs.RunInProgress:
        st.toast("Синхронизация уже идёт — дождитесь её окончания", icon=":material/hourglass:")
        return
    st.toast("Предпросмотр запрошен" if dry_run else "Синхронизация запрошена: она идёт в фоне, страницу можно "
             "закрыть", icon=":material/sync:")


def trigger_text(run: RunView) -> str:
    if run.trigger == Trigger.PAGE:
        return f"со страницы: {run.triggered_by}" if run.triggered_by else "со страницы"
    return TRIGGER_LABELS.get(run.trigger, run.trigger)


def counts_text(run: RunView) -> str:
    c = run.counts
    return (f"добавлено {c['added']}, изменено {c['changed']}, скрыто {c['hidden']}, удалено {c['deleted']}, "
            f"без изменений {c['unchanged']}, пропущено {c['skipped']}, ошибок {c['failed']}")


def plan_text(plan: dict[str, Any]) -> str:
    parts = [f"добавить {len(plan.get('add') or [])}", f"изменить {len(plan.get('change') or [])}",
             f"скрыть {len(plan.get('hide') or [])}", f"удалить {len(plan.get('delete') or [])}",
             f"без изменений {plan.get('unchanged', 0)}"]
    return "План: " + ", ".join(parts)


def show_plan(plan: dict[str, Any]) -> None:
    st.markdown(md(plan_text(plan)))
    titles = {"add": "Будут добавлены", "change": "Будут изменены", "hide": "Будут скрыты", "delete": "Будут удалены",
              "skip": "Не выгружаются"}
    for key, title in titles.items():
        entries = plan.get(key) or []
        if not entries:
            continue
        with st.expander(f"{title}: {len(entries)}"):
            for entry in entries[:200]:
                reason = f" — {entry['reason']}" if entry.get("reason") else ""
                st.markdown(md(f"{entry['name']}{reason}"))
            if len(entries) > 200:
                st.caption(f"… и ещё {len(entries) - 200}")


@st.fragment(run_every=PROGRESS_SECONDS)
def current_run(user_id: int, who: str, can_run: bool) -> None:
    with runtime().sessions() as session:
        active = runs.active_run(session, user_id)
        latest = runs.recent_runs(session, user_id, limit=1)
    row = st.container(horizontal=True, vertical_alignment="center")
    busy = active is not None
    row.button("Синхронизировать сейчас", type="primary", icon=":material/sync:", key="sync-run-now",
               disabled=busy or not can_run, on_click=ask, args=(user_id, who, False))
    row.button("Предпросмотр", icon=":material/preview:", key="sync-run-preview", disabled=busy or not can_run,
               on_click=ask, args=(user_id, who, True))
    if active is not None:
        with st.container(key="sync-run-current"):
            what = "Предпросмотр" if active.dry_run else "Синхронизация"
            if active.state == SyncRunState.REQUESTED:
                st.markdown(f":material/schedule: {what} ждёт запуска…")
            else:
                done = f"{active.done} из {active.total}" if active.total else "подготовка"
                st.markdown(md(f"{what} идёт: {active.phase} ({done})"))
                st.progress(min(1.0, active.done / active.total) if active.total else 0.0)
                st.caption(md(counts_text(active)))
    elif not can_run:
        st.caption("Запуск станет доступен, когда синхронизация включена и все пункты проверки зелёные.")
    # A run finished since this page was drawn: draw the page again with its result.
    newest = latest[0].id if latest else None
    state = latest[0].state if latest else None
    seen = st.session_state.get(SEEN_RUN)
    st.session_state[SEEN_RUN] = (newest, state)
    if seen is not None and seen != (newest, state) and not busy:
        st.rerun(scope="app")


def last_runs(user_id: int) -> None:
    with runtime().sessions() as session:
        recent = [run for run in runs.recent_runs(session, user_id, limit=HISTORY) if not run.active]
        outcomes = run_history(session, user_id)
    runs_panel(outcomes)
    if not recent:
        st.caption("Запусков ещё не было.")
        return
    newest = recent[0]
    if newest.dry_run and newest.state == SyncRunState.FINISHED:
        with st.container(key="sync-run-plan", border=True):
            st.markdown(f"**Предпросмотр от {format_time(newest.finished_at)}** — ничего не изменено")
            show_plan(newest.plan)
    for run in recent:
        with st.container(key=f"sync-run-{run.id}", border=True):
            seconds = (run.duration_ms or 0) / 1000
            kind = "Предпросмотр" if run.dry_run else "Синхронизация"
            st.markdown(md(f"{STATE_LABELS.get(run.state, run.state)} **{kind}** "
                                  f"{format_time(run.started_at or run.requested_at)}, "
                                  f"{trigger_text(run)}, {seconds:.1f} с"))
            if not run.dry_run:
                st.caption(md(counts_text(run)))
            if run.stop_reason:
                st.warning(md(run.stop_reason), icon=":material/warning:")
            if run.failures:
                with st.expander(f"Ошибки: {run.counts['failed']}"):
                    for failure in run.failures[:100]:
                        st.markdown(md(f"{failure['name']}: {failure['reason']}"))


def section(status: SyncStatus, user_id: int, who: str) -> None:
    """The whole runs section (called by pages/sync.py)."""
    st.subheader("Запуски", anchor=False)
    can_run = status.config.is_on and status.readiness.ready
    current_run(user_id, who, can_run)
    last_runs(user_id)
