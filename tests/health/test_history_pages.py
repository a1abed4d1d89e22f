"""The history on the pages (AppTest): the cards' 24-hour bars, the service page's latency chart,
the runs bar on «Синхронизация», and a rerun's statements that do not grow with the connections."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import event
from sqlalchemy.engine import Engine

from connhub.health.history import floor_hour, roll_up
from connhub.models import Outcome, Status, SyncRun, SyncRunState, utcnow
from tests.pages.helpers import card, keyed_block, page_text
from tests.support.connect import add_connection
from tests.support.history import add_checks

SEGMENT = re.compile(r'<span class="connhub-segment" data-state="([^"]*)" title="([^"]*)"')


def segments(block) -> list[tuple[str, str]]:
    """(state, tooltip) of each segment of the bar drawn in `block`."""
    markup = "".join(element.value for element in block.markdown if "connhub-bar" in element.value)
    return [(state, unescape(title)) for state, title in SEGMENT.findall(markup)]


def test_each_card_shows_24_hour_segments_with_the_worst_status_and_a_tooltip(open_app, rt, sandbox_control,
                                                                              alice):
    evotor = add_connection(rt, sandbox_control, alice, "evotor")
    add_connection(rt, sandbox_control, alice, "vk")
    hour = floor_hour(utcnow())
    add_checks(rt, evotor, [
        (hour - timedelta(hours=5) + timedelta(minutes=1), Outcome.TROUBLE, Status.ONLINE, 900),
        (hour - timedelta(hours=5) + timedelta(minutes=11), Outcome.TROUBLE, Status.OFFLINE, 950),
        (hour - timedelta(hours=2) + timedelta(minutes=1), Outcome.OK, Status.ONLINE, 120),
    ])
    roll_up(rt.sessions, raw_days=7, rollup_days=90)
    add_checks(rt, evotor, [(utcnow() - timedelta(seconds=5), Outcome.REJECTED, Status.RECONNECT, None)])
    at = open_app(alice)
    assert not at.exception
    bar = segments(card(at, "evotor"))
    assert len(bar) == 24
    states = [state for state, _ in bar]
    assert states[23 - 5] == "offline" and states[23 - 2] == "online" and states[23] == "reconnect"
    assert states.count("none") == 21
    assert "2 сбоя" in bar[23 - 5][1] and "худший статус: нет связи" in bar[23 - 5][1]
    assert "медиана 900 мс" in bar[23 - 5][1]
    assert "проверок не было" in bar[0][1]
    assert "Доступность за 30 дней: 33,3% (3 проверки)" in page_text(card(at, "evotor"))
    vk = segments(card(at, "vk"))
    assert [state for state, _ in vk] == ["none"] * 24
    assert "Доступность за 30 дней: ещё нет данных" in page_text(card(at, "vk"))


def count_selects(work) -> int:
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            seen.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        work()
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)
    return len(seen)


def test_a_dashboard_rerun_sends_the_same_statements_for_one_connection_or_two(open_app, rt, sandbox_control,
                                                                               alice):
    counts = []
    for provider in ("evotor", "vk"):
        cid = add_connection(rt, sandbox_control, alice, provider)
        add_checks(rt, cid, [(utcnow() - timedelta(hours=h), Outcome.OK, Status.ONLINE, 10) for h in range(30)])
        roll_up(rt.sessions, raw_days=7, rollup_days=90)
        at = open_app(alice)
        counts.append(count_selects(at.run))
        assert not at.exception
    assert counts[0] == counts[1]


def test_the_service_page_shows_the_bar_and_the_latency_chart(open_app, rt, sandbox_control, alice):
    cid = add_connection(rt, sandbox_control, alice, "evotor")
    add_checks(rt, cid, [(utcnow() - timedelta(hours=h), Outcome.OK, Status.ONLINE, 100 + h) for h in range(48)])
    roll_up(rt.sessions, raw_days=7, rollup_days=90)
    at = open_app(alice, page="evotor")
    assert not at.exception
    bar = segments(keyed_block(at, "history-day"))
    assert len(bar) == 24 and all(state == "online" for state, _ in bar)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert spec["encoding"]["y"]["title"] == "Время ответа, мс"
    assert spec["encoding"]["color"]["sort"] == ["медиана", "95%"]
    assert "Последние проверки" in page_text(at)


def test_the_sync_page_shows_a_bar_of_the_last_runs(open_app, rt, alice):
    now = utcnow()
    with rt.sessions() as session:
        for n, (state, failed) in enumerate([(SyncRunState.FINISHED, 0), (SyncRunState.FINISHED, 2),
                                             (SyncRunState.STOPPED, 0), (SyncRunState.FAILED, 0)]):
            at_time = now - timedelta(hours=4 - n)
            session.add(SyncRun(user_id=alice.id, trigger="cron", state=state, requested_at=at_time,
                                started_at=at_time, finished_at=at_time + timedelta(seconds=30), failed=failed,
                                duration_ms=30_000 + n * 1000,
                                stop_reason='В сообществе выключены товары "><b>x</b>' if state == SyncRunState.STOPPED
                                else ""))
        session.commit()
    at = open_app(alice, page="pages/sync.py")
    assert not at.exception
    block = keyed_block(at, "sync-runs-history")
    bar = segments(block)
    assert [state for state, _ in bar] == ["finished", "finished", "stopped", "failed"]
    assert "2 ошибки" in bar[1][1] and "33,0 с" in bar[3][1] and "В сообществе выключены товары" in bar[2][1]
    assert "Последние 4 запуска, слева — самый ранний" in page_text(block)
    assert len(block.get("vega_lite_chart")) == 1
    markup = "".join(element.value for element in block.markdown)
    assert "<b>" not in markup and "&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in markup  # the reason is text, not markup
