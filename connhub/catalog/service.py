"""What the catalog page needs in one place, every call scoped to the signed-in user.

The page asks which of the user's connections can show a catalog, what refresh is running or last
finished, and asks for a refresh; it never touches a token or the provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog import queries, refresh
from connhub.catalog.queries import SnapshotView, StoreView
from connhub.catalog.refresh import JobView
from connhub.catalog.refresh import catalog_providers as catalog_providers  # the page asks the door
from connhub.catalog.rules import Rule
from connhub.db import execute_write
from connhub.journal import hooks as journal_hooks
from connhub.models import CatalogRule, Connection, RefreshSource, RuleMode, RuleTarget, Status, User
from connhub.runtime import Runtime
from connhub.text import duration, number, plural


@dataclass(frozen=True)
class CatalogConnection:
    id: int
    provider: str
    status: Status
    status_reason: str


def catalog_connection(session: Session, user_id: int, providers: Iterable[str]) -> CatalogConnection | None:
    """The user's first connection (in registry order) whose provider offers a catalog."""
    order = list(providers)
    rows = session.scalars(select(Connection).where(Connection.user_id == user_id,
                                                    Connection.provider.in_(order))).all()
    if not rows:
        return None
    row = min(rows, key=lambda r: order.index(r.provider))
    return CatalogConnection(row.id, row.provider, Status(row.status), row.status_reason)


def _owned(session: Session, user_id: int, connection_id: int) -> bool:
    return session.scalar(select(Connection.id).where(Connection.id == connection_id,
                                                      Connection.user_id == user_id)) is not None


def request_refresh(sessions: sessionmaker[Session], user_id: int, connection_id: int,
                    store_id: str | None) -> JobView | None:
    """«Обновить каталог»: queue a refresh (or join the one queued); None if not the user's."""
    with sessions() as session:
        if not _owned(session, user_id, connection_id):
            return None
    return refresh.request_refresh(sessions, connection_id, store_id=store_id, source=RefreshSource.USER,
                                   user_id=user_id)


@dataclass(frozen=True)
class RefreshStatus:
    latest: JobView | None  # the newest job, running or not (a failed one says why)
    last_success: JobView | None  # the refresh the shown catalog came from
    requested_by_name: str  # who asked for it ("" for the schedule)


def refresh_status(session: Session, user_id: int, connection_id: int, store_id: str | None) -> RefreshStatus:
    if not _owned(session, user_id, connection_id):
        return RefreshStatus(None, None, "")
    latest = refresh.latest_job(session, connection_id)
    finished = refresh.last_finished_job(session, connection_id, store_id, succeeded=True)
    name = ""
    if finished is not None and finished.requested_by_user_id is not None:
        user = session.get(User, finished.requested_by_user_id)
        name = (user.name or user.email or "пользователь") if user is not None else "пользователь"
    return RefreshStatus(latest, finished, name)


# --- rules (the only writes the catalog page makes) ------------------------------------------


def set_rules(sessions: sessionmaker[Session], user_id: int, store_id: str, kind: RuleTarget,
              targets: Sequence[tuple[str, str]], mode: RuleMode) -> int:
    """Include or exclude each (target id, name); an existing rule on a target changes its mode."""
    def write(session: Session) -> int:
        existing = {row.target_id: row for row in session.scalars(
            select(CatalogRule).where(CatalogRule.user_id == user_id, CatalogRule.store_id == store_id,
                                      CatalogRule.target_kind == kind,
                                      CatalogRule.target_id.in_([t for t, _ in targets])))}
        for target_id, name in targets:
            row = existing.get(target_id)
            if row is None:
                session.add(CatalogRule(user_id=user_id, store_id=store_id, target_kind=kind,
                                        target_id=target_id, mode=mode, target_name=name[:255]))
            else:
                row.mode = mode
                row.target_name = name[:255] or row.target_name
        journal_hooks.rules_changed(session, user_id=user_id, store_id=store_id, added=True, mode=mode,
                                    targets=[(kind, name or target_id) for target_id, name in targets])
        return len(targets)
    return execute_write(sessions, write)


def remove_rules(sessions: sessionmaker[Session], user_id: int, rule_ids: Iterable[int]) -> int:
    ids = list(rule_ids)

    def write(session: Session) -> int:
        rows = list(session.scalars(select(CatalogRule).where(CatalogRule.user_id == user_id,
                                                              CatalogRule.id.in_(ids))))
        for row in rows:
            journal_hooks.rules_changed(session, user_id=user_id, store_id=row.store_id, added=False,
                                        mode=row.mode, targets=[(row.target_kind, row.target_name)])
            session.delete(row)
        return len(rows)
    return execute_write(sessions, write)


