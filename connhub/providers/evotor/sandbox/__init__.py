"""Evotor's side, emulated: OAuth at oauth.evotor.ru, `GET /stores` at api.evotor.ru, the store
catalogs and their images, the app's market page, and the demo accounts.

Shapes follow docs/providers.md («Evotor»): Spring-OAuth style token answers, v2 paginated
`{"items", "paging"}`, both `Authorization: Bearer` and the legacy `X-Authorization` header.
The sandbox hosts it (`connhub.sandbox`); it never imports connhub's Evotor client.

    constants.py     the app, demo accounts and stores, page sizes, rights, refusals (shared)
    auth.py          oauth.evotor.ru: consent and tokens
    stores.py        api.evotor.ru/stores
    market.py        the app's «Настройки» page with the cloud token
    seed.py          the seeded store catalogs and images
    catalog.py       the catalog state: cursors, `since`, images, injected 403/429
    catalog_http.py  the catalog's routes, the image files, /_sandbox/evotor-catalog
"""

from __future__ import annotations

import uuid

from connhub.providers.evotor.sandbox import catalog_http
from connhub.providers.evotor.sandbox.auth import authorize, token
from connhub.providers.evotor.sandbox.catalog import SandboxCatalog
from connhub.providers.evotor.sandbox.constants import (
    EVOTOR,
    EVOTOR_ACCOUNTS,
    EVOTOR_CLIENT_ID,
    EVOTOR_CLIENT_SECRET,
    EVOTOR_RATE_LIMIT,
    account_label,
)
from connhub.providers.evotor.sandbox.market import market
from connhub.providers.evotor.sandbox.stores import stores
from connhub.sandbox.emulation import Emulation, Route
from connhub.sandbox.state import CLOUD, OAUTH

__all__ = ["EMULATION", "EVOTOR", "EVOTOR_ACCOUNTS", "EVOTOR_CLIENT_ID", "EVOTOR_CLIENT_SECRET", "SandboxCatalog"]


def env(base_url: str) -> dict[str, str]:
    return {
        "EVOTOR_OAUTH_URL": f"{base_url}/evotor",
        "EVOTOR_API_URL": f"{base_url}/evotor/api",
        "EVOTOR_CLIENT_ID": EVOTOR_CLIENT_ID,
        "EVOTOR_CLIENT_SECRET": EVOTOR_CLIENT_SECRET,
    }


EMULATION = Emulation(
    provider=EVOTOR,
    title="Эвотор",
    client_id=EVOTOR_CLIENT_ID,
    client_secret=EVOTOR_CLIENT_SECRET,
    accounts=EVOTOR_ACCOUNTS,
    label=account_label,
    routes=(
        Route("/evotor/oauth/authorize", {"GET": authorize, "POST": authorize}, "Эвотор: экран согласия OAuth"),
        Route("/evotor/oauth/token", {"POST": token}, "Эвотор: обмен кода и обновление токенов"),
        Route("/evotor/api/stores", {"GET": stores}, "Эвотор: список магазинов"),
        Route("/evotor/api/stores/", {"GET": catalog_http.api}, "Эвотор: группы и товары магазина", prefix=True),
        Route("/evotor/images/", {"GET": catalog_http.image_file}, "Эвотор: файлы изображений товаров",
              prefix=True),
        Route("/evotor/market", {"GET": market, "POST": market}, "Эвотор: настройки приложения, токен приложения"),
        Route("/_sandbox/evotor-catalog", {"GET": catalog_http.control, "POST": catalog_http.control},
              "управление: каталог Эвотор (товары, 403, 429)"),
    ),
    targets=(("/evotor/api/", "evotor-api"), ("/evotor/oauth/", "evotor-oauth"), ("/evotor/images/", "evotor-images")),
    env=env,
    new_token=lambda: str(uuid.uuid4()),  # Evotor tokens are UUIDs
    access_ttl=("evotor_access_ttl", 604799),
    oauth_targets=frozenset({"evotor-oauth"}),
    fault_headers={"evotor-api": {"X-RateLimit-Limit": str(EVOTOR_RATE_LIMIT), "X-RateLimit-Remaining": "0"}},
    revoke_modes=("revoke", "uninstall", "unpaid"),
    refresh_refusals={"uninstall": ("application is not installed", "invalid_grant")},
    kinds=(OAUTH, CLOUD),
    links=(("/evotor/market", "Личный кабинет Эвотор: токен приложения"),),
    extra_state=SandboxCatalog,
)

