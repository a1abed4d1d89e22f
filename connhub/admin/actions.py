"""Acting on a user's behalf: «Проверить сейчас» and «Синхронизировать сейчас», each recorded in
the owner's journal with the administrator as actor."""

from __future__ import annotations

from sqlalchemy import select

from connhub import connections
from connhub.admin.access import Actor, require_admin
from connhub.admin.details import owner_of
from connhub.admin.views import ActionResult
from connhub.journal import events
from connhub.journal.record import record as journal_record
from connhub.models import Connection
from connhub.runtime import Runtime
from connhub.sync import runs
from connhub.sync.config import get_config
from connhub.sync.runs import RunInProgress


def actor_label(actor: Actor) -> str:
    """How an action on someone's behalf names who did it (runs' `triggered_by`)."""
    return f"администратор {actor.label}"[:320]


def record_action(rt: Runtime, actor: Actor, action: str, *, owner_id: int, service: str, subject: str,
                  outcome: str, connection_id: int | None = None) -> None:
    """The one place an administrator's action on a user's behalf is recorded: in the owner's
    journal, with the administrator as actor."""
    with rt.sessions.begin() as session:
        journal_record(session, events.admin_action(owner_id, actor.label, action=action, service=service,
                                                    subject=subject, outcome=outcome, connection_id=connection_id))


def check_now_for(rt: Runtime, actor: Actor, connection_id: int) -> ActionResult:
    """«Проверить сейчас» on the owner's behalf: the same check and write as the owner's button."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        found = session.execute(select(Connection.user_id, Connection.provider)
                                .where(Connection.id == connection_id)).first()
    if found is None:
        return ActionResult(False, "Подключение уже удалено.")
    owner_id, service = found
    view = connections.check_now(rt, user_id=owner_id, connection_id=connection_id)
    if view is None:
        record_action(rt, actor, "check_now", owner_id=owner_id, service=service, subject=f"connection:{connection_id}",
                      outcome="gone", connection_id=connection_id)
        return ActionResult(False, "Подключение удалено во время проверки.")
    record_action(rt, actor, "check_now", owner_id=owner_id, service=service, subject=f"connection:{connection_id}",
                  outcome=view.status, connection_id=connection_id)
    return ActionResult(True, "Проверка выполнена.", connection=view)


def sync_now_for(rt: Runtime, actor: Actor, user_id: int) -> ActionResult:
    """«Синхронизировать сейчас» on the owner's behalf: a run request naming the administrator."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        if owner_of(session, user_id) is None:
            return ActionResult(False, "Пользователь не найден.")
        config = get_config(session, user_id)
    if not config.is_on:
        return ActionResult(False, "Синхронизация этого пользователя выключена: включает её только он сам.")
    try:
        run = runs.request_run(rt.sessions, user_id, triggered_by=actor_label(actor))
    except RunInProgress as exc:
        which = f"Уже идёт запуск № {exc.run.id}" if exc.run is not None else "Запуск уже начинается"
        return ActionResult(False, f"{which}: дождитесь его окончания.", run=exc.run)
    record_action(rt, actor, "sync_now", owner_id=user_id, service="sync", subject=f"sync_run:{run.id}",
                  outcome=run.state)
    return ActionResult(True, f"Запуск № {run.id} запрошен; его начнёт фоновый процесс.", run=run)
