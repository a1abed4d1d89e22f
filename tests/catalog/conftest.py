"""Fixtures for the catalog tests (the source double and its products: tests/support/catalog.py)."""

from __future__ import annotations

import pytest

from connhub.models import Connection, Status


@pytest.fixture
def connection_id(rt, alice) -> int:
    with rt.sessions() as session:
        row = Connection(user_id=alice.id, provider="evotor", auth_method="token", account_id="acc",
                         display_name="Магазин", access_token_sealed="sealed", status=Status.ONLINE)
        session.add(row)
        session.commit()
        return row.id
