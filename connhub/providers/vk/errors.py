"""What VK's API error codes mean for a connection (docs/providers.md, «VK: errors»).

VK answers API errors with HTTP 200 and an `error` object. 5, 18, 27, 28 mean the token is dead;
17 and 24 need the user; 1, 6, 9, 10, 14, 29 are trouble, and so is any code we do not know (an
unknown error never kills a connection).
"""

from __future__ import annotations

from typing import Any

from connhub.providers.base import ProviderError

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
# The code of "the access token is not accepted": a refresh may cure it.
ACCESS_TOKEN_REJECTED = 5
DEACTIVATED = 18


def api_error(error: dict[str, Any]) -> ProviderError:
    code = error.get("error_code")
    if not isinstance(code, int):
        return ProviderError("ВКонтакте прислал непонятную ошибку", permanent=False, code="vk_unknown")
    if code in REJECTIONS:
        return ProviderError(REJECTIONS[code], permanent=True, code=f"vk_{code}")
    return ProviderError(TROUBLE.get(code, f"Ошибка ВКонтакте {code}, повторим позже"), permanent=False,
                         code=f"vk_{code}")
