"""VK: VK ID (OAuth 2.1 with PKCE S256, rotating refresh tokens, `device_id`) and `users.get`.

VK answers API errors with HTTP 200 and an `error` object, so success is a `response` list
with an `id`, nothing less. Error codes (shared/reference/providers.md §7): 5, 18, 27, 28 mean
the token is dead; 17 and 24 need the user; 1, 6, 9, 10, 14, 29 are trouble, and so is any
code we do not know (an unknown error never kills a connection).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode
from collections.abc import Mapping
from typing import Any

from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import Account, Provider, ProviderError, ProviderInfo, TokenSet
from connhub.providers.oauth2 import oauth_session, token_request, token_set

SERVICE = "ВКонтакте"
API_VERSION = "5.199"
SCOPE = "vkid.personal_info"

REJECTIONS = {
    5: "ВКонтакте отклонил токен — подключите заново",
    18: "Страница ВКонтакте удалена или заблокирована",
    27: "ВКонтакте не принял ключ доступа — подключите заново",
    28: "ВКонтакте не принял ключ приложения — подключите заново",
    17: "ВКонтакте требует подтвердить вход — подключите заново",
    24: "ВКонтакте требует подтверждения — подключите заново",
}
TROUBLE = {
    1: "Неизвестная ошибка на стороне ВКонтакте",
    6: "ВКонтакте ограничил частоту запросов",
    9: "ВКонтакте ограничил частоту запросов",
    10: "Внутренняя ошибка ВКонтакте",
    14: "ВКонтакте запросил капчу, повторим позже",
    29: "ВКонтакте ограничил число запросов на сегодня",
}


class VkProvider(Provider):
    info = ProviderInfo(
        key="vk",
        title="ВКонтакте",
        icon=":material/forum:",
        description="Подключите аккаунт ВКонтакте для публикации товаров в вашу группу.",
    )

    def _client(self, redirect_uri: str | None = None):
        return oauth_session(
            client_id=self.settings.VK_CLIENT_ID,
            token_endpoint_auth_method="none",
            code_challenge_method="S256",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            default_timeout=self.timeout,
        )

    def authorization_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                f"{self.settings.VK_ID_URL}/authorize", state=state, code_verifier=code_verifier
            )
        return url

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str,
                      callback: Mapping[str, str]) -> TokenSet:
        device_id = callback.get("device_id", "")
        if not device_id:
            raise ProviderError("ВКонтакте не прислал device_id — попробуйте ещё раз", permanent=False,
                                code="no_device_id")
        request_state = secrets.token_urlsafe(24)
        with self._client(redirect_uri) as client:
            payload = token_request(SERVICE, lambda: client.fetch_token(
                f"{self.settings.VK_ID_URL}/oauth2/auth",
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
                f"{self.settings.VK_ID_URL}/oauth2/auth",
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
        response = http.get(
            f"{self.settings.VK_API_URL}/method/users.get",
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
            raise _api_error(body["error"])
        users = body.get("response") if isinstance(body, dict) else None
        if not isinstance(users, list) or not users or not isinstance(users[0], dict) or "id" not in users[0]:
            raise ProviderError("ВКонтакте прислал непонятный ответ", permanent=False, code="bad_body_200")
        user = users[0]
        if user.get("deactivated"):
            raise ProviderError(REJECTIONS[18], permanent=True, code="vk_deactivated")
        first, last = str(user.get("first_name") or ""), str(user.get("last_name") or "")
        return Account(
            account_id=str(user["id"]),
            display_name=f"{first} {last}".strip() or f"id{user['id']}",
            profile={"user_id": user["id"], "first_name": first, "last_name": last},
        )

    def is_rejection_of_access_token(self, error: ProviderError) -> bool:
        return error.code == "vk_5"


def _state_body(state: str) -> str:
    # VK ID wants a fresh `state` on token requests too; Authlib keeps its `state` argument for
    # itself, so it goes into the body that Authlib extends.
    return urlencode({"state": state})


def _api_error(error: dict[str, Any]) -> ProviderError:
    code = error.get("error_code")
    if not isinstance(code, int):
        return ProviderError("ВКонтакте прислал непонятную ошибку", permanent=False, code="vk_unknown")
    if code in REJECTIONS:
        return ProviderError(REJECTIONS[code], permanent=True, code=f"vk_{code}")
    return ProviderError(TROUBLE.get(code, f"Ошибка ВКонтакте {code}, повторим позже"), permanent=False,
                         code=f"vk_{code}")
