"""The rights probe only when old (issue 19): a checker's VK check is one request while the stored
rights are recent, and «Права» stays true: a goods call refused for a right re-probes at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connhub.connections import check_now
from connhub.crypto import Secret
from connhub.health import CheckTarget, check_connection
from connhub.models import Connection
from connhub.oauth import connect_with_token
from connhub.providers.vk.api import RetryPolicy, VkApiError
from connhub.providers.vk.goods_errors import ErrorKind
from connhub.providers.vk.rights import Rights

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


def test_a_goods_call_refused_for_a_right_reprobes_at_the_next_check(rt, connected, vk_goods, sandbox_control):
    goods = rt.providers.get("vk").goods(Secret(connected[1]), retry=RetryPolicy(attempts=1))
    sandbox_control.set_fault("vk-api", vk_error=15, count=1)
    with pytest.raises(VkApiError) as refused:
        goods.api.call("market.getAlbums", {"owner_id": -218252175, "count": 1})
    assert refused.value.kind is ErrorKind.RIGHT
    vk_goods.reset_stats()

    checker_check(rt, connected[0])
    assert vk_goods.stats()["requests"] == PROBE
    vk_goods.reset_stats()
    checker_check(rt, connected[0])  # probed once: the next check is one request again
    assert vk_goods.stats()["requests"] == {"users.get": 1}
