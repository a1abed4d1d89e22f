"""Seed data: the registered OAuth clients and the demo accounts on each provider's side.

Nothing here changes at run time: what a test can change (grants, their revoke marks, lifetimes)
lives in `SandboxState`, so a reset restores the accounts as they are seeded here.
"""

from __future__ import annotations

EVOTOR_CLIENT_ID = "sandbox-evotor-client"
EVOTOR_CLIENT_SECRET = "sandbox-evotor-secret"
VK_CLIENT_ID = "sandbox-vk-client"

EVOTOR = "evotor"
VK = "vk"
PROVIDERS = (EVOTOR, VK)
CLIENT_IDS = {EVOTOR: EVOTOR_CLIENT_ID, VK: VK_CLIENT_ID}

EVOTOR_SCOPE = "store:read"
VK_SCOPE = "vkid.personal_info"

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

# VK users keyed by their id as a string, the form every account id takes inside the sandbox.
VK_ACCOUNTS: dict[str, dict[str, int | str]] = {
    "743784474": {"id": 743784474, "first_name": "Иван", "last_name": "Иванов"},
    "100200300": {"id": 100200300, "first_name": "Мария", "last_name": "Петрова"},
}

ACCOUNTS = {EVOTOR: EVOTOR_ACCOUNTS, VK: VK_ACCOUNTS}


def default_account(provider: str) -> str:
    """The account used when a caller names none: the first demo account of that provider."""
    return next(iter(ACCOUNTS[provider]))


def account_label(provider: str, account_id: str) -> str:
    """How the consent screen and the market page name an account."""
    if provider == EVOTOR:
        return ", ".join(store["name"] for store in EVOTOR_ACCOUNTS[account_id])
    user = VK_ACCOUNTS[account_id]
    return f"{user['first_name']} {user['last_name']}"


def evotor_stores(account_id: str) -> list[dict]:
    """The account's stores in the shape of a GET /stores item."""
    return [
        {**store, "user_id": account_id, "created_at": STORE_CREATED_AT, "updated_at": STORE_UPDATED_AT}
        for store in EVOTOR_ACCOUNTS[account_id]
    ]
