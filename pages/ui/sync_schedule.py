"""«Синхронизация», the schedule: «Запускать автоматически», the next run, and freshness.

The sidecar runs the schedule (connhub.sync.schedule); this piece only saves it and shows what
the database says: the next run, the last successful one, and «устарела» when the sync has not
succeeded within twice its interval (24 h when it runs only from cron).
"""

from __future__ import annotations

from datetime import time

import streamlit as st

from connhub.models import utcnow
from connhub.sync import schedule, service
from connhub.text import duration
from pages.ui.notices import queue_toast
from pages.ui.session import runtime
from pages.ui.text import Markup, format_time, user_timezone

KEY = "sync-schedule-"
MODES = {schedule.EVERY: "С интервалом", schedule.DAILY: "Раз в сутки", schedule.OFF: "Не запускать (только cron)"}


def ago(moment_seconds: float) -> str:
    """«2 мин 30 с назад»; «только что» under a second."""
    if moment_seconds < 1:
        return "только что"
    return f"{duration(int(moment_seconds))} назад"


def interval_label(minutes: int) -> str:
    """«каждые 15 мин», «каждый час»."""
    return schedule.describe(schedule.Schedule(schedule.EVERY, minutes))


def _fill(chosen: schedule.Schedule) -> None:
    version = (chosen.mode, chosen.minutes, chosen.at)
    if st.session_state.get(KEY + "loaded") == version:
        return
    st.session_state[KEY + "loaded"] = version
    st.session_state[KEY + "mode"] = chosen.mode
    st.session_state[KEY + "minutes"] = chosen.minutes
    st.session_state[KEY + "at"] = time.fromisoformat(chosen.at)


def _save(user_id: int) -> None:
    at = st.session_state.get(KEY + "at") or time(3, 0)
    chosen = schedule.parse(st.session_state.get(KEY + "mode"), st.session_state.get(KEY + "minutes"),
                            at.strftime("%H:%M"), user_timezone().key)
    service.save_schedule(runtime(), user_id, chosen)
    queue_toast(Markup("Расписание сохранено: {}").format(schedule.describe(chosen)), ":material/schedule:")


def freshness(user_id: int, is_on: bool) -> None:
    """The next run and the last success, as of this run of the page. (Not a timed fragment: one
    placed here made Streamlit replay the master toggle's stale value and switch the sync off.)"""
    state = service.schedule_now(runtime(), user_id)
    now = utcnow()
    if state.last_success_at is None:
        st.markdown("Последняя успешная синхронизация: ещё не было")
    else:
        st.markdown(Markup("Последняя успешная синхронизация: {} ({})").format(
            ago((now - state.last_success_at).total_seconds()), format_time(state.last_success_at)))
    if not is_on:
        st.caption("Синхронизация выключена: по расписанию она не запускается.")
        return
    if state.next_run_at is not None:
        st.markdown(Markup("Следующий запуск: {}").format(format_time(max(state.next_run_at, now))))
    if state.fresh is False:
        st.warning(Markup("Синхронизация устарела: успешного запуска не было дольше {}. Проверьте «Готовность» и "
                          "последние запуски ниже.").format(duration(state.limit.total_seconds())),
                   icon=":material/update_disabled:")


def section(user_id: int, is_on: bool) -> None:
    """The schedule's form and its freshness (one call from pages/sync.py)."""
    st.subheader("Запускать автоматически", anchor=False)
    _fill(service.schedule_now(runtime(), user_id).schedule)
    mode = st.radio("Как запускать", list(MODES), format_func=MODES.__getitem__, key=KEY + "mode", horizontal=True)
    if mode == schedule.EVERY:
        st.selectbox("Интервал", schedule.INTERVALS, key=KEY + "minutes",
                     format_func=interval_label)
    elif mode == schedule.DAILY:
        st.time_input("Время запуска", key=KEY + "at", step=900)
    else:
        st.caption("Синхронизацию запускает только cron (run/sync.sh) или кнопка «Синхронизировать сейчас». "
                   "Без успешного запуска дольше суток она считается устаревшей.")
    st.button("Сохранить расписание", key=KEY + "save", icon=":material/schedule:", on_click=_save, args=(user_id,))
    freshness(user_id, is_on)


def dashboard_line(user_id: int) -> None:
    """Next to the dashboard's cards: the sync's freshness, while the sync is on (nothing otherwise)."""
    state = service.schedule_now(runtime(), user_id)
    if state.fresh is None:
        return
    now = utcnow()
    last = ("ещё не было" if state.last_success_at is None
            else ago((now - state.last_success_at).total_seconds()))
    if state.fresh:
        following = (Markup(", следующий запуск {}").format(format_time(max(state.next_run_at, now)))
                     if state.next_run_at is not None else Markup(""))
        st.caption(Markup("Синхронизация: последняя успешная {}{}").format(last, following))
    else:
        st.warning(Markup("Синхронизация устарела: последняя успешная — {}. Откройте «Синхронизация».").format(last),
                   icon=":material/update_disabled:")
