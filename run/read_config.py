#!/usr/bin/env python3
"""One user's sync configuration, for the shell sync script and for people.

    python run/read_config.py [--user SUBJECT_OR_EMAIL] [--format json|env] [--with-tokens]

    eval "$(python run/read_config.py --format env)"   # CONNHUB_SYNC_ENABLED, _READY, ...

Exit codes: 0 ready; 3 off, never confirmed or not configured; 4 on but not ready; 2 bad usage
or unknown user; 1 anything unexpected. See README «Синхронизация: настройка и read_config».
"""

import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# Called by path with any python3: move into the project's environment when there is one.
if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])

# While `make run` runs on the sandbox, its resolved settings (scripts/run-local.sh).
SANDBOX_ENV = Path(os.environ.get("CONNHUB_DATA_DIR") or ROOT / "data") / "sandbox.env"
if SANDBOX_ENV.is_file():
    for line in SANDBOX_ENV.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line.removeprefix("export "))
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            os.environ[name] = value
os.environ.setdefault("PYTHONWARNINGS", "ignore")
os.chdir(ROOT)  # .env is read from the project's directory
sys.path.insert(0, str(ROOT))

from connhub.sync.readout import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
