"""`python -m connhub.sync`: run the sync for one user now, or the runs requested on the page.

    python -m connhub.sync --user SUBJECT_OR_EMAIL [--dry-run] [--trigger cron|cli]
    python -m connhub.sync --requested        # what «Синхронизировать сейчас» asked for
    python -m connhub.sync --list-users [--null]   # one subject a line (NUL-separated: run/sync.sh)

Prints one line per phase and a summary line. Exit codes: 0 finished (items that failed are
listed and counted); 3 the sync is off; 4 not ready; 5 stopped (a reason only the user can fix,
or VK not answering); 6 another run of the user is in progress; 2 bad usage or unknown user;
1 anything unexpected.
"""

from __future__ import annotations

import argparse
import logging
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

from sqlalchemy import select

from connhub.db import WRITE_WAIT_SECONDS, is_locked
from connhub.models import SyncRunState, User
from connhub.runtime import Runtime
from connhub.sync import runs, texts
from connhub.sync.engine import Outcome
from connhub.sync.readout import UsageError, find_user
from connhub.sync.service import run_now, run_requested

EXIT_DONE = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_OFF = 3
EXIT_NOT_READY = 4
EXIT_STOPPED = 5
EXIT_BUSY = 6

PLAN_SHOWN = 50  # a dry run lists at most this many products per action


def shown(subject: str) -> str:
    """A subject as printed in a line prefix: control characters (a newline) become «?»."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in subject)


def summary_line(outcome: Outcome) -> str:
    c = outcome.counts
    state = texts.outcome_label(outcome.state, c["failed"]).lower()  # «готово с ошибками»: products refused
    line = (f"итог: {state}; добавлено {c['added']}, изменено {c['changed']}, "
            f"скрыто вне выгрузки {c['hidden']}, удалено {c['deleted']}, без изменений {c['unchanged']}, "
            f"пропущено {c['skipped']}, "
            f"ошибок {c['failed']}; запросов к ВКонтакте {outcome.requests}")
    result = texts.result_text(outcome.plan, c)
    if result:
        line += f"; в сообществе: {result}"
    if outcome.stop_reason:
        line += f"; причина: {outcome.stop_reason}"
    return line


def plan_lines(plan: dict[str, Any]) -> list[str]:
    titles = {"add": "добавить", "change": "изменить", "hide": "скрыть", "delete": "удалить"}
    lines: list[str] = []
    for key, title in titles.items():
        entries = plan.get(key) or []
        lines.append(f"план: {title} {len(entries)}")
        for entry in entries[:PLAN_SHOWN]:
            lines.append(f"  {title}: {entry['name']} [{entry['product_id']}]")
        if len(entries) > PLAN_SHOWN:
            lines.append(f"  … и ещё {len(entries) - PLAN_SHOWN}")
    lines.append(f"план: без изменений {plan.get('unchanged', 0)}")
    for entry in (plan.get("skip") or [])[:PLAN_SHOWN]:
        lines.append(f"  пропустить: {entry['name']} [{entry['product_id']}] — {entry['reason']}")
    return lines


def exit_code(outcome: Outcome) -> int:
    if outcome.state == SyncRunState.FINISHED:
        return EXIT_DONE
    return {"off": EXIT_OFF, "not_ready": EXIT_NOT_READY}.get(outcome.stop_code, EXIT_STOPPED)


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m connhub.sync",
                                      description="Синхронизация товаров Эвотор с товарами сообщества ВКонтакте.")
    command.add_argument("--user", metavar="SUBJECT_OR_EMAIL", help="чью синхронизацию запустить")
    command.add_argument("--dry-run", action="store_true", help="только показать план, ничего не менять")
    command.add_argument("--trigger", choices=(runs.Trigger.CRON, runs.Trigger.MANUAL, runs.Trigger.CLI),
                         default=runs.Trigger.CLI, help="кто запустил (записывается в историю запусков)")
    command.add_argument("--requested", action="store_true", help="выполнить запуски, запрошенные на странице")
    command.add_argument("--list-users", action="store_true", help="перечислить пользователей (subject)")
    command.add_argument("--null", action="store_true",
                         help="с --list-users: разделять символом NUL (subject может содержать перевод строки)")
    return command


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
         runtime_factory: Any = None, **engine_options: Any) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = None
    try:
        rt = (runtime_factory or Runtime.from_settings)()
        if args.list_users:
            with rt.sessions() as session:
                for subject in session.scalars(select(User.subject).order_by(User.id)):
                    out.write(subject + ("\0" if args.null else "\n"))
            return EXIT_DONE
        if args.requested:
            done = run_requested(rt)
            print(f"sync: выполнено запрошенных запусков: {len(done)}", file=out)
            return EXIT_DONE
        with rt.sessions() as session:
            user = find_user(session, args.user)
            if user is None:
                print("sync: пользователей ещё нет — синхронизировать нечего", file=out)
                return EXIT_OFF
            user_id, subject = user.id, user.subject
        prefix = f"sync[{shown(subject)}]"

        def say(line: str) -> None:
            print(f"{prefix}: {line}", file=out, flush=True)

        try:
            _run, outcome = run_now(rt, user_id, trigger=args.trigger, triggered_by=args.trigger,
                                    dry_run=args.dry_run, say=say, **engine_options)
        except runs.RunInProgress as busy:
            which = f" (запуск №{busy.run.id})" if busy.run is not None else ""
            say(f"синхронизация уже идёт{which} — этот запуск пропущен")
            return EXIT_BUSY
        if args.dry_run and outcome.state == SyncRunState.FINISHED:
            for line in plan_lines(outcome.plan):
                say(line)
        for failure in outcome.failures[:PLAN_SHOWN]:
            say(f"ошибка: {failure['name']} [{failure['product_id']}] — {failure['reason']}")
        say(summary_line(outcome))
        return exit_code(outcome)
    except UsageError as exc:
        print(f"sync: {exc}", file=err)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the script's contract: anything unexpected is exit 1
        if is_locked(exc):
            print(f"sync: база данных занята другим процессом дольше {int(WRITE_WAIT_SECONDS)} с — синхронизация "
                  "остановлена, ничего не потеряно; повторите запуск позже", file=err)
            return EXIT_STOPPED
        print(f"sync: непредвиденная ошибка ({type(exc).__name__}): {str(exc)[:300]}", file=err)
        return EXIT_UNEXPECTED
    finally:
        if rt is not None:
            rt.close()


if __name__ == "__main__":
    sys.exit(main())
