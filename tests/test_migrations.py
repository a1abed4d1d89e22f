"""Alembic builds the schema from nothing, removes it, and agrees with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from alembic import command
from connhub.config import PROJECT_ROOT
from connhub.models import Base

TABLES = {"users", "connections", "check_records", "oauth_flows", "checker_heartbeats",
          "catalog_stores", "catalog_snapshots", "catalog_groups", "catalog_products",
          "catalog_refresh_jobs", "catalog_rules", "sync_configs", "check_rollups"}


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


def assert_round_trip(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                     Base.metadata)
        assert drift == []
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")  # and back up again from empty
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_build_and_remove_the_schema(database_url):
    assert_round_trip(database_url)
