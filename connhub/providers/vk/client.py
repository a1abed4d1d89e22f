"""VK: VK ID (OAuth 2.1 with PKCE S256, rotating refresh tokens, `device_id`) and `users.get`.

VK answers API errors with HTTP 200 and an `error` object, so success is a `response` list
with an `id`, nothing less. The facts relied on are in docs/providers.md («VK»); what each error
code means is in errors.py. After `users.get` the health check probes the token's extended rights
(rights.py, docs/vk-goods.md) when the last probe is older than RIGHTS_MAX_AGE or a goods call was
refused for a right since (`rights_refused` marks the stored profile, in whichever process saw
it): one more request for a token without the communities right, three more for a token with every
right; otherwise a check is the one request. The goods side of a token is
`VkProvider.goods` (the raw API) and `VkProvider.goods_target` (the sync's `GoodsTarget`, offered as `GoodsProvider`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from connhub.config import Settings
from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import Account, Provider, ProviderError, TokenSet
from connhub.providers.capabilities import GoodsProvider
from connhub.providers.oauth2 import oauth_session, token_request, token_set
from connhub.providers.presentation import AccountPresentation
from connhub.providers.vk import presentation
from connhub.providers.vk.api import SHARED_SPACING, RateLimiter, RetryPolicy, VkApi, limiter_for
from connhub.providers.vk.errors import ACCESS_TOKEN_REJECTED, DEACTIVATED, REJECTIONS, api_error
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_target import VkGoodsTarget
from connhub.providers.vk.rights import Rights, probe_rights
from connhub.providers.vk.settings import VkSettings

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

SERVICE = "ВКонтакте"
API_VERSION = "5.199"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._\-]{20,1024}")
RIGHTS_MAX_AGE = timedelta(hours=6)  # the rights probe's answer is trusted this long (issue 19)


class VkProvider(Provider):
    info = presentation.INFO
    settings_class = VkSettings
    emulation = "connhub.providers.vk.sandbox"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = settings.of(VkSettings)

    def probe_url(self) -> str:
        return f"{self.config.VK_API_URL}/method/users.get"

    def card_notes(self, profile: dict[str, Any]) -> tuple[str, ...]:
        note = presentation.rights_note(profile)
        return (note,) if note else ()

    def sandbox_token_page(self) -> str | None:
        return f"{self.config.VK_API_URL}/token"

    def parse_pasted_token(self, raw: str) -> Secret:
        """A VK user token, bare or inside the `…#access_token=…` address VK's token page ends on."""
        candidate = raw.strip()
        if not candidate:
            raise ValueError("Вставьте ключ доступа пользователя ВКонтакте")
        if "access_token=" in candidate:
            parts = urlsplit(candidate)
            found = parse_qs(parts.fragment).get("access_token") or parse_qs(parts.query).get("access_token")
            candidate = found[0].strip() if found else ""
        if not TOKEN_SHAPE.fullmatch(candidate):
            raise ValueError("Это не похоже на ключ доступа ВКонтакте: это длинная строка из латинских букв, "
                             "цифр, точек и дефисов, например vk1.a.… или vk2.a.…")
        return Secret(candidate)

    def goods(self, access_token: Secret, *, retry: RetryPolicy | None = None, limiter: RateLimiter | None = None,
              on_rights_refused: Callable[[], None] | None = None) -> Goods:
        """The goods-side API of a user token (communities, categories, items, photos)."""
        return Goods(VkApi(access_token, api_url=self.config.VK_API_URL, timeout=self.timeout, retry=retry,
                           limiter=limiter, on_rights_refused=on_rights_refused))

    def rights_setting(self) -> str:
        return "VK_SCOPES"

    def goods_target(self, access_token: Secret, *,
                     on_rights_refused: Callable[[], None] | None = None) -> VkGoodsTarget:
        """The token's VK goods as the sync's target (`connhub.providers.capabilities.GoodsProvider`)."""
        return VkGoodsTarget(self.goods(access_token, on_rights_refused=on_rights_refused))

    def rights_refused(self, profile: dict[str, Any], when: datetime) -> dict[str, Any]:
        """The stored profile once a goods call was refused for a right at `when`: the next check re-probes."""
        return {**profile, "rights": Rights.from_profile(profile).refused(when).as_profile()}

    def present_account(self, account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
        return presentation.account(account_id, display_name, profile)

    def _client(self, redirect_uri: str | None = None) -> OAuth2Session:
        return oauth_session(
            client_id=self.config.VK_CLIENT_ID,
            token_endpoint_auth_method="none",
            code_challenge_method="S256",
            redirect_uri=redirect_uri,
            scope=self.config.VK_SCOPES,
            default_timeout=self.timeout,
        )

    def authorization_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                f"{self.config.VK_ID_URL}/authorize", state=state, code_verifier=code_verifier
            )
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str,
                      callback: Mapping[str, str]) -> TokenSet:
        device_id = callback.get("device_id", "")
        if not device_id:
            raise ProviderError("ВКонтакте не прислал device_id — попробуйте ещё раз", permanent=False,
                                code="no_device_id")
        request_state = secrets.token_urlsafe(24)
        with self._client(redirect_uri) as client:
            payload = token_request(SERVICE, lambda: client.fetch_token(
                f"{self.config.VK_ID_URL}/oauth2/auth",
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                device_id=device_id,
                body=_state_body(request_state),
            ))
        self._check_echoed_state(payload, request_state)
        return token_set(payload, service=SERVICE, auth_params={"device_id": device_id})

    def refresh(self, tokens: TokenSet) -> TokenSet:
        device_id = tokens.auth_params.get("device_id")
        if tokens.refresh_token is None or not device_id:
            return super().refresh(tokens)
        refresh_token = tokens.refresh_token
        request_state = secrets.token_urlsafe(24)
        with self._client() as client:
            payload = token_request(SERVICE, lambda: client.refresh_token(
                f"{self.config.VK_ID_URL}/oauth2/auth",
                refresh_token=refresh_token.reveal(),
                device_id=device_id,
                body=_state_body(request_state),
            ))
        self._check_echoed_state(payload, request_state)
        # VK rotates refresh tokens; keep the old one only if none came back.
        return token_set(payload, service=SERVICE, auth_params=tokens.auth_params, previous_refresh=refresh_token)

    @staticmethod
    def _check_echoed_state(payload: dict[str, Any], sent: str) -> None:
        echoed = payload.get("state")
        if echoed is not None and echoed != sent:
            raise ProviderError("ВКонтакте вернул чужой ответ (state не совпал)", permanent=False,
                                code="state_mismatch")

    def fetch_account(self, access_token: Secret) -> Account:
        """`users.get` (the health check), then the rights probe, whose answers never change the verdict."""
        return self.fetch_account_knowing(access_token, {})

    def health_check_turn(self, access_token: Secret) -> tuple[str, float] | None:
        """`users.get` takes a turn of the token's shared 3 requests a second like every VK call."""
        key = limiter_for(access_token).shared
        return None if key is None else (key, SHARED_SPACING)

    def fetch_account_knowing(self, access_token: Secret, known: Mapping[str, Any]) -> Account:
        """`users.get`; the rights probe only when the stored one is old or a goods call was refused for
        a right since (`known` is the stored profile)."""
        limiter = limiter_for(access_token)
        with limiter.slot():  # users.get counts against the token's 3 requests a second like the probe
            response = http.get(
                f"{self.config.VK_API_URL}/method/users.get",
                headers={"Authorization": f"Bearer {access_token.reveal()}"},
                params={"v": API_VERSION},
                timeout=self.timeout,
                service=SERVICE,
            )
        if response.status_code != 200:
            raise ProviderError(
                f"ВКонтакте недоступен (ошибка {response.status_code})", permanent=False,
                code=f"http_{response.status_code}",
            )
        body = http.json_body(response, SERVICE)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise api_error(body["error"])
        users = body.get("response") if isinstance(body, dict) else None
        if not isinstance(users, list) or not users or not isinstance(users[0], dict) or "id" not in users[0]:
            raise ProviderError("ВКонтакте прислал непонятный ответ", permanent=False, code="bad_body_200")
        user = users[0]
        if user.get("deactivated"):
            raise ProviderError(REJECTIONS[DEACTIVATED], permanent=True, code="vk_deactivated")
        first, last = str(user.get("first_name") or ""), str(user.get("last_name") or "")
        rights = Rights.from_profile(dict(known))
        if rights.due(datetime.now(UTC), RIGHTS_MAX_AGE):
            rights = probe_rights(self.goods(access_token, retry=RetryPolicy(attempts=1), limiter=limiter))
        return Account(
            account_id=str(user["id"]),
            display_name=f"{first} {last}".strip() or f"id{user['id']}",
            profile={"user_id": user["id"], "first_name": first, "last_name": last, "rights": rights.as_profile()},
        )

    def merged_profile(self, stored: dict[str, Any], fetched: dict[str, Any]) -> dict[str, Any]:
        """A right the probe could not learn this time (VK's rate limit, trouble) keeps its last known answer."""
        return {**fetched, "rights": Rights.from_profile(fetched).known_over(Rights.from_profile(stored)).as_profile()}

    def is_rejection_of_access_token(self, error: ProviderError) -> bool:
        return error.code == f"vk_{ACCESS_TOKEN_REJECTED}"


def _state_body(state: str) -> str:
    # VK ID wants a fresh `state` on token requests too; Authlib keeps its `state` argument for
    # itself, so it goes into the body that Authlib extends.
    return urlencode({"state": state})


def _declared(provider: VkProvider) -> GoodsProvider:
    """VK offers goods (`connhub.providers.capabilities`); mypy checks the signature here."""
    return provider
