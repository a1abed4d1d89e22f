#!/usr/bin/env bash
# Publish each user's selected Evotor products to their VK community's goods (cron-friendly).
#
#   run/sync.sh [--user SUBJECT_OR_EMAIL] [--dry-run]
#
# For each user (or the one named): run/read_config.py decides. Off → one line, skipped.
# Not ready (its exit code 4) → the problems are printed and the user skipped. Ready → the
# engine runs (python -m connhub.sync). One run per user at a time: a second one exits at once
# saying a run is in progress. One line per phase, a summary line at the end.
# --dry-run prints the plan (what would be added, changed, hidden, deleted) and changes nothing.
#
# Exit codes: 0 every ready user synced (users that are off do not count);
# 4 a user was not ready; 5 a run stopped (e.g. goods switched off in the community);
# 6 a run was already in progress; 2 bad usage or unknown user; 1 anything else.
# With several users the highest of these wins.
#
# Environment: the app's (DATABASE_URL, CONNHUB_DATA_DIR, ...); PYTHON picks the interpreter.

set -u
cd "$(dirname "$0")/.." || exit 1

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

user=""
dry_run=""
while [ $# -gt 0 ]; do
    case "$1" in
        --user) [ $# -ge 2 ] || { echo "sync.sh: --user needs a value" >&2; exit 2; }; user="$2"; shift 2 ;;
        --user=*) user="${1#--user=}"; shift ;;
        --dry-run) dry_run="--dry-run"; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "sync.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

lock_dir="${CONNHUB_DATA_DIR:-data}/locks"
mkdir -p "$lock_dir" || { echo "sync.sh: cannot create $lock_dir" >&2; exit 1; }

# Severity order for the overall exit code: 1 (unexpected) outranks everything.
severity() { case "$1" in 0) echo 0 ;; 6) echo 1 ;; 4) echo 2 ;; 5) echo 3 ;; 2) echo 4 ;; *) echo 5 ;; esac; }
worst_code=0
note() {
    if [ "$(severity "$1")" -gt "$(severity "$worst_code")" ]; then worst_code="$1"; fi
}

if [ -n "$user" ]; then
    users="$user"
else
    users="$("$PYTHON" -m connhub.sync --list-users)" || { echo "sync.sh: cannot list users" >&2; exit 1; }
fi

synced=0; off=0; not_ready=0; busy=0; stopped=0; failed=0; total=0
while IFS= read -r name; do
    [ -n "$name" ] || continue
    total=$((total + 1))
    report="$("$PYTHON" run/read_config.py --user "$name" --format json 2>&1)"
    rc=$?
    case "$rc" in
        0) ;;
        3) echo "sync[$name]: синхронизация выключена — пропуск"; off=$((off + 1)); continue ;;
        4)
            echo "sync[$name]: не готово к синхронизации — пропуск"
            printf '%s\n' "$report" | "$PYTHON" -c '
import json, sys
for problem in json.load(sys.stdin).get("problems", []):
    print("  - " + problem["message"])' | sed "s/^/sync[$name]: /"
            not_ready=$((not_ready + 1)); note 4; continue ;;
        2) echo "sync[$name]: $report" >&2; failed=$((failed + 1)); note 2; continue ;;
        *) echo "sync[$name]: read_config завершился с кодом $rc: $report" >&2; failed=$((failed + 1)); note 1; continue ;;
    esac
    lock="$lock_dir/sync-$(printf '%s' "$name" | sha256sum | cut -c1-16).lock"
    exec 9>"$lock"
    if ! flock -n 9; then
        echo "sync[$name]: синхронизация уже идёт — этот запуск пропущен"
        busy=$((busy + 1)); note 6; exec 9>&-; continue
    fi
    "$PYTHON" -m connhub.sync --user "$name" --trigger cron $dry_run
    rc=$?
    exec 9>&-
    case "$rc" in
        0) synced=$((synced + 1)) ;;
        3) off=$((off + 1)) ;;
        4) not_ready=$((not_ready + 1)); note 4 ;;
        5) stopped=$((stopped + 1)); note 5 ;;
        6) busy=$((busy + 1)); note 6 ;;
        *) failed=$((failed + 1)); note 1 ;;
    esac
done <<EOF
$users
EOF

mode=""; [ -n "$dry_run" ] && mode=" (пробный запуск)"
echo "sync: итог$mode — пользователей $total: синхронизировано $synced, выключено $off, не готово $not_ready, остановлено $stopped, уже шло $busy, ошибок $failed"
exit "$worst_code"
