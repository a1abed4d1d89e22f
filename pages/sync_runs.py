"""«Синхронизация», the runs section: the current run's progress, «Синхронизировать сейчас», the
dry-run preview and the last runs.

A button only records a request (`connhub.sync.runs.request_run`); the sidecar (`checker.py`)
picks it up and runs the engine outside any page run. The progress is polled by a fragment, so
a reload shows the same.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from connhub.models import SyncRunState
from connhub.sync import service, texts
from connhub.sync.runs import RunView
from connhub.sync.status import SyncStatus
from pages.ui.history import runs_panel
from pages.ui.notices import queue_toast, show_queued_toast
from pages.ui.session import runtime
from pages.ui.text import Markup, format_time

PROGRESS_SECONDS = 2
SEEN_RUN = "_connhub_sync_seen_run"
HISTORY = 10
SHOWN_ENTRIES = 200


def state_badge(state: str, failed: int = 0) -> Markup:
    """The run's outcome as a coloured badge (the label is the app's own text, escaped all the same)."""
    return Markup(":{}-badge[{}]").format(Markup(texts.outcome_color(state, failed)),
                                          texts.outcome_label(state, failed))


def ask(user_id: int, who: str, dry_run: bool) -> None:
    """The buttons' callback. It draws nothing: a callback inside a fragment that displays an element
    makes Streamlit warn on every click; the toast is queued and shown by the fragment's own run."""
    if not service.ask_for_run(runtime(), user_id, who=who, dry_run=dry_run):
        queue_toast("Синхронизация уже идёт — дождитесь её окончания", ":material/hourglass:")
        return
    queue_toast("Предпросмотр запрошен" if dry_run else "Синхронизация запрошена: она идёт в фоне, страницу можно "
                "закрыть", ":material/sync:")


def trigger_text(run: RunView) -> str:
    return texts.trigger_text(run.trigger, run.triggered_by)


def counts_text(run: RunView) -> str:
    return texts.counts_text(run.counts)


def plan_text(plan: dict[str, Any]) -> str:
    return texts.plan_text(plan)


def show_plan(plan: dict[str, Any]) -> None:
    st.markdown(Markup("{}").format(plan_text(plan)))
    for key, title in texts.PLAN_TITLES.items():
        entries = plan.get(key) or []
        if not entries:
            continue
        with st.expander(Markup("{}: {}").format(title, len(entries))):
            for entry in entries[:SHOWN_ENTRIES]:
                if entry.get("reason"):
                    st.markdown(Markup("{} — {}").format(entry["name"], entry["reason"]))
                else:
                    st.markdown(Markup("{}").format(entry["name"]))
            if len(entries) > SHOWN_ENTRIES:
                st.caption(Markup("… и ещё {}").format(len(entries) - SHOWN_ENTRIES))


def _run_buttons(user_id: int, who: str, enabled: bool) -> None:
    """The two buttons. Their callbacks only toast and record a request: no rerun is asked for from a
    callback, so Streamlit has no fragment rerun to warn about; the fragment's next tick (or the
    click's own rerun) draws the run."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button("Синхронизировать сейчас", type="primary", icon=":material/sync:", key="sync-run-now",
               disabled=not enabled, on_click=ask, args=(user_id, who, False))
    row.button("Предпросмотр", icon=":material/preview:", key="sync-run-preview", disabled=not enabled,
               on_click=ask, args=(user_id, who, True))


@st.fragment(run_every=PROGRESS_SECONDS)
def current_run(user_id: int, who: str, can_run: bool) -> None:
    show_queued_toast()
    active, newest_run = service.runs_now(runtime(), user_id)
    busy = active is not None
    _run_buttons(user_id, who, can_run and not busy)
    if active is not None:
        with st.container(key="sync-run-current"):
            what = texts.run_kind(active.dry_run)
            if active.state == SyncRunState.REQUESTED:
                st.markdown(Markup(":material/schedule: {} ждёт запуска…").format(what))
            else:
                st.markdown(Markup("{} идёт: {}").format(what, active.phase or "подготовка"))
                st.progress(min(1.0, active.done / active.total) if active.total else 0.0)
                st.caption(Markup("{}").format(counts_text(active)))
    elif not can_run:
        st.caption("Запуск станет доступен, когда синхронизация включена и все пункты проверки зелёные.")
    # A run finished since this page was drawn: draw the page again with its result.
    newest = newest_run.id if newest_run else None
    state = newest_run.state if newest_run else None
    seen = st.session_state.get(SEEN_RUN)
    st.session_state[SEEN_RUN] = (newest, state)
    if seen is not None and seen != (newest, state) and not busy:
        st.rerun(scope="app")


def run_heading(run: RunView) -> Markup:
    """«:green-badge[Готово] **Синхронизация** 03.12.2026 06:28, со страницы: Анна, 2 мин 30 с»."""
    return Markup("{} **{}** {}, {}, {}").format(
        state_badge(run.state, run.counts["failed"]), texts.run_kind(run.dry_run),
        format_time(run.started_at or run.requested_at), trigger_text(run), texts.run_duration(run.duration_ms))


def last_runs(user_id: int) -> None:
    recent = service.past_runs(runtime(), user_id, limit=HISTORY)
    runs_panel(service.run_outcomes(runtime(), user_id))
    if not recent:
        st.caption("Запусков ещё не было.")
        return
    newest = recent[0]
    if newest.dry_run and newest.state == SyncRunState.FINISHED:
        with st.container(key="sync-run-plan", border=True):
            st.markdown(Markup("**Предпросмотр от {}** — ничего не изменено").format(format_time(newest.finished_at)))
            show_plan(newest.plan)
    for run in recent:
        with st.container(key=f"sync-run-{run.id}", border=True):
            st.markdown(run_heading(run))
            if not run.dry_run:
                result = texts.result_text(run.plan, run.counts)
                if result:
                    st.markdown(Markup("В сообществе: {}").format(result))
                st.caption(Markup("{}").format(counts_text(run)))
            if run.stop_reason:
                st.warning(Markup("{}").format(run.stop_reason), icon=":material/warning:")
            if run.failures:
                with st.expander(Markup("Не приняты сообществом: {}").format(run.counts["failed"])):
                    for failure in run.failures[:100]:
                        st.markdown(Markup("{}: {}").format(failure["name"], failure["reason"]))


def section(status: SyncStatus, user_id: int, who: str) -> None:
    """The whole runs section (called by pages/sync.py)."""
    st.subheader("Запуски", anchor=False)
    current_run(user_id, who, service.can_run(status))
    last_runs(user_id)
