"""«Синхронизация», the runs section: asking for a run or a preview, the current run's progress, the
last runs with their counts, reasons and failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.sync import runs, target
from connhub.sync.target import TargetOptions
from tests.pages.helpers import keyed_block, page_text
from tests.support.sync import CATEGORIES, COMMUNITIES, connect_both, load_catalog, ready_user, save_config

SYNC = "pages/sync.py"


@pytest.fixture(autouse=True)
def vk_lists(monkeypatch):
    monkeypatch.setattr(target, "target_options",
                        lambda rt, user_id: TargetOptions(communities=dict(COMMUNITIES), categories=dict(CATEGORIES)))


def add_run(rt, user, **values):
    now = utcnow()
    fields = dict(user_id=user.id, trigger="cron", triggered_by="cron", state=SyncRunState.FINISHED,
                  requested_at=now - timedelta(minutes=3), started_at=now - timedelta(minutes=3),
                  finished_at=now - timedelta(minutes=2), duration_ms=61_500)
    fields.update(values)
    with rt.sessions() as session:
        row = SyncRun(**fields)
        session.add(row)
        session.commit()
        return row.id


def test_sync_now_records_a_request_the_sidecar_picks_up(open_app, app_rt, sandbox_control, alice):
    ready_user(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    assert not at.exception
    button = at.button(key="sync-run-now")
    assert not button.disabled
    button.click().run()
    assert not at.exception
    with app_rt.sessions() as session:
        active = runs.active_run(session, alice.id)
    assert active is not None and active.state == SyncRunState.REQUESTED and not active.dry_run
    assert active.trigger == runs.Trigger.PAGE and active.triggered_by == alice.label
    assert "Синхронизация ждёт запуска" in page_text(at)
    assert at.button(key="sync-run-now").disabled and at.button(key="sync-run-preview").disabled


def test_preview_records_a_dry_run_request(open_app, app_rt, sandbox_control, alice):
    ready_user(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    at.button(key="sync-run-preview").click().run()
    with app_rt.sessions() as session:
        active = runs.active_run(session, alice.id)
    assert active is not None and active.dry_run


def test_without_the_sync_on_the_run_buttons_are_off(open_app, app_rt, sandbox_control, alice):
    source_id, _ = connect_both(app_rt, sandbox_control, alice)
    load_catalog(app_rt, source_id)
    save_config(app_rt, alice)
    at = open_app(alice, page=SYNC)
    assert at.button(key="sync-run-now").disabled
    assert "Запуск станет доступен" in page_text(at)
    assert "Запусков ещё не было." in page_text(at)


def test_a_running_sync_shows_its_phase_and_progress(open_app, app_rt, sandbox_control, alice):
    ready_user(app_rt, sandbox_control, alice)
    add_run(app_rt, alice, state=SyncRunState.RUNNING, finished_at=None, duration_ms=None, heartbeat_at=utcnow(),
            phase="Добавление товаров: 40 (25 из 40), осталось около 2 мин 30 с", total=40, done=25, added=25)
    with runs.user_lock(app_rt.sessions, alice.id) as lock:  # the run's process is alive (holds the user's lock)
        assert lock.acquire()
        at = open_app(alice, page=SYNC)
    block = keyed_block(at, "sync-run-current")
    assert block is not None
    text = page_text(block)
    assert "Синхронизация идёт: Добавление товаров: 40 (25 из 40), осталось около 2 мин 30 с" in text.replace("\\", "")
    assert "добавлено 25" in text
    assert at.button(key="sync-run-now").disabled


def test_last_runs_show_trigger_duration_counts_reason_and_failures(open_app, app_rt, sandbox_control, alice):
    ready_user(app_rt, sandbox_control, alice)
    finished = add_run(app_rt, alice, added=3, changed=1, unchanged=10, failed=1,
                       failures=[{"product_id": "p-assam", "name": "Ассам",
                                  "reason": "Название товара слишком длинное"}])
    stopped = add_run(app_rt, alice, trigger="page", triggered_by="Alice", state=SyncRunState.STOPPED,
                      stop_reason="В сообществе выключены товары: включите раздел «Товары» в настройках сообщества")
    at = open_app(alice, page=SYNC)
    assert not at.exception
    first = page_text(keyed_block(at, f"sync-run-{finished}")).replace("\\", "")
    assert "Готово" in first and "cron (run/sync.sh)" in first and "1 мин 2 с" in first
    assert "добавлено 3, изменено 1" in first and "без изменений 10" in first and "ошибок 1" in first
    assert "Ассам: Название товара слишком длинное" in first
    second = page_text(keyed_block(at, f"sync-run-{stopped}")).replace("\\", "")
    assert "Остановлено" in second and "со страницы: Alice" in second
    assert "В сообществе выключены товары" in second


def test_the_run_list_renders_its_badge_and_bold_and_escapes_provider_text(open_app, app_rt, sandbox_control, alice):
    """Issue 15.1: the outcome line was shown as `:green-badge[Готово] **Синхронизация**` (the app's own
    markup escaped); a product name carrying markup must still show as written."""
    ready_user(app_rt, sandbox_control, alice)
    finished = add_run(app_rt, alice, added=1, failed=1,
                       failures=[{"product_id": "p-x", "name": "**Жирный** :red[чай]", "reason": "`код`"}])
    stopped = add_run(app_rt, alice, state=SyncRunState.STOPPED, stop_reason="Стоп :material/home:")
    at = open_app(alice, page=SYNC)
    assert not at.exception
    heading = keyed_block(at, f"sync-run-{finished}").markdown[0].value
    assert heading.startswith(":orange-badge[Готово с ошибками] **Синхронизация** "), heading
    assert keyed_block(at, f"sync-run-{stopped}").markdown[0].value.startswith(":orange-badge[Остановлено] ")
    failure = [m.value for m in keyed_block(at, f"sync-run-{finished}").markdown if "Жирный" in m.value][0]
    assert failure == "\\*\\*Жирный\\*\\* &#58;red\\[чай\\]: \\`код\\`"
    warning = keyed_block(at, f"sync-run-{stopped}").warning[0].value
    assert warning == "Стоп &#58;material/home&#58;"


def test_a_finished_preview_shows_its_plan(open_app, app_rt, sandbox_control, alice):
    ready_user(app_rt, sandbox_control, alice)
    add_run(app_rt, alice, dry_run=True, unchanged=2, plan={
        "add": [{"product_id": "p-sencha", "name": "Сенча"}], "change": [], "hide": [],
        "delete": [{"product_id": "p-old", "name": "Старый чай"}], "unchanged": 2,
        "skip": [{"product_id": "p-espresso", "name": "Эспрессо", "reason": "Нулевая цена"}]})
    at = open_app(alice, page=SYNC)
    text = page_text(keyed_block(at, "sync-run-plan")).replace("\\", "")
    assert "План: добавить 1, изменить 0, скрыть 0, удалить 1, без изменений 2" in text
    assert "Сенча" in text and "Старый чай" in text and "Эспрессо — Нулевая цена" in text


def test_a_preview_click_still_toasts_once_the_callback_draws_nothing(open_app, app_rt, sandbox_control, alice,
                                                                      caplog):
    """Issue 15.9: the server log warned "A fragment rerun was triggered with a callback…" on every click
    (the callback drew a toast); the toast now comes from the fragment's own run. AppTest does not run
    fragment callbacks as fragment reruns: tests/e2e/test_every_page.py reads the real server's log."""
    ready_user(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    with caplog.at_level("WARNING"):
        at.button(key="sync-run-preview").click().run()
    assert not at.exception
    assert not [r for r in caplog.records if "fragment rerun was triggered with a callback" in r.getMessage()]
    assert any("Предпросмотр запрошен" in str(toast.value) for toast in at.toast)


def test_the_run_list_reads_the_outcome_and_what_the_community_holds(open_app, app_rt, sandbox_control, alice):
    """Issue 17.4: «Готово с ошибками» with the refused products' count and share, each with its reason;
    what went on sale, hidden and skipped (each reason); a clean run reads «Готово»."""
    ready_user(app_rt, sandbox_control, alice)
    result = {"on_sale": 57, "hidden": 2, "skipped": {"Нулевая цена: по настройке такие товары не выгружаются": 3}}
    refused = add_run(app_rt, alice, added=59, failed=1, skipped=3, plan={"result": result},
                      failures=[{"product_id": "p-assam", "name": "Ассам", "reason": "Нет фото товара"}])
    clean = add_run(app_rt, alice, added=60, plan={"result": {"on_sale": 60, "hidden": 0, "skipped": {}}})
    at = open_app(alice, page=SYNC)
    assert not at.exception
    text = page_text(keyed_block(at, f"sync-run-{refused}")).replace("\\", "")
    assert "Готово с ошибками" in text
    assert ("В сообществе: в продаже 57, скрыто (не для продажи) 2; не выгружено 3: Нулевая цена: по настройке "
            "такие товары не выгружаются — 3; отказано: 1 товар из 60 (1,7 %)") in text
    assert "Ассам: Нет фото товара" in text
    assert [e.label for e in keyed_block(at, f"sync-run-{refused}").expander] == ["Не приняты сообществом: 1"]
    other = page_text(keyed_block(at, f"sync-run-{clean}")).replace("\\", "")
    assert "Готово с ошибками" not in other and "Готово" in other
    assert "В сообществе: в продаже 60, скрыто (не для продажи) 0" in other and "отказано" not in other
