"""VK's side, emulated: VK ID (OAuth 2.1 with PKCE and `device_id`) at id.vk.com, the API at
api.vk.com (`users.get`, the goods methods, `execute`), the photo upload server, and the control
routes tests use. Shapes follow docs/providers.md («VK») and docs/vk-goods.md; the gotchas are
reproduced on purpose (API errors are HTTP 200 with an `error` object, `v` is mandatory, refresh
tokens are single-use).

    constants.py  the app, demo users and communities, limits, error texts (shared by every part)
    auth.py       VK ID: consent, token exchange and refresh, user info, revocation
    api.py        /method/<name>, users.get, the upload server
    model.py      items, photos, uploads, the caller; VK's text and price rules
    goods.py      the goods state (one lock), `reset` restores the seed
    methods.py    groups.get and market.*, with VK's validation
    wire.py       execute's VKScript, multipart bodies, one API request's answer
    control.py    the token page, /_sandbox/vk/*, `GoodsControl`
    orders.py     orders (getGroupOrders, getOrderItems), the basic market's 1409, /_sandbox/vk/orders
    variants.py   properties, variants, groupItems (extended market only), /_sandbox/vk/variants
    communities.py  /vk/communities: what each sandbox community holds, for a person
"""

from __future__ import annotations

import secrets

from connhub.providers.vk.sandbox.api import api_error_fault, api_method, upload_photo, users_get
from connhub.providers.vk.sandbox.auth import account_label, authorize, revoke, token, user_info
from connhub.providers.vk.sandbox.communities import communities_page
from connhub.providers.vk.sandbox.constants import RIGHT_SCOPES, VK, VK_ACCOUNTS, VK_CLIENT_ID, VK_SCOPE
from connhub.providers.vk.sandbox.control import (
    GoodsControl,
    control_albums,
    control_calls,
    control_delete_item,
    control_edit_item,
    control_goods,
    control_items,
    control_user_token,
    token_page,
)
from connhub.providers.vk.sandbox.goods import GoodsState
from connhub.providers.vk.sandbox.orders import control_orders
from connhub.providers.vk.sandbox.photos_bulk import control_bulk, upload_photos
from connhub.providers.vk.sandbox.variants import control_variants
from connhub.sandbox.emulation import ApiErrorFault, Emulation, Route

__all__ = ["EMULATION", "GoodsControl", "VK", "VK_ACCOUNTS", "VK_CLIENT_ID", "VK_SCOPE"]



def env(base_url: str) -> dict[str, str]:
    # The sandbox's VK app has the extended rights approved, so VK ID is asked for what the sync needs.
    return {"VK_ID_URL": f"{base_url}/vkid", "VK_API_URL": f"{base_url}/vk", "VK_CLIENT_ID": VK_CLIENT_ID,
            "VK_SCOPES": f"{VK_SCOPE} {' '.join(RIGHT_SCOPES)}"}




EMULATION = Emulation(
    provider=VK,
    title="VK ID",
    client_id=VK_CLIENT_ID,
    accounts=VK_ACCOUNTS,
    label=account_label,
    routes=(
        Route("/vkid/authorize", {"GET": authorize, "POST": authorize}, "VK ID: экран согласия"),
        Route("/vkid/oauth2/auth", {"POST": token}, "VK ID: обмен кода и обновление токенов"),
        Route("/vkid/oauth2/user_info", {"POST": user_info}, "VK ID: данные пользователя"),
        Route("/vkid/oauth2/revoke", {"POST": revoke}, "VK ID: отзыв доступа"),
        Route("/vk/method/", {"GET": api_method, "POST": api_method},
              "VK API: users.get, groups.get, market.*, execute", prefix=True),
        Route("/vk/upload/photo", {"POST": upload_photo}, "VK: сервер загрузки фото товаров"),
        Route("/vk/upload/photos", {"POST": upload_photos}, "VK: сервер загрузки фото товаров пакетом"),
        Route("/_sandbox/vk/photos-bulk", {"POST": control_bulk}, "управление: пакетная загрузка фото вкл/выкл"),
        Route("/vk/communities", {"GET": communities_page}, "VK: товары сообществ песочницы (страница)"),
        Route("/vk/token", {"GET": token_page, "POST": token_page}, "VK: ключ доступа пользователя с правами"),
        Route("/_sandbox/vk/user-token", {"POST": control_user_token}, "управление: ключ VK с правами"),
        Route("/_sandbox/vk/goods", {"POST": control_goods},
              "управление: товары сообщества вкл/выкл, предел товаров, обязательное фото, лимит запросов"),
        Route("/_sandbox/vk/items", {"GET": control_items, "POST": control_items},
              "управление: товары сообщества (все; без group_id — всех сообществ) / добавить товары"),
        Route("/_sandbox/vk/delete-item", {"POST": control_delete_item}, "управление: удалить товар «вручную»"),
        Route("/_sandbox/vk/albums", {"GET": control_albums, "POST": control_albums},
              "управление: подборки сообщества, подборка «вручную», пределы"),
        Route("/_sandbox/vk/edit-item", {"POST": control_edit_item}, "управление: изменить товар «вручную»"),
        Route("/_sandbox/vk/orders", {"GET": control_orders, "POST": control_orders},
              "управление: заказы сообщества, заказ покупателя, статус заказа, базовый/расширенный маркет"),
        Route("/_sandbox/vk/variants", {"GET": control_variants, "POST": control_variants},
              "управление: свойства и варианты товаров сообщества, группы товаров, пределы"),
        Route("/_sandbox/vk/calls", {"GET": control_calls, "DELETE": control_calls},
              "управление: счётчики вызовов VK по методам"),
    ),
    targets=(("/vkid/", "vk-id"), ("/vk/", "vk-api")),
    env=env,
    new_token=lambda: "vk2.a." + secrets.token_urlsafe(64),  # VK ID tokens are long opaque strings
    access_ttl=("vk_access_ttl", 3600),
    oauth_targets=frozenset({"vk-id"}),
    revoke_modes=("revoke", "banned", "deleted"),
    refresh_refusals={"banned": ("user was deleted or banned", "access_denied"),
                      "deleted": ("user was deleted or banned", "access_denied")},
    binds_device=True,
    minted=lambda issued: {"device_id": issued.device_id, "user_id": int(issued.account_id)},
    api_error_fault=ApiErrorFault(param="vk_error", target="vk-api", answer=api_error_fault),
    links=(("/vk/token", "ВКонтакте: ключ доступа пользователя"),
           ("/vk/communities", "ВКонтакте: товары сообществ песочницы")),
    extra_state=lambda: GoodsState(more_methods={"users.get": users_get}),
)
