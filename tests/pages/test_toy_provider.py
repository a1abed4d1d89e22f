"""A third provider, defined only in tests/toy and registered here, works everywhere with no other
file edited: offered on «Добавить подключение», connected through the callback, shown as a card
that the checker checks, with a service page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from checker import Checker
from connhub.models import Base, CheckRecord, CheckSource, Connection, Outcome, Status, utcnow
from connhub.providers.registry import register, unregister
from connhub.runtime import Runtime, emulations
from connhub.sandbox import SandboxControl, SandboxServer
from tests.pages.helpers import badges, card, card_order, connect_urls, consent, page_text, titles
from tests.support.sandbox import settings_for
from tests.toy.provider import ToyProvider

ADD = "pages/add_connection.py"
CALLBACK = "pages/oauth_callback.py"


@pytest.fixture
def toy() -> Iterator[None]:
    register(ToyProvider)
    yield
    unregister(ToyProvider.info.key)


@pytest.fixture
def toy_sandbox(toy: None) -> Iterator[SandboxServer]:
    """A sandbox hosting every registered provider's emulation, the toy's among them."""
    with SandboxServer(emulations(), port=0) as server:
        yield server


@pytest.fixture
def rt(tmp_path, toy_sandbox: SandboxServer) -> Iterator[Runtime]:
    """This module's runtime (and so the app's, through open_app): the sandbox with the toy."""
    runtime = Runtime.from_settings(settings_for(tmp_path, toy_sandbox))
    Base.metadata.create_all(runtime.engine)
    yield runtime
    runtime.close()


def test_a_provider_registered_at_run_time_is_offered_connected_checked_and_has_a_service_page(
        open_app, rt, alice, toy_sandbox):
    # Offered on «Добавить подключение», with a one-click link to its own consent page.
    add = open_app(alice, page=ADD)
    assert not add.exception
    assert [subheader.value for subheader in add.subheader] == ["Эвотор", "ВКонтакте", "Игрушка"]
    url = connect_urls(add)["toy"]
    assert url.startswith(f"{toy_sandbox.base_url}/toy/authorize?")

    # Connected through the callback, in a new browser session.
    callback = open_app(alice, page=CALLBACK, query_params=consent(url, account="toy-2"))
    assert not callback.exception
    assert "Игрушка подключён: Деревянная лошадка" in page_text(callback)
    assert card_order(callback) == ["toy"]
    assert badges(card(callback, "toy")) == [("green", "В сети")]

    # The checker checks it like any other connection.
    with rt.sessions() as session:
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    Checker(rt, checker_id="toy-test").run_once()
    with rt.sessions() as session:
        [(source, outcome)] = session.execute(
            select(CheckRecord.source, CheckRecord.outcome).where(CheckRecord.source == CheckSource.CHECKER)).all()
        row = session.scalars(select(Connection)).one()
    assert (source, outcome, row.status, row.display_name) == (
        CheckSource.CHECKER, Outcome.OK, Status.ONLINE, "Деревянная лошадка")

    # A revoked grant turns the card red on the next check.
    SandboxControl(toy_sandbox.base_url).revoke("toy")
    dashboard = open_app(alice)
    dashboard.button(key="check-toy").click().run()
    assert badges(card(dashboard, "toy")) == [("red", "Требуется переподключение")]

    # Its service page shows the account as the toy presents it.
    service = open_app(alice, page="toy")
    assert not service.exception
    assert titles(service) == ["Игрушка"]
    assert "Игрушечный ID: toy-2" in page_text(service)


def test_the_toy_is_gone_once_unregistered(open_app, alice, toy_sandbox):
    unregister(ToyProvider.info.key)
    add = open_app(alice, page=ADD)
    assert [subheader.value for subheader in add.subheader] == ["Эвотор", "ВКонтакте"]
