"""The provider contract: the same behaviour checks over every registered provider (and the toy one
from tests/toy, registered for this module), each against its own sandbox emulation, and for every
capability a provider declares (`connhub.providers.capabilities`), that capability's checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import update

from connhub.connections import check_now, recent_checks
from connhub.crypto import Secret
from connhub.models import Base, Connection, Outcome, Status, utcnow
from connhub.oauth import begin_authorization, complete_authorization
from connhub.ports.catalog import StoreRecord
from connhub.ports.errors import ProviderError
from connhub.ports.goods import Category, Community, ListedItem
from connhub.providers import Provider
from connhub.providers.capabilities import CAPABILITIES, CATALOG, GOODS, PRODUCT_IMAGES, offered_by
from connhub.providers.presentation import AccountPresentation
from connhub.providers.registry import provider_classes, register, unregister
from connhub.runtime import Runtime, emulations
from connhub.sandbox import SandboxControl, SandboxServer
from connhub.sandbox.emulation import Emulation, load
from tests.support.connect import make_user
from tests.support.consent import consent
from tests.support.sandbox import settings_for
from tests.toy.goods import SHOP
from tests.toy.provider import ToyProvider

PROVIDERS: list[type[Provider]] = [*provider_classes(), ToyProvider]


@pytest.fixture(scope="module")
def registered() -> Iterator[None]:
    register(ToyProvider)
    yield
    unregister(ToyProvider.info.key)


@pytest.fixture(scope="module")
def sandbox(registered: None) -> Iterator[SandboxServer]:
    with SandboxServer(emulations(), port=0) as server:
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    client = SandboxControl(sandbox.base_url)
    client.reset()
    yield client
    client.close()


@pytest.fixture
def rt(tmp_path, sandbox: SandboxServer, control: SandboxControl) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings_for(tmp_path, sandbox))
    Base.metadata.create_all(runtime.engine)
    yield runtime
    runtime.close()


@pytest.fixture(params=PROVIDERS, ids=lambda cls: cls.info.key)
def provider(request: pytest.FixtureRequest) -> type[Provider]:
    cls: type[Provider] = request.param
    return cls


def api_target(emulation: Emulation) -> str:
    return next(target for _, target in emulation.targets if target not in emulation.oauth_targets)


def connected(rt: Runtime, key: str) -> tuple[int, int]:
    """(user id, connection id) of a fresh user connected through the provider's consent page."""
    user = make_user(rt, f"contract-{key}")
    result = complete_authorization(rt, user_id=user.id,
                                    params=consent(begin_authorization(rt, user_id=user.id, provider=key)))
    assert result.ok, result.message
    assert result.connection_id is not None
    return user.id, result.connection_id


def test_describes_itself_and_its_sandbox_points_every_setting_at_this_machine(rt, sandbox, provider):
    info, emulation = provider.info, load(provider.emulation)
    assert (info.key, bool(info.title), info.icon.startswith(":material/"), bool(info.description)) == (
        emulation.provider, True, True, True)
    assert set(emulation.env(sandbox.base_url)) <= set(provider.settings_class.model_fields)
    assert rt.settings.uses_sandbox
    assert info.supports_token_paste == bool(info.token_hint)


def test_connects_through_its_consent_page_and_shows_the_account(rt, provider):
    user_id, connection_id = connected(rt, provider.info.key)
    view = check_now(rt, user_id=user_id, connection_id=connection_id)
    assert view is not None and view.status is Status.ONLINE and view.details
    shown = rt.providers.get(provider.info.key).present_account(view.account_id, view.details, view.profile)
    assert isinstance(shown, AccountPresentation) and (shown.heading or shown.facts or shown.tables)


def test_a_revoked_grant_needs_a_reconnect(rt, control, provider):
    user_id, connection_id = connected(rt, provider.info.key)
    assert control.revoke(provider.info.key)["affected"] == 1
    view = check_now(rt, user_id=user_id, connection_id=connection_id)
    assert view is not None and view.status is Status.RECONNECT and view.status_reason


