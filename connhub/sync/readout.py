"""`run/read_config.py`: one user's sync configuration for shell scripts and people.

    python run/read_config.py [--user SUBJECT_OR_EMAIL] [--format json|env] [--with-tokens]

Exit codes: 0 ready to sync; 3 switched off, never confirmed, or no configuration (or no user)
yet; 4 switched on but not ready (`problems` says why); 2 bad usage or unknown user; 1 anything
unexpected. The report is printed for 0, 3 and 4. Tokens are printed only with `--with-tokens`,
and never to a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from connhub.connections import ConnectionView
from connhub.models import User
from connhub.ports.errors import ProviderError
from connhub.runtime import Runtime
from connhub.sync import schedule
from connhub.sync.policies import Policies
from connhub.sync.roles import Roles, roles
from connhub.sync.status import SyncStatus, sync_status
from connhub.sync.tokens import fresh_token
from connhub.users import OIDC_PREFIX

EXIT_READY = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_OFF = 3
EXIT_NOT_READY = 4
ENV_PREFIX = "CONNHUB_SYNC_"


class UsageError(Exception):
    """Bad usage or an unknown user: exit 2 with this message."""


@dataclass(frozen=True)
class Report:
    data: dict[str, Any]
    exit_code: int
    roles: Roles


# ----------------------------------------------------------------------------- the user


def find_user(session: Session, wanted: str | None) -> User | None:
    """The user named by subject (with or without the OIDC prefix) or e-mail; without a name, the
    only user. None when there is no user at all; UsageError when the name is unknown or ambiguous."""
    if wanted is None:
        users = session.scalars(select(User).order_by(User.id).limit(2)).all()
        if len(users) > 1:
            raise UsageError("Пользователей несколько — укажите, чей конфиг читать: --user SUBJECT_OR_EMAIL")
        return users[0] if users else None
    name = wanted.strip()
    if not name:
        raise UsageError("--user не может быть пустым")
    matches = session.scalars(select(User).where(or_(
        User.subject == name, User.subject == OIDC_PREFIX + name,
        func.lower(User.email) == name.lower(),
    )).order_by(User.id)).all()
    exact = [user for user in matches if user.subject in (name, OIDC_PREFIX + name)]
    if exact:
        return exact[0]
    if not matches:
        raise UsageError(f"Пользователь «{name}» не найден")
    if len(matches) > 1:
        raise UsageError(f"Адрес «{name}» есть у нескольких пользователей — укажите subject")
    return matches[0]


# ----------------------------------------------------------------------------- the report


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _status(view: ConnectionView | None) -> str:
    return view.status.value if view is not None else "not_connected"


def empty_report(parts: Roles) -> Report:
    """No user at all: the sync is simply off."""
    data: dict[str, Any] = {
        "user": None, "enabled": False, "confirmed_at": None, "confirmed_by": None, "ready": False,
        "problems": [{"code": "no_user", "message": "Пользователей ещё нет: откройте connhub и подключите сервисы"}],
        "changed_since_confirmation": [],
        parts.source: {"store_id": None, "store_name": None, "status": "not_connected"},
        parts.target: {"group_id": None, "group_name": None, "goods_enabled": False, "category_id": None,
                       "category_name": None, "status": "not_connected", "rights": []},
        "policies": Policies().as_dict(), "rules": [], "products": [], "catalog_refreshed_at": None,
        "schedule": None, "fresh": None, "last_success_at": None, "next_run_at": None,
    }
    return Report(data, EXIT_OFF, parts)


def build_report(rt: Runtime, user: User, status: SyncStatus, *, with_tokens: bool) -> Report:
    config, settings = status.config, status.config.settings
    problems = list(status.readiness.problems)
    source: dict[str, Any] = {
        "store_id": settings.store_id or None,
        "store_name": settings.store_name or None,
        "status": _status(status.source),
    }
    target: dict[str, Any] = {
        "group_id": settings.vk_group_id,
        "group_name": settings.vk_group_name or None,
        "goods_enabled": settings.vk_group_goods_enabled,
        "category_id": settings.vk_category_id,
        "category_name": settings.vk_category_name or None,
        "status": _status(status.target),
        "rights": sorted(name for name, present in (status.target_rights or {}).items() if present),
    }
    if with_tokens:
        for section, view, check in ((source, status.source, "source_connection"),
                                     (target, status.target, "target_connection")):
            section["token"] = None
            if view is None:
                continue
            try:
                section["token"] = fresh_token(rt, view).reveal()
            except ProviderError as exc:
                problems.append({"code": f"{check}.token_refresh_failed",
                                 "message": f"Не удалось обновить токен {view.title}: {exc.reason}"})
    ready = not problems
    rules = [{"kind": rule.kind.value, "target_id": rule.target_id, "mode": rule.mode.value, "name": rule.name}
             for rule in (status.selection.rules if status.selection is not None else ())]
    data: dict[str, Any] = {
        "user": user.subject,
        "enabled": config.is_on,
        "confirmed_at": _iso(config.confirmed_at) if config.is_on else None,
        "confirmed_by": config.confirmed_by if config.is_on else None,
        "ready": ready,
        "problems": problems,
        "changed_since_confirmation": status.changes,
        status.roles.source: source,
        status.roles.target: target,
        "policies": settings.policies.as_dict(),
        "rules": rules,
        "products": list(status.product_ids),
        "catalog_refreshed_at": _iso(status.catalog_refreshed_at),
    }
    with rt.sessions() as session:
        fresh = schedule.freshness(session, user.id, rt.settings)
    data.update(schedule=schedule.describe(fresh.schedule), fresh=fresh.fresh,
                last_success_at=_iso(fresh.last_success_at), next_run_at=_iso(fresh.next_run_at))
    code = EXIT_OFF if not config.is_on else EXIT_READY if ready else EXIT_NOT_READY
    return Report(data, code, status.roles)


def read(rt: Runtime, wanted_user: str | None, *, with_tokens: bool) -> Report:
    with rt.sessions() as session:
        user = find_user(session, wanted_user)
        if user is None:
            return empty_report(roles(rt.providers))
    status = sync_status(rt, user.id)
    return build_report(rt, user, status, with_tokens=with_tokens)


# ----------------------------------------------------------------------------- formats


def _env_value(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, (list, tuple)):
        text = " ".join(str(item) for item in value)
    else:
        text = str(value)
    return shlex.quote(text.replace("\x00", ""))


def env_lines(data: dict[str, Any], parts: Roles) -> list[str]:
    """The scalar fields as CONNHUB_SYNC_* assignments, each value quoted for `eval`."""
    source, target, policies = data[parts.source], data[parts.target], data["policies"]
    src, tgt = parts.source.upper(), parts.target.upper()
    pairs: list[tuple[str, Any]] = [
        ("USER", data["user"]),
        ("ENABLED", data["enabled"]),
        ("CONFIRMED_AT", data["confirmed_at"]),
        ("CONFIRMED_BY", data["confirmed_by"]),
        ("READY", data["ready"]),
        ("PROBLEMS", [problem["code"] for problem in data["problems"]]),
        (f"{src}_STORE_ID", source["store_id"]),
        (f"{src}_STORE_NAME", source["store_name"]),
        (f"{src}_STATUS", source["status"]),
        (f"{tgt}_GROUP_ID", target["group_id"]),
        (f"{tgt}_GROUP_NAME", target["group_name"]),
        (f"{tgt}_GOODS_ENABLED", target["goods_enabled"]),
        (f"{tgt}_CATEGORY_ID", target["category_id"]),
        (f"{tgt}_CATEGORY_NAME", target["category_name"]),
        (f"{tgt}_STATUS", target["status"]),
        (f"{tgt}_RIGHTS", target["rights"]),
        ("ON_REMOVED", policies["on_removed"]),
        ("ON_NOT_FOR_SALE", policies["on_not_for_sale"]),
        ("ON_ZERO_PRICE", policies["on_zero_price"]),
        ("PRICE_MULTIPLIER", policies["price_multiplier"]),
        ("DESCRIPTION_TEMPLATE", policies["description_template"]),
        ("PRODUCTS_COUNT", len(data["products"])),
        ("CATALOG_REFRESHED_AT", data["catalog_refreshed_at"]),
        ("SCHEDULE", data["schedule"]),
        ("FRESH", data["fresh"]),
        ("LAST_SUCCESS_AT", data["last_success_at"]),
        ("NEXT_RUN_AT", data["next_run_at"]),
    ]
    if "token" in source:
        pairs.append((f"{src}_TOKEN", source["token"]))
    if "token" in target:
        pairs.append((f"{tgt}_TOKEN", target["token"]))
    return [f"{ENV_PREFIX}{name}={_env_value(value)}" for name, value in pairs]


def render(report: Report, fmt: str) -> str:
    data = report.data
    if fmt == "env":
        return "\n".join(env_lines(data, report.roles)) + "\n"
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------- the command


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="read_config.py",
        description="Настройки синхронизации пользователя connhub для скриптов. Коды выхода: 0 — готово "
                    "к синхронизации; 3 — выключено, не подтверждено или не настроено; 4 — включено, но не "
                    "готово (см. problems); 2 — ошибка в аргументах или неизвестный пользователь; "
                    "1 — непредвиденная ошибка.",
    )
    command.add_argument("--user", metavar="SUBJECT_OR_EMAIL",
                         help="чей конфиг читать (subject или e-mail); без него — единственного пользователя")
    command.add_argument("--format", choices=("json", "env"), default="json",
                         help="json (по умолчанию) или env — присваивания CONNHUB_SYNC_* для eval")
    command.add_argument("--with-tokens", action="store_true",
                         help="добавить токены (evotor.token, vk.token); не печатается в терминал")
    return command


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
         runtime_factory: Any = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage and the error
        return EXIT_USAGE if exit_.code not in (0, None) else 0
    if args.with_tokens and out.isatty():
        print("read_config: --with-tokens не печатает токены в терминал; перенаправьте вывод в файл или "
              "программу (например, | jq или eval \"$(...)\").", file=err)
        return EXIT_USAGE
    rt = None
    try:
        rt = (runtime_factory or Runtime.from_settings)()
        report = read(rt, args.user, with_tokens=args.with_tokens)
    except UsageError as exc:
        print(f"read_config: {exc}", file=err)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the script's contract: anything unexpected is exit 1
        print(f"read_config: непредвиденная ошибка ({type(exc).__name__}): {str(exc)[:300]}", file=err)
        return EXIT_UNEXPECTED
    finally:
        if rt is not None:
            rt.close()
    out.write(render(report, args.format))
    out.flush()
    return report.exit_code
