"""Starting sync runs: for one user now (the script), or the runs requested on the page (the sidecar)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub import connections
from connhub.connections import ConnectionView
from connhub.db import execute_write
from connhub.health.history_views import RunPoint, run_history
from connhub.models import SyncConfig, SyncRunState, utcnow
from connhub.runtime import Runtime
from connhub.sync import config, confirmation, forecast, mapping, policies, runs, schedule, selection
from connhub.sync import template as description_template
from connhub.sync.engine import Outcome, SyncEngine
from connhub.sync.roles import roles
from connhub.sync.run_record import RunRecorder
from connhub.sync.runs import RunView
from connhub.sync.status import SyncStatus

log = logging.getLogger(__name__)


def run_now(rt: Runtime, user_id: int, *, trigger: str, triggered_by: str, dry_run: bool = False,
            say: Callable[[str], None] = lambda line: None, run_id: int | None = None,
            **engine_options: object) -> tuple[RunView, Outcome]:
    """Run the sync for one user in this process; RunInProgress when another run is active."""
    with runs.start_run(rt.sessions, user_id, trigger=trigger, triggered_by=triggered_by, dry_run=dry_run,
                        run_id=run_id, lease=runs.lease_of(rt.settings)) as active:
        run = active.run
        recorder = RunRecorder(rt.sessions, run.id)
        engine = SyncEngine(rt, user_id, recorder, dry_run=run.dry_run, say=say, **engine_options)  # type: ignore[arg-type]
        outcome = engine.run()
    return run, outcome


def _log_line(run_id: int, line: str) -> None:
    log.info("sync run %s: %s", run_id, line)


def _catalog_age(rt: Runtime, run: RunView) -> timedelta | None:
    """A scheduled run refreshes the catalog first when the copy is older than the interval."""
    if run.trigger != runs.Trigger.SCHEDULE:
        return None
    with rt.sessions() as session:
        chosen = schedule.of(session.scalar(select(SyncConfig).where(SyncConfig.user_id == run.user_id)))
    every = schedule.period(chosen, schedule.minute_of(rt.settings))
    return None if every is None else max(every, schedule.CATALOG_AGE_FLOOR)


def run_requested(rt: Runtime, *, should_stop: Callable[[], bool] = lambda: False,
                  **engine_options: object) -> list[Outcome]:
    """Claim and run every run requested on the page, oldest first (`engine_options`: the benchmark's
    image source)."""
    done: list[Outcome] = []
    while not should_stop():
        active = runs.claim_requested(rt.sessions, lease=runs.lease_of(rt.settings))
        if active is None:
            break
        with active:
            run = active.run
            recorder = RunRecorder(rt.sessions, run.id)
            engine = SyncEngine(rt, run.user_id, recorder, dry_run=run.dry_run, say=partial(_log_line, run.id),
                                catalog_max_age=_catalog_age(rt, run), **engine_options)  # type: ignore[arg-type]
            try:
                done.append(engine.run())
            except Exception:  # recorded as failed by the engine; the next request goes on
                log.exception("sync run %s failed", run.id)
    return done


__all__ = ["SyncRunState", "run_now", "run_requested"]


# ----------------------------------------------------------------------------- the page's door
# «Синхронизация» calls only these (and `status.sync_status` / `status.switch_on`): each opens its
# own session or write transaction, so the page never holds one.


def runs_now(rt: Runtime, user_id: int) -> tuple[RunView | None, RunView | None]:
    """The active run (if any) and the newest run of the user, read together."""
    with rt.sessions() as session:
        active = runs.active_run(session, user_id)
        latest = runs.recent_runs(session, user_id, limit=1)
    return active, (latest[0] if latest else None)


def past_runs(rt: Runtime, user_id: int, limit: int = 10) -> list[RunView]:
    """The user's finished runs, newest first."""
    with rt.sessions() as session:
        return [run for run in runs.recent_runs(session, user_id, limit=limit) if not run.active]


def run_outcomes(rt: Runtime, user_id: int) -> list[RunPoint]:
    """The last finished runs, oldest first, for the runs bar (connhub.health.history_views)."""
    with rt.sessions() as session:
        return run_history(session, user_id)


def ask_for_run(rt: Runtime, user_id: int, *, who: str, dry_run: bool) -> bool:
    """«Синхронизировать сейчас» / «Предпросмотр»: record a request; False when a run is already active."""
    try:
        runs.request_run(rt.sessions, user_id, triggered_by=who, dry_run=dry_run)
    except runs.RunInProgress:
        return False
    return True


def store_choices(rt: Runtime, user_id: int, connection_id: int) -> dict[str, str]:
    """The stores of the source's catalog, id → name."""
    with rt.sessions() as session:
        return selection.stores(session, user_id, connection_id)


def note_community(rt: Runtime, user_id: int, community: config.Community) -> None:
    """Write back what the target just said about the saved community (its name, goods on or off)."""
    execute_write(rt.sessions, lambda session: config.note_community(session, user_id, community))


def save_settings(rt: Runtime, user_id: int, raw: Mapping[str, object], choices: config.Choices) -> None:
    """Validate and save the form; InvalidSettings (nothing written) when a field is wrong."""
    execute_write(rt.sessions, lambda session: config.save_settings(session, user_id, raw, choices))


def switch_off(rt: Runtime, user_id: int) -> None:
    execute_write(rt.sessions, lambda session: config.disable(session, user_id))


