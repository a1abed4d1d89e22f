"""Row 6 of issue 7 and §3: a slow token endpoint never holds the database.

Five VK tokens are due for refresh while VK ID takes 9 s to answer. The real checker refreshes
them; meanwhile the app signs a new user in, disconnects one of the refreshing connections and
presses «Проверить сейчас» on another. None of that waits for VK ID, and no refresh token is
spent twice.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

from connhub.connections import check_now, delete_for_user
from connhub.db import execute_write
from connhub.models import utcnow
from tests.support.checker import connection, seed, start_checker
from tests.support.connect import make_user

VK_TOKEN = "/vk-id/oauth2/auth"
USERS_GET = "/vk-api/method/users.get"
SLOW_SECONDS = 9


def test_a_slow_token_endpoint_delays_no_app_write_and_each_refresh_token_is_spent_once(hostile, make_hostile_rt):
    rt = make_hostile_rt(HTTP_TIMEOUT_SECONDS=20)
    soon = utcnow() + timedelta(seconds=30)
    ids = [seed(rt, f"person{n}", "vk", refresh=True, expires_at=soon) for n in range(5)]
    owners = {row: connection(rt, row).user_id for row in ids}
    hostile.answer("POST", VK_TOKEN, delay=SLOW_SECONDS,
                   json_body={"access_token": "fresh", "refresh_token": "rotated", "expires_in": 3600,
                              "token_type": "Bearer", "user_id": 1})
    hostile.answer("GET", USERS_GET, json_body={"response": [{"id": 1, "first_name": "Иван", "last_name": "Иванов"}]})

    process = start_checker(rt, "--once")
    manual: list[object] = []
    try:
        hostile.wait_for_request(VK_TOKEN)  # a refresh is waiting on VK ID now
        started = time.monotonic()
        make_user(rt, "newcomer")  # a sign-in: a write to the users table
        # «Отключить» on a connection whose refresh is in flight
        assert execute_write(rt.sessions, lambda session: delete_for_user(session, owners[ids[0]], ids[0])) is not None
        app_writes_took = time.monotonic() - started
        pressed = threading.Thread(target=lambda: manual.append(check_now(rt, user_id=owners[ids[1]],
                                                                          connection_id=ids[1])))
        pressed.start()
        _, log = process.communicate(timeout=120)
        pressed.join(timeout=120)
    finally:
        process.kill()

    assert process.returncode == 0, log
    assert "database is locked" not in log
    # Before the fix the app waited for VK ID (the refreshes ran one after another holding the
    # SQLite write lock; a sign-in failed after 30 s). After: about 0.05 s. Bound generous.
    assert app_writes_took < SLOW_SECONDS / 2, app_writes_took
    spent = [parse_qs(seen.body.decode())["refresh_token"][0] for seen in hostile.requests_to(VK_TOKEN)]
    assert len(spent) == len(set(spent))  # single-flight: no refresh token was sent twice
    assert "refresh-person1" in spent  # the manual check waited for the checker's refresh and used it
    for row in ids[1:]:
        assert connection(rt, row).token_version == 2
        assert rt.cipher.open(connection(rt, row).refresh_token_sealed).reveal() == "rotated"
        assert connection(rt, row).refresh_claim is None
    assert manual and manual[0] is not None
