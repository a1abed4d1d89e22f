"""The Evotor emulation's fixed facts, shared by its modules: the app, the demo accounts and their
stores, page sizes, rate-limit figures, the catalog's rights, and the API's refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

EVOTOR = "evotor"
EVOTOR_CLIENT_ID = "sandbox-evotor-client"
EVOTOR_CLIENT_SECRET = "sandbox-evotor-secret"
EVOTOR_SCOPE = "store:read"

# Demo accounts; never mutated (grants carry the marks set by /_sandbox/revoke).
EVOTOR_ACCOUNTS: dict[str, tuple[dict[str, str], ...]] = {
    "01-000000000000001": (
        {
            "id": "20170228-F4F1-401B-80FA-9ECCA8451FFB",
            "name": "Чайная",
            "address": "Россия, г. Москва, ул. Тимура Фрунзе, 24",
        },
        {
            "id": "20190412-A1B2-4C3D-8E9F-0A1B2C3D4E5F",
            "name": "Кофейня на Садовой",
            "address": "Россия, г. Москва, Садовая ул., 5",
        },
    ),
    "01-000000000000002": (
        {
            "id": "20200101-1111-4222-8333-444455556666",
            "name": "Пекарня",
            "address": "Россия, г. Казань, ул. Баумана, 10",
        },
    ),
}
STORE_CREATED_AT = "2018-04-17T10:11:49.393+0000"
STORE_UPDATED_AT = "2018-07-16T16:00:10.663+0000"

# Evotor's rate-limit headers describe a per-user window; the sandbox reports it but never enforces
# it (a 429 comes only from a fault), so load tests and health checks stay deterministic.
EVOTOR_RATE_LIMIT = 100
EVOTOR_RATE_WINDOW = 60


def account_label(account_id: str) -> str:
    """How the consent screen and the market page name an account: its stores."""
    return ", ".join(store["name"] for store in EVOTOR_ACCOUNTS[account_id])


def evotor_stores(account_id: str) -> list[dict[str, Any]]:
    """The account's stores in the shape of a GET /stores item."""
    return [
        {**store, "user_id": account_id, "created_at": STORE_CREATED_AT, "updated_at": STORE_UPDATED_AT}
        for store in EVOTOR_ACCOUNTS[account_id]
    ]


def default_account() -> str:
    return next(iter(EVOTOR_ACCOUNTS))


MAX_PAGE = 1000  # also the default page size, as documented for v2 lists

# What a token that is not "ok" answers on the API, by TokenCheck verdict; anything else is 401.
REFUSALS = {
    "uninstall": (403, {"code": "forbidden", "message": "application is not installed"}),
    "unpaid": (402, {"code": "payment_required", "message": "subscription expired"}),
}
UNAUTHORIZED = (401, {"code": "unauthorized", "message": "invalid token"})

BIG_STORE_PRODUCTS = 5000
MAX_CURSORS = 20_000
RESOURCES = ("product-groups", "products")
RIGHTS = {"product-groups": "product-group:read", "products": "product:read", "images": "product.image:read"}
FORBIDDABLE = (*RESOURCES, "images")
IMAGE_SIDE = 300
IMAGE_SHARE = 6  # of every 10 seeded products have an image
SEED_TIME = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