def missing_to_enable(settings: config.SyncSettings) -> list[str]:
    """What must be chosen and saved before the sync can be switched on, in the form's order (the
    checklist requires the same: store, community, category)."""
    missing = []
    if not settings.store_id:
        missing.append("магазин")
    if settings.vk_group_id is None:
        missing.append("сообщество")
    if settings.vk_category_id is None:
        missing.append("категорию")
    return missing


def can_run(status: SyncStatus) -> bool:
    """«Синхронизировать сейчас» is offered only when the sync is on and the checklist is green."""
    return status.config.is_on and status.readiness.ready


@dataclass(frozen=True)
class ItemPreview:
    """The description template tried on a real product, as the page shows it."""

    product_name: str
    name: str = ""
    description: str = ""
    price: str = ""
    hidden: bool = False
    skipped: str = ""  # why this product would not be published
    problem: str = ""  # why there is no preview (a field of the form is wrong)


def preview_blank(rt: Runtime, user_id: int, status: SyncStatus, form: Mapping[str, object],
                  ) -> tuple[str, ItemPreview] | None:
    """For a template with a `{field:…}` block: (the field, the preview on a selected product where
    that field is empty); None when there is no block or no such product."""
    fields = description_template.block_fields(str(form.get("description_template") or ""), mapping.TEMPLATE_FIELDS)
    for name in fields:
        shown = preview_item(rt, user_id, status, form, empty=name)
        if shown is not None:
            return name, shown
    return None


def preview_item(rt: Runtime, user_id: int, status: SyncStatus, form: Mapping[str, object], *,
                 empty: str | None = None) -> ItemPreview | None:
    """The item the sync would publish for the first selected product, with the form's (unsaved)
    multiplier, template and policies; None when there is no product to try it on. With `empty`,
    on the first selected product whose field of that name is empty."""
    settings = status.config.settings
    if status.source is None or not settings.store_id:
        return None
    with rt.sessions() as session:
        facts = selection.preview_facts(session, user_id, status.source.id, settings.store_id, status.product_ids,
                                        empty=empty)
    if facts is None:
        return None
    try:
        policy = mapping.MappingPolicy(
            multiplier=policies.parse_multiplier(form.get("price_multiplier")),
            template=policies.parse_template(form.get("description_template")),
            zero_price=policies.ZeroPricePolicy(str(form.get("on_zero_price"))),
            not_for_sale=policies.NotForSalePolicy(str(form.get("on_not_for_sale"))),
        )
    except ValueError as exc:
        return ItemPreview(facts.name, problem=str(exc))
    item = mapping.map_product(facts, policy)
    if isinstance(item, mapping.Skipped):
        return ItemPreview(facts.name, skipped=mapping.SKIP_MESSAGES[item.reason])
    return ItemPreview(facts.name, name=item.name, description=item.description,
                       price=mapping.format_price(item.price), hidden=item.hidden)


def sync_uses(rt: Runtime, user_id: int, provider: str) -> str | None:
    """What disconnecting `provider` does to the sync, for the «Отключить» dialog; None if nothing."""
    parts = roles(rt.providers)
    if provider not in (parts.source, parts.target):
        return None
    with rt.sessions() as session:
        view = config.get_config(session, user_id)
    if not view.is_on:
        return None
    community = view.settings.vk_group_name or "сообщество"
    return (f"Синхронизация включена и будет выключена: без этого подключения она не может работать. "
            f"Товары, уже выгруженные в сообщество «{community}», останутся там как есть — их можно скрыть "
            f"или удалить во {parts.target_title}. Чтобы продолжить, подключите сервис снова и включите "
            "синхронизацию заново.")


def disconnect(rt: Runtime, user_id: int, connection_id: int) -> ConnectionView | None:
    """Delete the user's connection; if the sync uses its provider, switch the sync off too (a sync
    without its source or target must not read «Включена»). None if the connection is not the user's."""
    removed = execute_write(rt.sessions, partial(connections.delete_for_user, user_id=user_id,
                                                 connection_id=connection_id))
    if removed is None:
        return None
    parts = roles(rt.providers)
    if removed.provider in (parts.source, parts.target):
        with rt.sessions() as session:
            on = config.get_config(session, user_id).is_on
        if on:
            switch_off(rt, user_id)
    return removed


# ----------------------------------------------------------------------------- the schedule


def schedule_now(rt: Runtime, user_id: int) -> schedule.Freshness:
    """The user's schedule, its next run, the last success and whether the sync is fresh."""
    with rt.sessions() as session:
        return schedule.freshness(session, user_id, rt.settings)


def save_schedule(rt: Runtime, user_id: int, chosen: schedule.Schedule) -> None:
    """Save the schedule and plan its next run from now."""
    minute = schedule.minute_of(rt.settings)

    def write(session: Session) -> None:
        schedule.apply(config.locked_row(session, user_id), chosen, utcnow(), minute)

    execute_write(rt.sessions, write)


def confirmation_text(rt: Runtime, user_id: int, status: SyncStatus) -> str:
    """The confirmation's text: how many products go on sale, hidden and skipped, each with its
    reason, by the run's own mapping (`forecast.mapped_selection`) of the catalog as it is now."""
    settings = status.config.settings
    found = None
    if status.source is not None and settings.store_id:
        found = selection.selected_facts(rt.sessions, user_id, status.source.id, settings.store_id)
    if found is None:
        return confirmation.confirmation_text(settings, len(status.product_ids))
    chosen, facts = found
    published, skipped = forecast.mapped_selection(chosen.product_ids, facts, forecast.policy_of(settings))
    return confirmation.confirmation_text(settings, len(status.product_ids), forecast.Forecast.of(published, skipped))
