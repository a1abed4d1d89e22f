"""Images made on the spot for the photo, goods and sync tests."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from PIL import Image
from sqlalchemy import update

from connhub.crypto import Secret
from connhub.models import Connection
from connhub.providers.vk.sandbox import GoodsControl
from connhub.runtime import Runtime
from connhub.sandbox import SandboxControl
from connhub.users import UserView
from tests.support.goods import ready_for_goods


def image_bytes(size=(300, 300), mode="RGB", colour=(200, 30, 30), fmt="PNG", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def ready_with_evotor_images(rt: Runtime, user: UserView, vk_goods: GoodsControl) -> int:
    """Ready to sync, with a real sandbox Evotor token (the images are asked for with it)."""
    snapshot = ready_for_goods(rt, user, vk_goods)
    token = SandboxControl(vk_goods.base_url).mint_tokens("evotor")["tokens"][0]["access_token"]
    with rt.sessions() as session:
        session.execute(update(Connection).where(Connection.user_id == user.id, Connection.provider == "evotor")
                        .values(access_token_sealed=rt.cipher.seal(Secret(token))))
        session.commit()
    return snapshot


def give_images(evotor_catalog: Callable[..., Any], *product_ids: str, data: bytes | None = None) -> None:
    changes = [{"product_id": pid, "action": "set"} | ({"data_base64": base64.b64encode(data).decode()} if data else {})
               for pid in product_ids]
    evotor_catalog(images=changes)
