"""The history's pieces: a connection's 24-hour bar and 30-day availability, its latency chart, and
the bar and durations of the sync's last runs.

A bar is one row of coloured segments (HTML through st.markdown), each with a tooltip (`title`);
every text in it is escaped where it enters the markup. The charts are Altair through Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape

import altair as alt
import streamlit as st

from connhub.health.history_views import CardHistory, HourSegment, RunPoint
from connhub.models import Status, SyncRunState
from pages.ui.text import Markup, user_timezone

NO_DATA = "#e6e6ea"
SEGMENT_COLOURS = {  # worst status of the hour -> colour
    Status.ONLINE: "#21c354",
    Status.NEVER_CHECKED: "#a3a8b8",
    Status.OFFLINE: "#ff4b4b",
    Status.RECONNECT: "#a4262c",
}
SHAKY = "#ffbd45"  # online all along, but some checks failed
STATUS_WORDS = {Status.ONLINE: "в сети", Status.NEVER_CHECKED: "не проверялось", Status.OFFLINE: "нет связи",
                Status.RECONNECT: "требуется переподключение"}
RUN_COLOURS = {SyncRunState.FINISHED: "#21c354", SyncRunState.STOPPED: "#ffa421", SyncRunState.FAILED: "#ff4b4b"}
RUN_WORDS = {SyncRunState.FINISHED: "готово", SyncRunState.STOPPED: "остановлено", SyncRunState.FAILED: "прервано"}
BAR_STYLE = "display:flex;gap:2px;height:22px;margin:0.25rem 0 0.1rem 0"
SEGMENT_STYLE = "flex:1 1 0;border-radius:2px;background:{colour}"
LEGEND_STYLE = (
    "display:flex;justify-content:space-between;font-size:0.8rem;color:rgba(49,51,63,0.6);margin-bottom:0.5rem")


def plural(count: int, one: str, few: str, many: str) -> str:
    tail = count % 100
    if 11 <= tail <= 14:
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(count % 10, many)


def number(value: float, digits: int = 0) -> str:
    """A number the Russian way: a thin space between thousands, a decimal comma."""
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def local(moment: datetime) -> datetime:
    return moment.astimezone(user_timezone())


def segment_colour(segment: HourSegment) -> str:
    if segment.worst is None:
        return NO_DATA
    if segment.worst is Status.ONLINE and segment.failures:
        return SHAKY
    return SEGMENT_COLOURS[segment.worst]


def segment_tooltip(segment: HourSegment) -> str:
    start = local(segment.start)
    when = f"{start:%d.%m %H:%M}–{start + timedelta(hours=1):%H:%M}"
    if segment.worst is None:
        return f"{when}: проверок не было"
    failures = (f"{segment.failures} {plural(segment.failures, 'сбой', 'сбоя', 'сбоев')}" if segment.failures
                else "без сбоев")
    parts = [f"{when}: {segment.checks} {plural(segment.checks, 'проверка', 'проверки', 'проверок')}, {failures}",
             f"худший статус: {STATUS_WORDS[segment.worst]}"]
    if segment.p50_ms is not None:
        parts.append(f"время ответа: медиана {segment.p50_ms} мс, 95% — до {segment.p95_ms} мс")
    return "; ".join(parts)


def bar_markup(segments: Iterable[tuple[str, str, str]], *, label: str) -> str:
    """(colour, tooltip, data-state) per segment -> one row of segments, everything escaped."""
    spans = "".join(
        f'<span class="connhub-segment" data-state="{escape(state)}" title="{escape(tooltip)}" '
        f'style="{SEGMENT_STYLE.format(colour=escape(colour))}"></span>'
        for colour, tooltip, state in segments)
    return f'<div class="connhub-bar" role="img" aria-label="{escape(label)}" style="{BAR_STYLE}">{spans}</div>'


def availability_text(history: CardHistory) -> str:
    if history.availability is None:
        return "Доступность за 30 дней: ещё нет данных"
    share = number(100 * history.availability, 1 if history.availability < 1 else 0)
    checks = f"{number(history.checks)} {plural(history.checks, 'проверка', 'проверки', 'проверок')}"
    return f"Доступность за 30 дней: {share}% ({checks})"


def hour_bar(history: CardHistory, *, key: str) -> None:
    """The 24-hour bar (one segment an hour, coloured by its worst status) and, under it, the
    30-day availability: one piece of markup."""
    segments = [(segment_colour(s), segment_tooltip(s), s.worst or "none") for s in history.hours]
    legend = (f'<div class="connhub-bar-legend" style="{LEGEND_STYLE}"><span>24 ч назад</span>'
              f'<span>{escape(availability_text(history))}</span><span>сейчас</span></div>')
    with st.container(key=key):
        st.markdown(bar_markup(segments, label="Состояние за последние 24 часа по часам") + legend,
                    unsafe_allow_html=True)


def latency_chart(hours: Iterable[HourSegment]) -> None:
    """The hourly median and 95th percentile of the response time (Altair through Streamlit)."""
    rows = [{"Час": local(s.start).isoformat(), "Показатель": name, "мс": value}
            for s in hours for name, value in (("медиана", s.p50_ms), ("95%", s.p95_ms)) if value is not None]
    if not rows:
        st.caption("Время ответа появится после первых проверок.")
        return
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("Час:T", title=None, axis=alt.Axis(format="%d.%m %H:%M")),
        y=alt.Y("мс:Q", title="Время ответа, мс", axis=alt.Axis(format="d")),
        color=alt.Color("Показатель:N", title=None, sort=["медиана", "95%"],
                        scale=alt.Scale(range=["#1c83e1", "#ff8c00"]), legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("Час:T", format="%d.%m %H:%M"), "Показатель:N", "мс:Q"],
    ).properties(height=220)
    st.altair_chart(chart, width="stretch")


def run_colour(run: RunPoint) -> str:
    if run.state == SyncRunState.FINISHED and run.failed:
        return SHAKY
    return RUN_COLOURS.get(SyncRunState(run.state), NO_DATA)


def run_tooltip(run: RunPoint) -> str:
    kind = "Предпросмотр" if run.dry_run else "Синхронизация"
    seconds = number((run.duration_ms or 0) / 1000, 1)
    text = f"{kind} {local(run.started_at):%d.%m %H:%M}, {seconds} с: {RUN_WORDS.get(SyncRunState(run.state), '')}"
    if run.failed:
        text += f", {run.failed} {plural(run.failed, 'ошибка', 'ошибки', 'ошибок')}"
    if run.stop_reason:
        text += f" — {run.stop_reason}"
    return text


def runs_panel(runs: list[RunPoint]) -> None:
    """The last runs as a bar (one segment a run, oldest first) and their durations as a chart."""
    if not runs:
        return
    with st.container(key="sync-runs-history"):
        st.markdown(bar_markup(((run_colour(r), run_tooltip(r), r.state) for r in runs),
                               label=f"Исходы последних запусков: {len(runs)}"), unsafe_allow_html=True)
        total = len(runs)
        runs_word = plural(total, "запуск", "запуска", "запусков")
        st.caption(Markup("Последние {} {}, слева — самый ранний").format(total, runs_word))
        rows = [{"Запуск": local(r.started_at).strftime("%d.%m %H:%M:%S"),
                 "Длительность, с": (r.duration_ms or 0) / 1000,
                 "Исход": RUN_WORDS.get(SyncRunState(r.state), r.state)} for r in runs]
        chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
            x=alt.X("Запуск:N", sort=None, title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("Длительность, с:Q"),
            color=alt.Color("Исход:N", title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=list(RUN_WORDS.values()),
                                            range=[RUN_COLOURS[state] for state in RUN_WORDS])),
            tooltip=["Запуск:N", "Длительность, с:Q", "Исход:N"],
        ).properties(height=180)
        st.altair_chart(chart, width="stretch")
