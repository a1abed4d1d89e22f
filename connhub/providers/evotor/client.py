"""Evotor cloud: OAuth authorization code (client Basic auth), pasted cloud tokens, `GET /stores`.

The facts relied on are in docs/providers.md («Evotor»); what each status means is in errors.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connhub.config import Settings
from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import Account, Provider, ProviderError, TokenSet
from connhub.providers.capabilities import CatalogProvider, ProductImagesProvider
from connhub.providers.evotor import presentation
from connhub.providers.evotor.catalog import EvotorCatalog
from connhub.providers.evotor.errors import BAD_BODY, RATE_LIMITED, REJECTIONS, unavailable
from connhub.providers.evotor.images import EvotorImages
from connhub.providers.evotor.settings import EvotorSettings
from connhub.providers.oauth2 import oauth_session, token_request, token_set
from connhub.providers.presentation import AccountPresentation

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

SERVICE = "Эвотор"
ACCEPT_V2 = "application/vnd.evotor.v2+json"



class EvotorProvider(Provider):
    info = presentation.INFO
    settings_class = EvotorSettings
    emulation = "connhub.providers.evotor.sandbox"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = settings.of(EvotorSettings)

    def probe_url(self) -> str:
        return f"{self.config.EVOTOR_API_URL}/stores"

    def present_account(self, account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
        return presentation.account(profile)

    def sandbox_token_page(self) -> str | None:
        return f"{self.config.EVOTOR_OAUTH_URL}/market"

    def _client(self, redirect_uri: str | None = None) -> OAuth2Session:
        return oauth_session(
            client_id=self.config.EVOTOR_CLIENT_ID,
            client_secret=self.config.EVOTOR_CLIENT_SECRET.get_secret_value(),
            token_endpoint_auth_method="client_secret_basic",
            redirect_uri=redirect_uri,
            default_timeout=self.timeout,
        )

    def authorization_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        # Evotor documents no PKCE; the verifier stays unused and the state guards the flow.
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                f"{self.config.EVOTOR_OAUTH_URL}/oauth/authorize", state=state
            )
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str,
                      callback: Mapping[str, str]) -> TokenSet:
        with self._client(redirect_uri) as client:
            payload = token_request(SERVICE, lambda: client.fetch_token(
                f"{self.config.EVOTOR_OAUTH_URL}/oauth/token",
                grant_type="authorization_code",
                code=code,
            ))
        return token_set(payload, service=SERVICE)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        if tokens.refresh_token is None:
            return super().refresh(tokens)
        refresh_token = tokens.refresh_token
        with self._client() as client:
            payload = token_request(SERVICE, lambda: client.refresh_token(
                f"{self.config.EVOTOR_OAUTH_URL}/oauth/token", refresh_token=refresh_token.reveal()
            ))
        return token_set(payload, service=SERVICE, previous_refresh=refresh_token)

    def parse_pasted_token(self, raw: str) -> Secret:
        candidate = raw.strip()
        if not candidate:
            raise ValueError("Вставьте токен приложения из Личного кабинета Эвотор")
        try:
            uuid.UUID(candidate)
        except ValueError:
            raise ValueError(
                "Это не похоже на токен Эвотор: он выглядит как "
                "f46b89a5-8e80-4591-b0aa-94551790444b (36 символов)"
            ) from None
        return Secret(candidate.lower())

    def fetch_account(self, access_token: Secret) -> Account:
        response = http.get(
            f"{self.config.EVOTOR_API_URL}/stores",
            headers={"Authorization": f"Bearer {access_token.reveal()}", "Accept": ACCEPT_V2},
            params=None,
            timeout=self.timeout,
            service=SERVICE,
        )
        status = response.status_code
        if status in REJECTIONS:
            raise ProviderError(REJECTIONS[status], permanent=True, code=f"http_{status}")
        if status == 429:
            wait = http.retry_after_seconds(response, "X-RateLimit-Reset", "Retry-After")
            raise ProviderError(
                RATE_LIMITED, permanent=False, code="http_429",
                retry_after=wait,
            )
        if status != 200:
            raise ProviderError(unavailable(status), permanent=False, code=f"http_{status}")
        body = http.json_body(response, SERVICE)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ProviderError(BAD_BODY, permanent=False, code="bad_body_200")
        stores = [
            {"id": str(item.get("id", "")), "name": str(item.get("name") or ""),
             "address": str(item.get("address") or "")}
            for item in items
            if isinstance(item, dict)
        ]
        first = stores[0] if stores else {"id": "", "name": ""}
        return Account(
            account_id=first["id"],
            display_name=first["name"] or "Нет магазинов",
            profile={"store_id": first["id"], "store_name": first["name"], "stores": stores},
        )

    def product_type_names(self) -> dict[str, str]:
        return dict(presentation.PRODUCT_TYPES)

    def card_notes(self, profile: dict[str, Any]) -> tuple[str, ...]:
        return presentation.card_notes(profile)

    def catalog_source(self, access_token: Secret) -> EvotorCatalog:
        """The account's catalog (stores, groups, products) through the v2 API."""
        return EvotorCatalog(self.config.EVOTOR_API_URL, access_token, timeout=self.timeout,
                            bounds=self.config.catalog_bounds())

    def product_images(self, access_token: Secret) -> EvotorImages:
        """The account's product images (list and download), for the sync's photos."""
        return EvotorImages(self.config.EVOTOR_API_URL, access_token, timeout=self.timeout)


def _declared_catalog(provider: EvotorProvider) -> CatalogProvider:
    """Evotor offers a catalog and product images (`connhub.providers.capabilities`); mypy checks here."""
    return provider


def _declared_images(provider: EvotorProvider) -> ProductImagesProvider:
    return provider
