"""docs/deploy.md's commands run: every `sh runnable` block, in order, as one script against a fresh
SQLite database and (when reachable) a PostgreSQL one, with a sealed token that must survive the key
rotation, the backup and the restore. Every other shell block says it is not runnable here; the
systemd units and compose.yaml it ships are checked for what the document promises."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, select

from connhub.crypto import Secret, TokenCipher
from connhub.models import Connection, User, utcnow
from connhub.runtime import emulations
from connhub.sandbox import sandbox_env

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deploy.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, set[str], str]]:
    return [(language, set(marks.split()), body) for language, marks, body in FENCE.findall(DOC.read_text())]


def test_every_shell_block_says_whether_it_runs_here():
    shell = [(marks, body) for language, marks, body in blocks() if language == "sh"]
    assert len(shell) >= 10
    for marks, body in shell:
        assert marks & {"runnable", "not-runnable-here"}, f"unmarked block:\n{body}"


def script_for(database: str) -> str:
    parts = ["set -euo pipefail"]
    for language, marks, body in blocks():
        if language == "sh" and "runnable" in marks and not (marks & ({"sqlite", "postgresql"} - {database})):
            parts.append(body)
    return "\n".join(parts)


def clean_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CONNHUB_", "DATABASE_", "EVOTOR_", "VK_", "ADMIN_", "METRICS_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(ROOT),
               **sandbox_env("http://127.0.0.1:9", emulations()), **values)  # loopback provider URLs: nothing leaves
    return env


def test_the_runnable_commands_run(database_url, tmp_path):
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    first_key = Fernet.generate_key().decode()
    (tmp_path / "backup").mkdir()
    (tmp_path / "keys").mkdir()
    env = clean_env(DATABASE_URL=database_url, CONNHUB_DATA_DIR=str(tmp_path / "data"),
                    CONNHUB_SECRET_KEY=first_key, BACKUP_DIR=str(tmp_path / "backup"),
                    KEY_BACKUP_DIR=str(tmp_path / "keys"), LOG_LEVEL="WARNING")
    migrated = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    engine = create_engine(database_url)
    with engine.begin() as db:  # a user's token, sealed with the first key; not due for a check
        user_id = db.execute(insert(User).values(subject="oidc:alice", email="alice@example.test", name="",
                                                 created_at=utcnow()).returning(User.id)).scalar_one()
        db.execute(insert(Connection).values(
            user_id=user_id, provider="evotor", auth_method="token", account_id="1", display_name="Чайная",
            profile={}, auth_params={}, access_token_sealed=TokenCipher([first_key.encode()]).seal(Secret("t0k")),
            token_version=1, status="online", next_check_at=utcnow() + timedelta(days=1), created_at=utcnow(),
            updated_at=utcnow()))

    done = subprocess.run(["bash", "-c", script_for(database)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "re-sealed 1 rows under the primary key" in done.stdout

    final_key = (tmp_path / "keys" / "connhub-secret-key").read_text().strip()
    assert final_key and final_key != first_key and "," not in final_key  # rotated, old key dropped
    with engine.connect() as db:
        sealed = db.scalar(select(Connection.access_token_sealed))
    engine.dispose()
    assert TokenCipher([final_key.encode()]).open(sealed).reveal() == "t0k"  # restored, under the new key
    backup = "connhub.dump" if database == "postgresql" else "connhub.db"
    assert (tmp_path / "backup" / backup).stat().st_size > 0
    assert oct((tmp_path / "keys" / "connhub-secret-key").stat().st_mode & 0o777) == "0o600"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "deploy" / name)
    return parser


def test_the_systemd_units_run_the_app_and_the_sidecar_as_the_document_says():
    app, checker = unit("connhub-app.service"), unit("connhub-checker.service")
    assert "streamlit run app.py" in app["Service"]["ExecStart"]
    assert "--server.baseUrlPath connhub" in app["Service"]["ExecStart"]
    assert checker["Service"]["ExecStart"].endswith("python checker.py")
    for parsed in (app, checker):
        assert parsed["Service"]["EnvironmentFile"] == "/etc/connhub/connhub.env"
        assert parsed["Service"]["User"] == "connhub"
        assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert checker["Service"]["KillSignal"] == "SIGTERM" and int(checker["Service"]["TimeoutStopSec"]) >= 30
    assert checker["Service"]["RestartPreventExitStatus"].split() == ["2", "3"]  # checker.py's exit codes


def test_the_compose_file_has_postgresql_a_migration_the_app_and_the_sidecar():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app", "checker"}
    assert services["db"]["image"].startswith("postgres:")
    assert "alembic upgrade head" in services["migrate"]["command"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "checker.py" in services["checker"]["command"]
    assert services["checker"]["environment"]["METRICS_PORT"] == "9464"


def test_the_files_the_document_names_exist():
    for path in re.findall(r"`((?:deploy/|compose\.yaml)[\w./-]*)`", DOC.read_text()):
        assert (ROOT / path).exists(), path
