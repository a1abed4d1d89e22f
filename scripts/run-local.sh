#!/usr/bin/env bash
# `make run`: migrate, then run the checker and the app (and the sandbox providers when no
# real provider credentials are configured) until Ctrl-C, which stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
APP_PORT=${APP_PORT:-8501}
SANDBOX_PORT=${SANDBOX_PORT:-8090}
DATA_DIR=${CONNHUB_DATA_DIR:-data}
# The resolved sandbox settings, for run/sync.sh and run/read_config.py from any shell (cron);
# removed when `make run` stops, so nothing talks to a sandbox that is gone.
SANDBOX_ENV="$DATA_DIR/sandbox.env"
pids=()
stop_all() { trap - EXIT INT TERM; rm -f "$SANDBOX_ENV"; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop_all EXIT INT TERM

credentials=$($PY -c 'from connhub.runtime import load_settings; from connhub.providers.registry import uses_real_credentials; print("real" if uses_real_credentials(load_settings()) else "none")')
if [ "$credentials" = "none" ]; then
  base="http://127.0.0.1:${SANDBOX_PORT}"
  # Every registered provider's variables, pointed at the sandbox.
  eval "$($PY -m connhub.sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" --print-env)"
  export PUBLIC_URL="${PUBLIC_URL:-http://localhost:${APP_PORT}}"
  mkdir -p "$DATA_DIR"
  { $PY -m connhub.sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" --print-env
    printf 'export PUBLIC_URL=%q\n' "$PUBLIC_URL"; } >"$SANDBOX_ENV"
  echo "No provider credentials configured: using the sandbox providers at $base"
  $PY -m connhub.sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" & pids+=($!)
  for _ in $(seq 1 100); do
    $PY -c "import requests,sys; sys.exit(requests.get('$base/healthz', timeout=1).status_code != 200)" 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "the sandbox failed to start"; exit 1; }
    sleep 0.2
  done
fi

$PY -m alembic upgrade head
$PY checker.py & pids+=($!)
# Streamlit prints the address the OAuth return lands on (PUBLIC_URL), not 127.0.0.1.
$PY -m streamlit run app.py --server.address 127.0.0.1 --server.port "$APP_PORT" --browser.serverAddress localhost & pids+=($!)
echo "connhub: http://localhost:${APP_PORT}  (Ctrl-C stops everything)"
wait -n "${pids[@]}"
