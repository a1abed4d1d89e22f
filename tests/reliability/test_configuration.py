"""Row 12 of issue 7: a bad database URL, data directory or public URL is refused at start, by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connhub.config import PROJECT_ROOT, ConfigError
from connhub.runtime import load_settings


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("DATABASE_URL", "foo://bar", "database 'foo' is not supported"),
    ("DATABASE_URL", "postgresql+nodriver://db/x", "postgresql+psycopg"),
    ("DATABASE_URL", "postgresql+psycopg2://db/x", "driver 'psycopg2' is not installed"),
    ("DATABASE_URL", "data/connhub.db", "must be an SQLAlchemy URL"),
    ("CONNHUB_DATA_DIR", "/proc/nope", "cannot create the directory /proc/nope"),
    ("PUBLIC_URL", "http://:80", "must name a host"),
    ("PUBLIC_URL", "http://host:99999", "valid port"),
])
def test_a_bad_setting_is_refused_with_the_variables_name(tmp_path, variable, value, says):
    values = {"_env_file": None, "CONNHUB_DATA_DIR": tmp_path, variable: value}
    with pytest.raises(ConfigError) as refused:
        load_settings(**values)
    assert f"{variable}:" in str(refused.value)
    assert says in str(refused.value)


def test_a_data_directory_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="CONNHUB_DATA_DIR: .* is not a directory"):
        load_settings(_env_file=None, CONNHUB_DATA_DIR=tmp_path / "file")


@pytest.mark.parametrize(("variable", "value"), [
    ("DATABASE_URL", "foo://bar"), ("CONNHUB_DATA_DIR", "/proc/nope"), ("PUBLIC_URL", "http://:80"),
])
def test_the_checker_refuses_a_bad_setting_without_a_traceback(tmp_path, variable, value):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "CONNHUB_DATA_DIR": str(tmp_path),
           variable: value}
    done = subprocess.run([sys.executable, "checker.py", "--once"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"{variable}:" in done.stderr
    assert "Traceback" not in done.stderr
