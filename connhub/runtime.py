"""The composition root: everything a process needs to reach the database and the providers, built
once, and the registered providers handed to the layers that must not look them up themselves
(the settings loader, the sandbox server)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from connhub import config, ratelimit
from connhub.config import Settings
from connhub.crypto import TokenCipher, cipher_from_settings
from connhub.db import make_engine, make_session_factory
from connhub.models import Connection, NotifyChannel, OAuthFlow
from connhub.providers import Registry
from connhub.providers.registry import provider_classes, settings_classes
from connhub.sandbox.emulation import Emulation, load


def load_settings(**overrides: object) -> Settings:
    """The settings of connhub and of every registered provider (see `connhub.config`)."""
    return config.load_settings(settings_classes(), **overrides)


def emulations() -> tuple[Emulation, ...]:
    """The sandbox emulation of every registered provider, in card order."""
    return tuple(load(cls.emulation) for cls in provider_classes())


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: TokenCipher
    providers: Registry

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or load_settings()
        engine = make_engine(settings.database_url, pool_size=max(5, settings.CHECKER_CONCURRENCY // 2))
        sessions = make_session_factory(engine)
        ratelimit.install(engine, sessions)  # every VK call of this process takes its turns in the database
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            cipher=cipher_from_settings(settings, sealed_rows=lambda: sealed_rows(engine)),
            providers=Registry(settings),
        )

    def close(self) -> None:
        ratelimit.uninstall(self.engine)
        self.engine.dispose()


def sealed_rows(engine: Engine) -> int:
    """How many rows hold sealed values (connections and OAuth flows); 0 before the schema exists."""
    names = set(inspect(engine).get_table_names())
    total = 0
    with engine.connect() as connection:
        for model in (Connection, OAuthFlow, NotifyChannel):
            if model.__tablename__ in names:
                total += connection.scalar(select(func.count()).select_from(model)) or 0
    return total
