"""Provider text made safe to store, log and show.

Anything a provider sends (names, addresses, error codes and descriptions) is untrusted: it may
be long, carry newlines that forge log lines or Markdown paragraphs, or control characters.
`clean` removes control and format characters, collapses every run of whitespace (newlines
included) into one space and cuts the result to a length the schema holds; `code` keeps an
error code to a short tag of safe characters. `clean_account` applies both to what a provider
reports about an account, on every path that stores it (connect, reconnect, check), so SQLite
and PostgreSQL store exactly the same thing.
"""

from __future__ import annotations

import math
from typing import Any

from connhub.ports.text import CODE_MAX, REASON_MAX, clean, code
from connhub.providers.base import Account

ACCOUNT_ID_MAX = 64  # connections.account_id
DISPLAY_NAME_MAX = 255  # connections.display_name
PROFILE_TEXT_MAX = 255  # any text inside connections.profile
PROFILE_LIST_MAX = 100  # items kept in any list inside connections.profile

__all__ = ["CODE_MAX", "REASON_MAX", "clean", "clean_account", "code"]


def _clean_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return clean(value, PROFILE_TEXT_MAX)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else clean(value, PROFILE_TEXT_MAX)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= 4:
        return None
    if isinstance(value, dict):
        return {clean(key, 64): _clean_value(item, depth + 1) for key, item in list(value.items())[:PROFILE_LIST_MAX]}
    if isinstance(value, list | tuple):
        return [_clean_value(item, depth + 1) for item in list(value)[:PROFILE_LIST_MAX]]
    return clean(value, PROFILE_TEXT_MAX)


def clean_account(account: Account) -> Account:
    """The account as it may be stored: every text cleaned and cut to what its column holds."""
    return Account(
        account_id=clean(account.account_id, ACCOUNT_ID_MAX),
        display_name=clean(account.display_name, DISPLAY_NAME_MAX),
        profile=_clean_value(dict(account.profile or {})),
    )
