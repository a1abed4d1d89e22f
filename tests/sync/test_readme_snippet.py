"""The README's shell snippet, run exactly as written under `bash -euo pipefail`, in each state."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from connhub.runtime import Runtime
from tests.support.sync import GROUP, STORE, connect_both, load_catalog, ready_user, save_config, switch_on

ROOT = Path(__file__).resolve().parents[2]


def snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Sync configuration and `run/read_config.py`", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's read_config section has no bash block"
    return match[1]


def run_snippet(rt: Runtime) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHON=sys.executable)
    for name, value in rt.settings.model_dump().items():
        env[name] = str(value.get_secret_value() if isinstance(value, SecretStr) else value)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", snippet()], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_snippet_runs_under_strict_bash():
    assert snippet().startswith("#!/usr/bin/env bash\nset -euo pipefail\n")


def test_when_ready_the_snippet_goes_on_with_the_settings(rt, alice, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    done = run_snippet(rt)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"syncing store {STORE} to VK community {GROUP} (5 products)"


def test_when_off_the_snippet_stops_quietly(rt, alice):
    done = run_snippet(rt)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "connhub: the sync is off"


def test_when_on_but_not_ready_the_snippet_stops_with_the_problems(rt, alice, sandbox_control):
    source_id, _ = connect_both(rt, sandbox_control, alice, rights=["groups"])
    load_catalog(rt, source_id)
    save_config(rt, alice)
    switch_on(rt, alice)
    done = run_snippet(rt)
    assert done.returncode == 4
    assert "the sync is on but not ready: target_rights.missing" in done.stderr


def test_when_read_config_fails_the_snippet_fails_with_its_code(rt, alice, bob):  # two users, no --user
    done = run_snippet(rt)
    assert done.returncode == 2
    assert "read_config failed (exit 2)" in done.stderr
