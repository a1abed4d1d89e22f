"""The VK emulation's fixed facts, shared by its modules: the app, the demo users and communities,
the categories, VK's limits and its error texts (docs/providers.md «VK», docs/vk-goods.md)."""

from __future__ import annotations

import re
from typing import Any

VK = "vk"
VK_CLIENT_ID = "sandbox-vk-client"
VK_SCOPE = "vkid.personal_info"

# VK users keyed by their id as a string, the form every account id takes inside the sandbox.
VK_ACCOUNTS: dict[str, dict[str, Any]] = {
    "743784474": {"id": 743784474, "first_name": "Иван", "last_name": "Иванов"},
    "100200300": {"id": 100200300, "first_name": "Мария", "last_name": "Петрова"},
}

# error_msg for each error_code, as api.vk.com words them (vk-api-schema errors.json).
API_ERRORS = {
    1: "Unknown error occurred",
    2: "Application is disabled. Enable your application or use test mode",
    3: "Unknown method passed",
    5: "User authorization failed: invalid session.",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    14: "Captcha needed",
    15: "Access denied",
    17: "Validation required: please open redirect_uri in browser",
    18: "User was deleted or banned",
    24: "Confirmation required",
    27: "Group authorization failed: method is unavailable with group auth.",
    28: "Application authorization failed: method is unavailable with service token.",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
}

# users.get answers for an access token that is not "ok", by TokenCheck verdict.
TOKEN_ERRORS = {
    "unknown": (5, "User authorization failed: invalid access_token (4)."),
    "expired": (5, "User authorization failed: access_token has expired."),
    "revoked": (5, "User authorization failed: user revoke access for this token."),
    "banned": (18, API_ERRORS[18]),
    "deleted": (18, API_ERRORS[18]),
}

# The rights a user token may carry beyond VK ID's own, as the sync needs them.
RIGHT_SCOPES = ("groups", "market", "photos")

API_RATE_LIMIT = 3  # requests per second per token
EXECUTE_MAX_CALLS = 25
PHOTO_MIN_SIDE = 400
CURRENCY = {"id": 643, "name": "RUB", "title": "Российский рубль"}
FIRST_ITEM_ID = 1000
FIRST_PHOTO_ID = 457239000
FIRST_ALBUM_ID = 1

# Communities each demo VK user belongs to, with their role (admin_level 1 moderator, 2 editor, 3 admin).
COMMUNITIES: dict[int, dict[str, Any]] = {
    218252175: {"name": "Магазин у дома", "screen_name": "club218252175", "type": "group", "goods": True},
    218252176: {"name": "Чайная лавка", "screen_name": "tea_shop_demo", "type": "page", "goods": False},
    218252177: {"name": "Кофейня на Садовой", "screen_name": "coffee_demo", "type": "group", "goods": True},
    218252178: {"name": "Клуб любителей чая", "screen_name": "tea_club_demo", "type": "group", "goods": True},
}
MEMBERSHIPS: dict[str, dict[int, int]] = {
    "743784474": {218252175: 3, 218252176: 3, 218252177: 2, 218252178: 1},
    "100200300": {218252177: 3},
}
CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "Гардероб", "children": [
        {"id": 100, "name": "Женская одежда"}, {"id": 101, "name": "Мужская одежда"},
        {"id": 102, "name": "Обувь"}]},
    {"id": 5, "name": "Продукты питания", "children": [
        {"id": 500, "name": "Напитки"}, {"id": 501, "name": "Чай и кофе"}, {"id": 502, "name": "Выпечка"},
        {"id": 503, "name": "Сладости"}]},
    {"id": 7, "name": "Дом и сад", "children": [{"id": 700, "name": "Посуда"}, {"id": 701, "name": "Текстиль"}]},
    {"id": 9, "name": "Услуги", "children": [{"id": 900, "name": "Доставка"}]},
]
CATEGORY_BY_ID = {
    child["id"]: (child, parent) for parent in CATEGORIES for child in parent.get("children", [])
} | {parent["id"]: (parent, None) for parent in CATEGORIES}

ERROR_MESSAGES = {
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation: too many API calls",
    15: "Access denied: no access to call this method",
    100: "One of the parameters specified was missing or invalid",
    205: "Access denied: you don't have access to this market",
    1403: "Item not found",
    1405: "Too many items",
    1408: "Item has bad links in description",
    1435: "Image is too small",
    1409: "Extended market not enabled",
    1412: "Items have different properties",
    1413: "Item already has such variant",
    1415: "Item must have variants",
    1416: "Variant not found",
    1417: "Property not found",
    1418: "Too many properties",
    1419: "Too many variants",
    1421: "Name too long",
    1423: "Variant value too long",
    1425: "Grouping needs at least two items",
    1426: "Items must have distinct properties",
    1436: "Order not found",
    1438: "Market not enabled",
    1518: "Item is not deleted",
}
PRICE = re.compile(r"\d{1,12}(?:\.\d{1,2})?")
# What VK treats as a link in a description: a scheme, `www.`, or a host name under a known zone.
LINK = re.compile(
    r"(?:https?|ftp)://|\bwww\.|\b[\w-]+(?:\.[\w-]+)*\.(?:ru|su|com|net|org|info|biz|io|me|by|kz|ua|рф)\b",
    re.IGNORECASE,
)

