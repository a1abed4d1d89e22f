"""run/sync.sh and python -m connhub.sync against hostile input and local faults: a subject is
data, never a command; a changed key and a held SQLite lock end with a reason, not a traceback."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import delete

from connhub.config import PROJECT_ROOT
from connhub.db import sqlite_file
from connhub.models import Connection
from tests.support.connect import make_user
from tests.support.goods import ready_for_goods
from tests.support.sandbox import process_env
from tests.work.procs import DEADLINE, Proc, sync_cli

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def sync_sh(rt, sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(PROJECT_ROOT / "run" / "sync.sh"), *args], capture_output=True, text=True,
                          env=process_env(rt) | sandbox.env(), timeout=DEADLINE, cwd=PROJECT_ROOT, check=False)


def test_a_subject_is_never_run_as_a_command_and_a_newline_subject_is_one_user(rt, sandbox, vk_goods, tmp_path):
    marker = tmp_path / "owned"
    injected = make_user(rt, f"x/;e touch {marker};#")
    ready_for_goods(rt, injected, vk_goods)
    with rt.sessions() as session:  # switched on, then VK went away: the «not ready» lines name the problems
        session.execute(delete(Connection).where(Connection.user_id == injected.id, Connection.provider == "vk"))
        session.commit()
    make_user(rt, "two\nlines")  # never configured: off

    done = sync_sh(rt, sandbox)

    assert not marker.exists()
    output = done.stdout + done.stderr
    assert "пользователей 2:" in output and "не готово 1" in output and "выключено 1" in output, output
    assert "не найден" not in output
    assert "sync[oidc:two?lines]: синхронизация выключена — пропуск" in done.stdout
    lines = output.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), lines
    assert done.returncode == 4


def test_a_changed_key_stops_the_run_with_the_keys_own_message(rt, vk_goods):
    alice = make_user(rt, "alice")
    ready_for_goods(rt, alice, vk_goods)

    done = sync_cli(rt, "--user", alice.email, CONNHUB_SECRET_KEY=Fernet.generate_key().decode())

    assert done.returncode == 5, done.stdout + done.stderr
    assert "ключом шифрования" in done.stdout and "CONNHUB_SECRET_KEY" in done.stdout
    assert "Traceback" not in done.stderr and "непредвиденная" not in done.stderr.lower()


@pytest.mark.sqlite_only("holds SQLite's file write lock")
def test_a_sqlite_write_lock_held_past_the_busy_timeout_is_waited_out(rt):
    alice = make_user(rt, "alice")  # never configured: the run starts and stops at once («выключена»)
    database = sqlite_file(rt.engine)
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock (a long write)
    cli = Proc([sys.executable, "-m", "connhub.sync", "--user", alice.email],
               process_env(rt))
    try:
        cli.expect(lambda line: "locked by another process; still waiting" in line)  # past the 30 s busy timeout
        holder.execute("COMMIT")
        assert cli.finish() == 3, cli.seen  # started, then stopped for its own reason: the sync is off
        rest = [line for line in iter(cli.lines.get, None)]
    finally:
        holder.close()
        cli.stop()
    output = "\n".join(cli.seen + rest)
    assert "синхронизация выключена" in output.lower() or "выключена" in output, output
    assert "Traceback" not in output and "непредвиденная" not in output