# --- the page's door: each call opens its own session ----------------------------------------


class TypeNames(dict[str, str]):
    """A provider's product types in Russian; `label` shows an unknown type as its code."""

    def label(self, code: str) -> str:
        return self.get(code, code)


def type_names(rt: Runtime, provider: str) -> TypeNames:
    return TypeNames(rt.providers.get(provider).product_type_names())


def connection_for(rt: Runtime, user_id: int, providers: Iterable[str]) -> CatalogConnection | None:
    with rt.sessions() as session:
        return catalog_connection(session, user_id, providers)


def refresh_state(rt: Runtime, user_id: int, connection_id: int, store_id: str | None) -> RefreshStatus:
    with rt.sessions() as session:
        return refresh_status(session, user_id, connection_id, store_id)


def stores_of(rt: Runtime, user_id: int, connection_id: int, providers: Iterable[str]) -> list[StoreView]:
    with rt.sessions() as session:
        return [s for s in queries.stores_for_user(session, user_id, providers) if s.connection_id == connection_id]


def snapshot_and_rules(rt: Runtime, user_id: int, connection_id: int,
                       store_id: str) -> tuple[SnapshotView | None, list[Rule]]:
    with rt.sessions() as session:
        return (queries.current_snapshot(session, user_id, connection_id, store_id),
                queries.rules_for(session, user_id, store_id))


_RULE_WORDS = {
    RuleTarget.STORE: ("Магазин", "включён в выгрузку", "исключён из выгрузки"),
    RuleTarget.GROUP: ("Группа", "включена в выгрузку", "исключена из выгрузки"),
    RuleTarget.PRODUCT: ("Товар", "включён в выгрузку", "исключён из выгрузки"),
}


def rule_toast(kind: RuleTarget, mode: RuleMode, names: Sequence[str]) -> str:
    """«Группа «Чай»: исключена из выгрузки»; «Товары: 3 исключены из выгрузки» for several."""
    noun, included, excluded = _RULE_WORDS[kind]
    if len(names) == 1:
        return f"{noun} «{names[0]}»: {included if mode == RuleMode.INCLUDE else excluded}"
    count = len(names)
    verb = "включен" if mode == RuleMode.INCLUDE else "исключен"
    plural_noun = {"Магазин": "Магазины", "Группа": "Группы", "Товар": "Товары"}[noun]
    ending = plural(count, "", "ы", "о") if noun != "Группа" else plural(count, "а", "ы", "о")
    return f"{plural_noun}: {count} {verb}{ending} {'в выгрузку' if mode == RuleMode.INCLUDE else 'из выгрузки'}"


def refreshed_text(status: RefreshStatus, finished: str) -> str:
    """«Обновлён 03.12.2026 06:28 по расписанию, все магазины — прочитано товаров и групп: 5 074 за 2 мин 30 с.»"""
    job = status.last_success
    if job is None:
        return "Каталог ещё не загружался."
    who = "по расписанию" if job.source == RefreshSource.SCHEDULE else f"по запросу: {status.requested_by_name}"
    scope = "все магазины" if job.store_id is None else "этот магазин"
    seconds = None if job.duration_ms is None else job.duration_ms / 1000
    return (f"Обновлён {finished} {who}, {scope} — прочитано товаров и групп: {number(job.items_read)} "
            f"за {duration(seconds)}.")


def ask_refresh(rt: Runtime, user_id: int, connection_id: int, store_id: str | None) -> JobView | None:
    return request_refresh(rt.sessions, user_id, connection_id, store_id)


def apply_rules(rt: Runtime, user_id: int, store_id: str, kind: RuleTarget, targets: Sequence[tuple[str, str]],
                mode: RuleMode) -> int:
    return set_rules(rt.sessions, user_id, store_id, kind, targets, mode)


def delete_rule(rt: Runtime, user_id: int, rule_id: int) -> int:
    return remove_rules(rt.sessions, user_id, [rule_id])


def catalog_of(rt: Runtime, snapshot: SnapshotView) -> queries.StoreCatalog:
    """The snapshot in memory (loaded once per process)."""
    return queries.load_catalog(rt.sessions, snapshot)
