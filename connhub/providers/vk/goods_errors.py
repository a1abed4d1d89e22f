"""VK API error codes for the goods sync, classified as data (docs/vk-goods.md, «Errors»).

Each code says what a caller does about it (`ErrorKind`) and what the user reads (Russian).
The HTTP-200 envelope `{"error": {"error_code", "error_msg", ...}}` is parsed by `api.VkApi`;
the text of `error_msg` is never relied on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connhub.ports.goods import GoodsErrorKind


class ErrorKind(enum.StrEnum):
    RETRY = "retry"  # transient: back off and try the same call again
    TOKEN = "token"  # the token is dead or needs the user: reconnect (never a missing right)
    RIGHT = "right"  # the token lacks a right (goods, photos, communities) or admin rights: stop the run
    USER_ACTION = "user_action"  # something only the user can change in VK (goods off, item limit): stop
    DATA_FIX = "data_fix"  # this item's data is wrong for VK: fix it once, else report and skip the item
    ITEM_GONE = "item_gone"  # the VK item is gone (deleted by hand, too late to restore): re-create it
    ALREADY = "already"  # the call's goal already holds (restore of a visible item, already in album)
    ITEM_FAILED = "item_failed"  # anything else: this one call failed; report it, go on with the others

    @property
    def stops_run(self) -> bool:
        return self in (ErrorKind.TOKEN, ErrorKind.RIGHT, ErrorKind.USER_ACTION)


@dataclass(frozen=True)
class ErrorInfo:
    kind: ErrorKind
    message: str  # Russian, for the run's status line or the failure list


ERRORS: dict[int, ErrorInfo] = {
    # transient
    1: ErrorInfo(ErrorKind.RETRY, "Неизвестная ошибка на стороне ВКонтакте"),
    6: ErrorInfo(ErrorKind.RETRY, "ВКонтакте ограничил частоту запросов"),
    9: ErrorInfo(ErrorKind.RETRY, "ВКонтакте ограничил однотипные действия (flood control)"),
    10: ErrorInfo(ErrorKind.RETRY, "Внутренняя ошибка ВКонтакте"),
    29: ErrorInfo(ErrorKind.RETRY, "ВКонтакте ограничил число запросов к методу на сегодня"),
    # the token
    5: ErrorInfo(ErrorKind.TOKEN, "ВКонтакте отклонил токен — подключите ВКонтакте заново"),
    17: ErrorInfo(ErrorKind.TOKEN, "ВКонтакте требует подтвердить вход — подключите ВКонтакте заново"),
    18: ErrorInfo(ErrorKind.TOKEN, "Страница ВКонтакте удалена или заблокирована"),
    24: ErrorInfo(ErrorKind.TOKEN, "ВКонтакте требует подтверждения — подключите ВКонтакте заново"),
    27: ErrorInfo(ErrorKind.TOKEN, "Нужен ключ пользователя, а не сообщества"),
    28: ErrorInfo(ErrorKind.TOKEN, "Нужен ключ пользователя, а не сервисный ключ приложения"),
    # rights
    7: ErrorInfo(ErrorKind.RIGHT, "У токена ВКонтакте нет нужного права"),
    15: ErrorInfo(ErrorKind.RIGHT, "У токена ВКонтакте нет доступа (права на товары, фото или сообщества)"),
    200: ErrorInfo(ErrorKind.RIGHT, "Нет доступа к альбому ВКонтакте"),
    203: ErrorInfo(ErrorKind.RIGHT, "Нет доступа к сообществу ВКонтакте"),
    205: ErrorInfo(ErrorKind.RIGHT, "Нет доступа к товарам сообщества: нужны права администратора или "
                                    "редактора и право «Товары» у токена"),
    260: ErrorInfo(ErrorKind.RIGHT, "Список сообществ скрыт настройками приватности ВКонтакте"),
    # what only the user can change in VK
    14: ErrorInfo(ErrorKind.USER_ACTION, "ВКонтакте запросил капчу: остановились, повторите позже"),
    1438: ErrorInfo(ErrorKind.USER_ACTION, "В сообществе выключены товары: включите раздел «Товары» в "
                                           "настройках сообщества"),
    1525: ErrorInfo(ErrorKind.USER_ACTION, "Товары в сообществе отключены ВКонтакте"),
    1526: ErrorInfo(ErrorKind.USER_ACTION, "Услуги в сообществе отключены ВКонтакте"),
    1409: ErrorInfo(ErrorKind.USER_ACTION, "В сообществе не включены расширенные товары"),
    1405: ErrorInfo(ErrorKind.USER_ACTION, "В сообществе достигнут предел числа товаров: новые товары не "
                                           "добавляются"),
    1406: ErrorInfo(ErrorKind.USER_ACTION, "В подборке слишком много товаров"),
    1407: ErrorInfo(ErrorKind.USER_ACTION, "В сообществе слишком много подборок"),
    # this item's data
    100: ErrorInfo(ErrorKind.DATA_FIX, "ВКонтакте не принял поля товара"),
    1408: ErrorInfo(ErrorKind.DATA_FIX, "В описании товара есть ссылки"),
    1421: ErrorInfo(ErrorKind.DATA_FIX, "Название товара слишком длинное"),
    1429: ErrorInfo(ErrorKind.DATA_FIX, "Размеры и вес товара должны быть заданы вместе"),
    1433: ErrorInfo(ErrorKind.DATA_FIX, "Фото товара: неверная область обрезки"),
    1434: ErrorInfo(ErrorKind.DATA_FIX, "Фото товара: область обрезки выходит за края"),
    1435: ErrorInfo(ErrorKind.DATA_FIX, "Фото товара слишком маленькое (нужно не меньше 400×400)"),
    # the item itself
    1403: ErrorInfo(ErrorKind.ITEM_GONE, "Товар удалён во ВКонтакте"),
    1400: ErrorInfo(ErrorKind.ITEM_GONE, "Товар удалён во ВКонтакте слишком давно, чтобы его восстановить"),
    # 1402 is about an album (VK documents it on market.*Album, addToAlbum, reorderItems): never "item gone"
    1402: ErrorInfo(ErrorKind.ITEM_FAILED, "Подборка не найдена"),
    1404: ErrorInfo(ErrorKind.ALREADY, "Товар уже в подборке"),
    1518: ErrorInfo(ErrorKind.ALREADY, "Товар не удалён"),
}


def classify(code: int) -> ErrorInfo:
    """What a VK error code means for the sync; an unknown code fails only the one call."""
    info = ERRORS.get(code)
    if info is not None:
        return info
    return ErrorInfo(ErrorKind.ITEM_FAILED, f"Ошибка ВКонтакте {code}")


RIGHT_CODES = frozenset(code for code, info in ERRORS.items() if info.kind is ErrorKind.RIGHT)


# What the sync does about a VK error (`connhub.ports.goods.GoodsErrorKind`): by kind, and for the
# data errors by code, since each asks for a different fix.
_GOODS_KINDS: dict[ErrorKind, GoodsErrorKind] = {
    ErrorKind.RETRY: GoodsErrorKind.TRANSIENT,
    ErrorKind.TOKEN: GoodsErrorKind.NEEDS_USER,
    ErrorKind.RIGHT: GoodsErrorKind.NEEDS_USER,
    ErrorKind.USER_ACTION: GoodsErrorKind.NEEDS_USER,
    ErrorKind.DATA_FIX: GoodsErrorKind.FIX_DESCRIPTION,
    ErrorKind.ITEM_GONE: GoodsErrorKind.ITEM_GONE,
    ErrorKind.ALREADY: GoodsErrorKind.ALREADY,
    ErrorKind.ITEM_FAILED: GoodsErrorKind.FAILED,
}
_RATE_CODES = frozenset({6, 9, 29})
_FIXES: dict[int, GoodsErrorKind] = {
    100: GoodsErrorKind.FIX_DESCRIPTION,  # one of the parameters: name under 4 or description under 10 characters
    1408: GoodsErrorKind.FIX_LINKS,
    1421: GoodsErrorKind.FIX_NAME,
    1429: GoodsErrorKind.FIX_DESCRIPTION,
    1433: GoodsErrorKind.FIX_PHOTO,
    1434: GoodsErrorKind.FIX_PHOTO,
    1435: GoodsErrorKind.FIX_PHOTO,
}


def goods_kind(kind: ErrorKind, code: int | None) -> GoodsErrorKind:
    """The port's kind of a classified VK error."""
    if code is not None and kind is ErrorKind.DATA_FIX and code in _FIXES:
        return _FIXES[code]
    if code is not None and kind is ErrorKind.RETRY and code in _RATE_CODES:
        return GoodsErrorKind.RATE_LIMITED
    return _GOODS_KINDS[kind]
