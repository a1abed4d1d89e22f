"""Tokens never appear in clear: not in the database file, not in logs, not in exception text."""

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from connhub.connections import check_now
from connhub.health import run_cycle
from connhub.models import Connection
from tests.support.connect import connect


def plaintext_tokens(rt) -> list[str]:
    with rt.sessions() as session:
        rows = session.scalars(select(Connection)).all()
        tokens = [rt.cipher.open(row.access_token_sealed).reveal() for row in rows]
        tokens += [rt.cipher.open(row.refresh_token_sealed).reveal() for row in rows if row.refresh_token_sealed]
    assert len(tokens) == 4
    return tokens


@pytest.mark.sqlite_only("reads the SQLite database file's bytes")
def test_tokens_are_not_in_the_database_files_in_clear(rt, alice, tmp_path):
    connect(rt, alice, "evotor")
    connect(rt, alice, "vk")
    tokens = plaintext_tokens(rt)
    files = [path for path in Path(tmp_path).glob("connhub.db*")]
    assert files
    contents = b"".join(path.read_bytes() for path in files)
    for token in tokens:
        assert token.encode() not in contents


def test_tokens_are_not_in_logs_or_errors_across_connect_check_refresh_and_failures(rt, alice, sandbox_control,
                                                                                     caplog):
    caplog.set_level(logging.DEBUG)
    evotor_id = connect(rt, alice, "evotor")
    vk_id = connect(rt, alice, "vk")
    sandbox_control.expire("vk")
    check_now(rt, user_id=alice.id, connection_id=vk_id)  # refreshes
    sandbox_control.set_fault("evotor-api", status=503)
    check_now(rt, user_id=alice.id, connection_id=evotor_id)
    sandbox_control.revoke("vk")
    sandbox_control.expire("vk")
    failed = check_now(rt, user_id=alice.id, connection_id=vk_id)
    run_cycle(rt, worker_id="w")
    text = caplog.text + failed.status_reason
    for token in plaintext_tokens(rt):
        assert token not in text
