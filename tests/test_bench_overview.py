"""bench/overview.py runs end to end at a tiny size: the seeding, the service's figures and the
page's AppTest rerun, with the same constant number of statements for the service and the page."""

from __future__ import annotations

from bench.overview import run
from tests.support.apptest import fresh_streamlit_caches, keep_main_module  # noqa: F401 - fixtures


def test_the_overview_benchmark_runs_tiny(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "CONNHUB_DATA_DIR", "CONNHUB_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    figures = run(users=20, repeat=2, data_dir=tmp_path)
    assert figures["users"] == 20 and figures["connections"] == 40 and figures["unreadable"] == 2  # user 7's two tokens
    assert figures["service_sql"] == figures["filtered_sql"] == figures["page_sql"]
    assert figures["service_sql"] <= 10