def test_provider_trouble_is_retried_not_a_dead_token(rt, control, provider):
    user_id, connection_id = connected(rt, provider.info.key)
    control.set_fault(api_target(load(provider.emulation)), status=503)
    view = check_now(rt, user_id=user_id, connection_id=connection_id)
    assert view is not None and view.status is Status.ONLINE  # one failure is not enough to go red
    assert "503" in view.status_reason and view.consecutive_failures == 1


def test_an_access_token_at_its_end_is_refreshed_first_and_the_connection_stays_online(rt, control, provider):
    user_id, connection_id = connected(rt, provider.info.key)
    assert control.expire(provider.info.key)["affected"] >= 1
    with rt.sessions() as session:  # what connhub knows: the token expires now
        session.execute(update(Connection).where(Connection.id == connection_id).values(token_expires_at=utcnow()))
        session.commit()
    view = check_now(rt, user_id=user_id, connection_id=connection_id)
    assert view is not None and view.status is Status.ONLINE
    assert control.stats()["refreshes"][provider.info.key] == 1


def test_its_probe_url_answers_without_credentials(rt, provider):
    answer = requests.get(rt.providers.get(provider.info.key).probe_url(), timeout=5, allow_redirects=False)
    assert 200 <= answer.status_code < 600


def test_every_check_outcome_is_recorded_with_a_known_value(rt, control, provider):
    user_id, connection_id = connected(rt, provider.info.key)
    control.revoke(provider.info.key)
    check_now(rt, user_id=user_id, connection_id=connection_id)
    with rt.sessions() as session:
        outcomes = [check.outcome for check in recent_checks(session, user_id, connection_id)]
    assert outcomes == [Outcome.REJECTED, Outcome.OK]


# --- declared capabilities: the same checks for every provider offering one ----------------------------

OFFERS = [(cls, capability) for cls in PROVIDERS for capability in offered_by(cls)]


def token_of(rt: Runtime, connection_id: int) -> Secret:
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        assert row is not None
        return rt.cipher.open(row.access_token_sealed)


def test_every_provider_declares_what_it_offers_and_the_registry_finds_it(rt):
    for cls in PROVIDERS:
        for capability in CAPABILITIES:
            offering = [p.info.key for p in rt.providers.all() if capability.offered_by(p)]
            assert (cls.info.key in offering) == (capability in offered_by(cls))
            assert len(rt.providers.providers_offering(capability)) == len(offering)
    assert offered_by(ToyProvider) == (GOODS,)


@pytest.mark.parametrize(("provider", "capability"), OFFERS,
                         ids=[f"{cls.info.key}-{cap.name}" for cls, cap in OFFERS])
def test_each_declared_capability_answers_in_the_ports_types(rt, provider, capability):
    key = provider.info.key
    if key == ToyProvider.info.key:
        SHOP.reset()
    _user_id, connection_id = connected(rt, key)
    token = token_of(rt, connection_id)
    if capability is CATALOG:
        catalog = rt.providers.offering(CATALOG, key)
        assert catalog is not None
        stores = catalog.catalog_source(token).stores()
        assert stores and all(isinstance(store, StoreRecord) and store.id for store in stores)
    elif capability is PRODUCT_IMAGES:
        images = rt.providers.offering(PRODUCT_IMAGES, key)
        assert images is not None
        api = images.product_images(token)
        try:
            assert api.image("no-such-store", "no-such-product") is None
        except ProviderError as error:  # refusing an unknown product is fine, as data
            assert error.reason
    else:
        goods = rt.providers.offering(GOODS, key)
        assert goods is not None
        target = goods.goods_target(token)
        assert target.service and target.batch_size >= 1
        communities = target.communities()
        assert all(isinstance(c, Community) for c in communities)
        assert all(isinstance(c, Category) for c in target.categories())
        if communities:
            assert all(isinstance(i, ListedItem) for i in target.items(communities[0].id))
        assert target.requests >= 2
