"""run/sync.sh as cron runs it: per-user decisions from read_config, exit codes, the lock, --dry-run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.sync import runs
from tests.support.goods import by_sku, ready_for_goods
from tests.support.sync import connect_both, env_of, load_catalog, save_config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "run" / "sync.sh"
SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}


def sync_sh(rt, sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = env_of(rt) | sandbox.env()
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=180,
                          cwd=ROOT, check=False)


def test_a_ready_user_is_synced_with_a_line_per_phase_and_a_summary(rt, sandbox, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    done = sync_sh(rt, sandbox)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("Добавление товаров: 4" in line for line in lines)
    assert " sync: итог" in lines[-1] and "синхронизировано 1" in lines[-1]
    assert set(by_sku(vk_goods)) == SELECTED


def test_a_user_with_the_sync_off_is_skipped_quietly(rt, sandbox, sandbox_control, alice, vk_goods):
    source_id, _ = connect_both(rt, sandbox_control, alice)
    load_catalog(rt, source_id)
    save_config(rt, alice)  # saved, never switched on
    done = sync_sh(rt, sandbox, "--user", alice.email)
    assert done.returncode == 0, done.stderr
    assert "синхронизация выключена — пропуск" in done.stdout and "выключено 1" in done.stdout
    assert vk_goods.items(218252175) == []


def test_a_user_that_is_not_ready_is_reported_and_skipped_with_exit_4(rt, sandbox, alice, bob, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    from connhub.sync import config

    with rt.sessions() as session:  # switched on, then the VK connection went away
        from sqlalchemy import delete

        from connhub.models import Connection
        session.execute(delete(Connection).where(Connection.user_id == alice.id, Connection.provider == "vk"))
        session.commit()
        assert config.get_config(session, alice.id).is_on
    done = sync_sh(rt, sandbox, "--user", alice.email)
    assert done.returncode == 4
    assert "не готово к синхронизации — пропуск" in done.stdout and "ВКонтакте" in done.stdout


def test_a_second_run_while_one_holds_the_lock_exits_at_once(rt, sandbox, alice, vk_goods, tmp_path):
    ready_for_goods(rt, alice, vk_goods)
    with runs.start_run(rt.sessions, alice.id, trigger="page", triggered_by="alice"):  # live in this process
        done = sync_sh(rt, sandbox, "--user", alice.email)
    assert done.returncode == 6
    assert "синхронизация уже идёт" in done.stdout
    assert vk_goods.items(218252175) == []


def test_a_run_recorded_as_running_elsewhere_blocks_a_second_one(rt, sandbox, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    with rt.sessions() as session:  # e.g. started from the page, running in the sidecar
        session.add(SyncRun(user_id=alice.id, trigger="page", state=SyncRunState.RUNNING, started_at=utcnow(),
                            heartbeat_at=utcnow()))
        session.commit()
    with runs.user_lock(rt.sessions, alice.id) as lock:  # the sidecar's process holds the user's lock
        assert lock.acquire()
        done = sync_sh(rt, sandbox, "--user", alice.email)
    assert done.returncode == 6 and "уже идёт" in done.stdout
    assert vk_goods.items(218252175) == []


def test_dry_run_prints_the_plan_and_changes_nothing(rt, sandbox, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    done = sync_sh(rt, sandbox, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "план: добавить 4" in done.stdout and "добавить: Сенча [p-sencha]" in done.stdout
    assert "пропустить: Эспрессо [p-espresso]" in done.stdout
    assert "(пробный запуск)" in done.stdout.splitlines()[-1]
    assert vk_goods.items(218252175) == []


def test_goods_switched_off_stops_with_exit_5_and_the_reason(rt, sandbox, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    vk_goods.configure(group_id=218252175, goods_enabled=False)
    done = sync_sh(rt, sandbox, "--user", alice.email)
    assert done.returncode == 5
    assert "причина: В сообществе выключены товары" in done.stdout


def test_an_unknown_user_is_bad_usage(rt, sandbox, alice):
    done = sync_sh(rt, sandbox, "--user", "nobody@example.test")
    assert done.returncode == 2 and "не найден" in done.stderr
