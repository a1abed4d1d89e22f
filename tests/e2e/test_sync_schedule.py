"""The schedule, end to end in headless Chromium (issue 17): switch «Запускать автоматически» on
for every 15 minutes and see a run «по расписанию» appear on «Синхронизация» without a click.

The due moment is brought forward in the database (the stack's sidecar runs with real minutes);
the sidecar alone then queues, claims and runs it, and the page's own polling shows it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from connhub.models import Status, SyncConfig, SyncRun, User, utcnow
from connhub.users import LOCAL_SUBJECT

from .helpers import Stack, Steps, wait_until
from .test_dashboard import UI, button, open_app, settled
from .test_sync_run import RUN, local_user_left_clean, pick, refresh_catalog, seed_connections  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"),
]


def test_schedule_walk(stack: Stack, page: Page, local_user_left_clean: None) -> None:  # noqa: F811
    steps = Steps(page, outdir=stack.artifacts, procs=stack.procs)

    with steps("30 a configured sync, switched on"):
        seed_connections(stack)
        wait_until(lambda: all(c.status == Status.ONLINE for c in stack.db.connections(LOCAL_SUBJECT)),
                   timeout=RUN, what="both connections checked online by the checker")
        refresh_catalog(page, stack)
        open_app(page, f"{stack.app_url}/sync")
        pick(page, "sync-store_id", "Кофейня на Садовой")
        pick(page, "sync-vk_group_id", "Магазин у дома")
        pick(page, "sync-vk_category_id", "Напитки")
        button(page, "save-sync").click()
        settled(page)
        page.locator(".st-key-sync-enabled label").click()
        button(page, "confirm-enable").click()
        settled(page)
        expect(page.get_by_text(re.compile("Включена .* подтвердил"))).to_be_visible(timeout=UI)
        with stack.db.sessions() as session:
            assert session.scalar(select(SyncConfig.enabled).join(User, User.id == SyncConfig.user_id)
                                  .where(User.subject == LOCAL_SUBJECT)), "the sync switched itself off"

    with steps("31 switch the schedule to every 15 minutes"):
        open_app(page, f"{stack.app_url}/sync")
        page.locator(".st-key-sync-schedule-minutes").get_by_role("combobox").click()
        page.get_by_role("option", name="каждые 15 мин").click()
        settled(page)
        button(page, "sync-schedule-save").click()
        settled(page)
        expect(page.get_by_text(re.compile(r"Следующий запуск: \d\d\.\d\d\.\d{4}"))).to_be_visible(timeout=UI)
        user_id = stack.db.user_id(LOCAL_SUBJECT)
        with stack.db.sessions() as session:
            config = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
            assert config is not None and config.schedule_minutes == 15

    with steps("32 the due moment comes: a run «по расписанию» appears without a click"):
        with stack.db.sessions() as session:
            session.execute(update(SyncConfig).where(SyncConfig.user_id == user_id)
                            .values(schedule_next_at=utcnow()))
            session.commit()
        expect(page.get_by_text("по расписанию").first).to_be_visible(timeout=RUN * 1000)
        with stack.db.sessions() as session:
            runs = list(session.scalars(select(SyncRun).where(SyncRun.user_id == user_id)))
        assert [run.trigger for run in runs] == ["schedule"]
