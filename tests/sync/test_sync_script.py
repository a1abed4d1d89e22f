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


def test_cron_from_a_plain_shell_finds_make_runs_sandbox_settings(rt, sandbox, alice, vk_goods, tmp_path):
    """`env -i HOME=… PATH=/usr/bin:/bin`, another directory, the scripts called by path: the
    sandbox settings `make run` leaves in the data directory are found, no venv is activated, every
    line of run/sync.sh carries a timestamp, no English library warning reaches it, and the run
    is recorded as cron's."""
    import json
    import re
    import shlex

    from pydantic import SecretStr
    from sqlalchemy import select

    ready_for_goods(rt, alice, vk_goods)
    data_dir = Path(rt.settings.CONNHUB_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "sandbox.env").write_text("".join(f"export {name}={shlex.quote(value)}\n"
                                                  for name, value in sandbox.env().items()), encoding="utf-8")
    core = {name: str(value.get_secret_value() if isinstance(value, SecretStr) else value)
            for name, value in rt.settings.model_dump().items() if value is not None}
    plain = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"} | core
    try:
        config = subprocess.run(["/usr/bin/python3", str(ROOT / "run" / "read_config.py"), "--user", alice.email,
                                 "--format", "json"], capture_output=True, text=True, env=plain, cwd=tmp_path,
                                timeout=180, check=False)
        assert config.returncode == 0, config.stdout + config.stderr
        assert json.loads(config.stdout)["fresh"] is True
        done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=plain, cwd=tmp_path, timeout=180,
                              check=False)
    finally:
        (data_dir / "sandbox.env").unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    stamped = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
    assert lines and all(stamped.match(line) for line in lines), lines
    assert not any("Warning" in line or "warn" in line.lower() for line in lines), lines
    assert set(by_sku(vk_goods)) == SELECTED  # published to the sandbox the page shows
    with rt.sessions() as session:
        [run] = session.scalars(select(SyncRun)).all()
    assert run.trigger == runs.Trigger.CRON and run.state == SyncRunState.FINISHED
