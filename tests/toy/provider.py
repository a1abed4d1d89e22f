"""The toy provider's client: OAuth 2 authorization code (client secret in the body, refresh
tokens) and `GET /api/me` as the health check; it offers goods (`GoodsProvider`, goods.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from pydantic import SecretStr

from connhub.config import ProviderSettings, Settings
from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import Account, Provider, ProviderError, ProviderInfo, TokenSet
from connhub.providers.oauth2 import oauth_session, token_request, token_set
from connhub.providers.presentation import AccountPresentation, Fact
from tests.toy.goods import ToyGoods

SERVICE = "Игрушка"


class ToySettings(ProviderSettings):
    TOY_URL: str = "https://toy.invalid"
    TOY_CLIENT_ID: str = ""
    TOY_CLIENT_SECRET: SecretStr = SecretStr("")

    def urls(self) -> tuple[str, ...]:
        return (self.TOY_URL,)

    def client_id(self) -> str:
        return self.TOY_CLIENT_ID


class ToyProvider(Provider):
    info = ProviderInfo(key="toy", title="Игрушка", icon=":material/toys:",
                        description="Игрушечный сервис: подключается только в тестах.")
    settings_class = ToySettings
    emulation = "tests.toy.sandbox"

    def rights_setting(self) -> str:
        return ""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = settings.of(ToySettings)

    def goods_target(self, access_token: Secret, *,
                     on_rights_refused: Callable[[], None] | None = None) -> ToyGoods:
        """The toy's goods (`GoodsProvider`): an in-memory shop (tests/toy/goods.py), which never refuses for rights."""
        return ToyGoods()

    def rights_refused(self, profile: dict[str, Any], when: datetime) -> dict[str, Any]:
        return profile

    def probe_url(self) -> str:
        return f"{self.config.TOY_URL}/api/me"

    def present_account(self, account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
        return AccountPresentation(heading=display_name, facts=(Fact("Игрушечный ID", account_id),))

    def _client(self, redirect_uri: str | None = None) -> OAuth2Session:
        return oauth_session(client_id=self.config.TOY_CLIENT_ID,
                             client_secret=self.config.TOY_CLIENT_SECRET.get_secret_value(),
                             token_endpoint_auth_method="client_secret_post", redirect_uri=redirect_uri,
                             default_timeout=self.timeout)

    def authorization_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(f"{self.config.TOY_URL}/authorize", state=state)
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str,
                      callback: Mapping[str, str]) -> TokenSet:
        with self._client(redirect_uri) as client:
            payload = token_request(SERVICE, lambda: client.fetch_token(
                f"{self.config.TOY_URL}/token", grant_type="authorization_code", code=code))
        return token_set(payload, service=SERVICE)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        if tokens.refresh_token is None:
            return super().refresh(tokens)
        refresh_token = tokens.refresh_token
        with self._client() as client:
            payload = token_request(SERVICE, lambda: client.refresh_token(
                f"{self.config.TOY_URL}/token", refresh_token=refresh_token.reveal()))
        return token_set(payload, service=SERVICE, previous_refresh=refresh_token)

    def fetch_account(self, access_token: Secret) -> Account:
        response = http.get(
            f"{self.config.TOY_URL}/api/me", headers={"Authorization": f"Bearer {access_token.reveal()}"},
                            params=None, timeout=self.timeout, service=SERVICE)
        if response.status_code == 401:
            raise ProviderError("Игрушка отклонила токен — подключите заново", permanent=True, code="http_401")
        if response.status_code != 200:
            raise ProviderError(f"Игрушка недоступна (ошибка {response.status_code})", permanent=False,
                                code=f"http_{response.status_code}")
        body = http.json_body(response, SERVICE)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise ProviderError("Игрушка прислала непонятный ответ", permanent=False, code="bad_body_200")
        return Account(account_id=body["id"], display_name=str(body.get("name") or body["id"]), profile=dict(body))
