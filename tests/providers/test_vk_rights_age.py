"""The rights probe only when old (issue 19): a checker's VK check is one request while the stored
rights are recent, and «Права» stays true: a goods call refused for a right re-probes at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from connhub import connections
from connhub.config import PROJECT_ROOT
from connhub.connections import ConnectionView, check_now
from connhub.health import CheckTarget, apply_results, check_connection
from connhub.models import CheckSource, Connection
from connhub.oauth import connect_with_token
from connhub.ports.goods import GoodsError
from connhub.providers.capabilities import GOODS
from connhub.providers.vk.client import RIGHTS_MAX_AGE
from connhub.providers.vk.rights import Rights
from connhub.sync.tokens import goods_target
from tests.support.sandbox import process_env

PROBE = {"users.get": 1, "groups.get": 1, "market.getAlbums": 1, "market.getProductPhotoUploadServer": 1}


@pytest.fixture
def connected(rt, alice, vk_goods) -> tuple[int, str]:
    token = vk_goods.user_token()
    result = connect_with_token(rt, user_id=alice.id, provider="vk", raw_token=token)
    assert result.ok and result.connection_id is not None
    view = check_now(rt, user_id=alice.id, connection_id=result.connection_id)  # probes and stores the rights
    assert view is not None and Rights.from_profile(view.profile).complete
    vk_goods.reset_stats()
    return result.connection_id, token


def checker_check(rt, connection_id: int):
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        target = CheckTarget.of(row)
    result = check_connection(rt, target)
    assert result is not None and result.account is not None
    return result


def test_a_checker_check_with_recent_rights_is_one_request(rt, connected, vk_goods):
    result = checker_check(rt, connected[0])
    assert vk_goods.stats()["requests"] == {"users.get": 1}
    assert Rights.from_profile(result.account.profile).complete  # the stored rights, kept


def test_rights_older_than_six_hours_are_probed_again(rt, connected, vk_goods):
    with rt.sessions() as session:
        row = session.get(Connection, connected[0])
        old = (datetime.now(UTC) - timedelta(hours=7)).isoformat(timespec="seconds")
        row.profile = {**row.profile, "rights": {**row.profile["rights"], "checked_at": old}}
        session.commit()
    result = checker_check(rt, connected[0])
    assert vk_goods.stats()["requests"] == PROBE
    assert Rights.from_profile(result.account.profile).checked_at != old


REFUSE_THE_PAGES_LIST = """
import sys
from connhub.runtime import Runtime
from connhub.sync.target import target_options
rt = Runtime.from_settings()
print(target_options(rt, int(sys.argv[1])).error)
rt.close()
"""


def test_a_goods_call_refused_for_a_right_in_another_process_reprobes_at_the_next_check(
        rt, alice, connected, vk_goods, sandbox_control):
    sandbox_control.set_fault("vk-api", vk_error=15, count=1)  # the page's community list: refused for a right
    page = subprocess.run([sys.executable, "-c", REFUSE_THE_PAGES_LIST, str(alice.id)], cwd=PROJECT_ROOT,
                          env=process_env(rt), capture_output=True, text=True, timeout=60, check=True)
    assert "Сообщества не загрузились" in page.stdout
    with rt.sessions() as session:  # the mark is in the database, not in that process's memory
        marked = Rights.from_profile(session.get(Connection, connected[0]).profile)
    assert marked.refused_at is not None and marked.due(datetime.now(UTC), RIGHTS_MAX_AGE)
    vk_goods.reset_stats()

    probed = checker_check(rt, connected[0])  # this process never saw the refusal
    assert vk_goods.stats()["requests"] == PROBE
    apply_results(rt, [probed], source=CheckSource.CHECKER)
    vk_goods.reset_stats()
    checker_check(rt, connected[0])
    assert vk_goods.stats()["requests"] == {"users.get": 1}  # probed once: one request again
    assert Rights.from_profile(connections_view(rt, alice.id).profile).complete  # «Права» true on the card


def test_a_refusal_seen_while_a_check_is_in_flight_survives_that_checks_write(rt, alice, connected, vk_goods,
                                                                            sandbox_control):
    with rt.sessions() as session:
        target = CheckTarget.of(session.get(Connection, connected[0]))  # claimed before the refusal
    view = connections_view(rt, alice.id)
    with pytest.raises(GoodsError):
        refused_goods_call(rt, view, sandbox_control)
    result = check_connection(rt, target)  # one request: it read the rights before the mark
    assert result is not None and vk_goods.stats()["requests"] == {"users.get": 1}
    apply_results(rt, [result], source=CheckSource.MANUAL)
    with rt.sessions() as session:
        stored = Rights.from_profile(session.get(Connection, connected[0]).profile)
    assert stored.due(datetime.now(UTC), RIGHTS_MAX_AGE)  # the next check still re-probes


def connections_view(rt, user_id: int) -> ConnectionView:
    with rt.sessions() as session:
        view = connections.get_for_user(session, user_id, "vk")
    assert view is not None
    return view


def refused_goods_call(rt, view: ConnectionView, control) -> None:
    """A goods call of the sync's kind that VK refuses for a right (error 15 on the communities)."""
    provider = rt.providers.offering(GOODS, "vk")
    assert provider is not None
    target = goods_target(rt, provider, view)
    control.set_fault("vk-api", vk_error=15, count=1)
    target.communities()
