#!/usr/bin/env bash
# Publish each user's selected Evotor products to their VK community's goods (cron-friendly).
#
#   run/sync.sh [--user SUBJECT_OR_EMAIL] [--dry-run] [--trigger cron|manual]
#
# For each user (or the one named): run/read_config.py decides. Off → one line, skipped.
# Not ready (its exit code 4) → the problems are printed and the user skipped. Ready → the
# engine runs (python -m connhub.sync). One run per user at a time, guaranteed by the database
# whoever starts it: a second one exits at once saying a run is in progress. One line per phase,
# a summary line at the end; every line starts with a timestamp.
# --dry-run prints the plan (what would be added, changed, hidden, deleted) and changes nothing.
#
# Exit codes: 0 every ready user synced (users that are off do not count);
# 4 a user was not ready; 5 a run stopped (e.g. goods switched off in the community);
# 6 a run was already in progress; 2 bad usage or unknown user; 1 anything else.
# With several users the highest of these wins.
#
# Environment: the app's (DATABASE_URL, CONNHUB_DATA_DIR, ...); PYTHON picks the interpreter.
# While `make run` runs on the sandbox, its resolved settings (data/sandbox.env) are read too,
# so this publishes to the same sandbox the page shows. Runs are recorded as «cron (run/sync.sh)»,
# or «вручную (run/sync.sh)» when started at a terminal (--trigger says it outright).

set -u
cd "$(dirname "$0")/.." || exit 1
sandbox_env="${CONNHUB_DATA_DIR:-data}/sandbox.env"
if [ -f "$sandbox_env" ]; then set -a; . "$sandbox_env"; set +a; fi
export PYTHONWARNINGS=ignore  # no library's English warnings in a Russian log

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

user=""
dry_run=""
trigger=cron
if [ -t 0 ] || [ -t 1 ]; then trigger=manual; fi
while [ $# -gt 0 ]; do
    case "$1" in
        --user) [ $# -ge 2 ] || { echo "sync.sh: --user needs a value" >&2; exit 2; }; user="$2"; shift 2 ;;
        --user=*) user="${1#--user=}"; shift ;;
        --dry-run) dry_run="--dry-run"; shift ;;
        --trigger) [ $# -ge 2 ] || { echo "sync.sh: --trigger needs cron or manual" >&2; exit 2; }; trigger="$2"; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "sync.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

case "$trigger" in cron|manual) ;; *) echo "sync.sh: --trigger is cron or manual" >&2; exit 2 ;; esac

# Severity order for the overall exit code: 1 (unexpected) outranks everything.
severity() { case "$1" in 0) echo 0 ;; 6) echo 1 ;; 4) echo 2 ;; 5) echo 3 ;; 2) echo 4 ;; *) echo 5 ;; esac; }
worst_code=0
note() {
    if [ "$(severity "$1")" -gt "$(severity "$worst_code")" ]; then worst_code="$1"; fi
}

# Every line carries a timestamp. Data (a subject, a message) is only ever passed to printf as an
# argument, never spliced into a program's text (sed, a -c string): a subject is outside input.
now() { printf '%(%Y-%m-%d %H:%M:%S)T' -1; }
shown=""  # the current subject as printed: control characters (a newline) become «?»
say() { printf '%s sync[%s]: %s\n' "$(now)" "$shown" "$1"; }
say_lines() { local line; while IFS= read -r line || [ -n "$line" ]; do say "$line"; done; }
stamp() { local line; while IFS= read -r line || [ -n "$line" ]; do printf '%s %s\n' "$(now)" "$line"; done; }

users_file="$(mktemp)" || { printf '%s sync: cannot create a temporary file\n' "$(now)" >&2; exit 1; }
trap 'rm -f "$users_file"' EXIT
if [ -n "$user" ]; then
    printf '%s\0' "$user" >"$users_file"
else
    # One subject per NUL: a subject may hold a newline and still be one user.
    "$PYTHON" -m connhub.sync --list-users --null >"$users_file" \
        || { printf '%s sync: cannot list users\n' "$(now)" >&2; exit 1; }
fi

# One run per user at a time is the database's guarantee (python -m connhub.sync exits 6 when
# the user's run is already going, whoever started it: cron, the page or a person).
synced=0; off=0; not_ready=0; busy=0; stopped=0; failed=0; total=0
while IFS= read -r -d '' name <&3; do
    [ -n "$name" ] || continue
    total=$((total + 1))
    shown="${name//[[:cntrl:]]/?}"
    report="$("$PYTHON" run/read_config.py --user "$name" --format json 2>&1 </dev/null)"
    rc=$?
    case "$rc" in
        0) ;;
        3) say "синхронизация выключена — пропуск"; off=$((off + 1)); continue ;;
        4)
            say "не готово к синхронизации — пропуск"
            printf '%s\n' "$report" | "$PYTHON" -c '
import json, sys
for problem in json.load(sys.stdin).get("problems", []):
    print("  - " + " ".join(str(problem["message"]).split()))' | say_lines
            not_ready=$((not_ready + 1)); note 4; continue ;;
        2) printf '%s\n' "$report" | say_lines >&2; failed=$((failed + 1)); note 2; continue ;;
        *) say "read_config завершился с кодом $rc:" >&2; printf '%s\n' "$report" | say_lines >&2
           failed=$((failed + 1)); note 1; continue ;;
    esac
    "$PYTHON" -m connhub.sync --user "$name" --trigger "$trigger" $dry_run </dev/null 2>&1 | stamp
    rc=${PIPESTATUS[0]}
    case "$rc" in
        0) synced=$((synced + 1)) ;;
        3) off=$((off + 1)) ;;
        4) not_ready=$((not_ready + 1)); note 4 ;;
        5) stopped=$((stopped + 1)); note 5 ;;
        6) busy=$((busy + 1)); note 6 ;;
        *) failed=$((failed + 1)); note 1 ;;
    esac
done 3<"$users_file"

mode=""; [ -n "$dry_run" ] && mode=" (пробный запуск)"
printf '%s sync: итог%s — пользователей %s: синхронизировано %s, выключено %s, не готово %s, остановлено %s, уже шло %s, ошибок %s\n' \
    "$(now)" "$mode" "$total" "$synced" "$off" "$not_ready" "$stopped" "$busy" "$failed"
exit "$worst_code"
