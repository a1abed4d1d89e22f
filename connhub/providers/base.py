"""The provider interface and the types every provider speaks in.

A provider package (`connhub/providers/<key>/`) subclasses `Provider` and is listed in
`connhub.providers.registry`. Everything a provider can go wrong with is a `ProviderError`:
`ProviderError` lives in `connhub.ports.errors` (re-exported here):
`permanent=True` means the provider rejected the credentials (only the user can fix that by
reconnecting), `permanent=False` means provider trouble (retry later, never a dead token).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connhub.config import ProviderSettings, Settings
from connhub.crypto import Secret
from connhub.ports.errors import ProviderError as ProviderError  # re-exported
from connhub.providers.presentation import AccountPresentation


@dataclass(frozen=True)
class ProviderInfo:
    key: str
    title: str
    icon: str  # a Material icon name, e.g. ":material/storefront:"
    description: str
    supports_token_paste: bool = False
    token_hint: str = ""  # how the pasted token looks and where to find it, for the token form


@dataclass(frozen=True)
class Account:
    """Who the token belongs to, as the provider reports it."""

    account_id: str
    display_name: str
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenSet:
    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: datetime | None = None
    auth_params: dict[str, Any] = field(default_factory=dict)  # non-secret, e.g. VK device_id


class Provider(ABC):
    info: ClassVar[ProviderInfo]
    # The provider's own environment variables.
    settings_class: ClassVar[type[ProviderSettings]]
    # The module holding its sandbox emulation (an `EMULATION` attribute), imported only by the
    # sandbox: the app and the checker never load emulation code.
    emulation: ClassVar[str]
    # Refresh this long before the access token expires, so a check never uses a dying token.
    refresh_margin = timedelta(minutes=5)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.HTTP_TIMEOUT_SECONDS

    @abstractmethod
    def probe_url(self) -> str:
        """An unauthenticated URL of the provider's API: any HTTP answer proves that the provider is
        reachable, which tells "our network is down" from "the provider is down"."""

    def present_account(self, account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
        """The account as the service page shows it; by default its name."""
        return AccountPresentation(heading=display_name or account_id)

    def merged_profile(self, stored: dict[str, Any], fetched: dict[str, Any]) -> dict[str, Any]:
        """The profile a check stores, given the stored one and the one it just fetched; by default
        the fetched one. A provider overrides it to keep facts a check could not re-learn this time."""
        return fetched

    def product_type_names(self) -> dict[str, str]:
        """A catalog provider's product types in Russian (code → name), for the catalog page and its
        CSV; none by default (a type is then shown as its code)."""
        return {}

    def card_notes(self, profile: dict[str, Any]) -> tuple[str, ...]:
        """Short lines the dashboard card shows under the account (e.g. missing rights); none by default."""
        return ()

    def sandbox_token_page(self) -> str | None:
        """Where the sandbox shows a token to paste (only asked when running on the sandbox)."""
        return None

    @abstractmethod
    def authorization_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        """Where to send the user's browser to grant access."""

    @abstractmethod
    def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, callback: Mapping[str, str]
    ) -> TokenSet:
        """Trade the authorization code (plus whatever else the callback carried) for tokens."""

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token. Providers without refresh never get asked."""
        raise ProviderError("Обновление токена не поддерживается", permanent=True, code="no_refresh")

    @abstractmethod
    def fetch_account(self, access_token: Secret) -> Account:
        """Call the provider's cheapest authenticated endpoint: the health check itself."""

    def fetch_account_knowing(self, access_token: Secret, known: Mapping[str, Any]) -> Account:
        """The health check given what the last check stored (`known`, the profile): a provider may
        skip what it learnt recently (VK: the rights probe). By default the same as `fetch_account`."""
        return self.fetch_account(access_token)

    def health_check_turn(self, access_token: Secret) -> tuple[str, float] | None:
        """The turn a health check of this token takes in a shared rate limit (`connhub.ratelimit`):
        the token's key and the spacing of its turns; None when the provider's calls are not limited
        per token. The checker reserves the turns of the checks it claims together."""
        return None

    def parse_pasted_token(self, raw: str) -> Secret:
        """Validate the shape of a token the user pasted; ValueError with a Russian message."""
        raise ValueError("Этот сервис подключается только через вход у провайдера")

    def token_is_stale(self, expires_at: datetime | None, now: datetime) -> bool:
        return expires_at is not None and expires_at - self.refresh_margin <= now

    def is_rejection_of_access_token(self, error: ProviderError) -> bool:
        """True when a refresh might cure the error (VK error 5 on an expired token)."""
        return False
