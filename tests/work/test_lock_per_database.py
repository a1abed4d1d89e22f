"""PostgreSQL advisory locks are per database: a run of user 1 in another connhub database on the
same server must not make this database's dead run of user 1 look alive."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from connhub.sync import runs
from connhub.work.claims import AdvisoryLock
from tests.conftest import PG_ADMIN_URL


@pytest.mark.postgres
def test_a_lock_held_in_another_database_does_not_count_here(make_rt, pg_url):
    rt = make_rt(DATABASE_URL=pg_url)
    here = runs.user_lock(rt.sessions, 1)
    assert isinstance(here, AdvisoryLock)
    other = create_engine(PG_ADMIN_URL)
    try:
        with other.connect() as connection:  # the same lock, taken in another database of the server
            assert connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                      {"space": here.space, "key": here.key}).scalar()
            assert here.is_free() is True
            assert here.acquire()
            here.release()
    finally:
        other.dispose()
