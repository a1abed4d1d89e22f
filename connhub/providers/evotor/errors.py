"""What Evotor's API status codes mean for a connection (docs/providers.md, «Evotor: errors»).

401 and 403 mean the token is dead or the app was uninstalled, 402 that the app is not installed
or paid: all three need the user. 429, 5xx and transport failures are provider trouble. Only the
status code is trusted, never the error body.
"""

from __future__ import annotations

REJECTIONS = {
    401: "Эвотор отклонил токен — подключите заново",
    402: "Приложение не установлено или не оплачено в Эвотор",
    403: "Нет доступа: приложение удалено из Личного кабинета Эвотор или не хватает прав — подключите заново",
}
RATE_LIMITED = "Эвотор ограничил частоту запросов, повторим позже"
BAD_BODY = "Эвотор прислал непонятный ответ"


def unavailable(status: int) -> str:
    return f"Эвотор недоступен (ошибка {status})"
