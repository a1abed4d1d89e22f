#!/usr/bin/env python3
"""One user's sync configuration, for the shell sync script and for people.

    python run/read_config.py [--user SUBJECT_OR_EMAIL] [--format json|env] [--with-tokens]

    eval "$(python run/read_config.py --format env)"   # CONNHUB_SYNC_ENABLED, _READY, ...

Exit codes: 0 ready; 3 off, never confirmed or not configured; 4 on but not ready; 2 bad usage
or unknown user; 1 anything unexpected. See README «Синхронизация: настройка и read_config».
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connhub.sync.readout import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
