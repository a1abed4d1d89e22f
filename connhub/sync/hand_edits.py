"""Items edited by hand at the target: what the shop shows now against what the sync last wrote
(`SyncItem.fields`), and the policy for them (docs/vk-goods.md, «Items edited by hand»).

Compared: the title, the description and the price (the photo is not: reading it back needs the
extended listing, several times larger; left for later). An item is "edited by hand" when any of
them differs from what the sync sent; under `LEAVE` the sync writes nothing to it (no edit, no
hide) and an item deleted by hand is not made again, until the owner switches the policy back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connhub.ports.goods import ItemLooks


class HandEdits(enum.StrEnum):
    OVERWRITE = "overwrite"  # today's behaviour: what the catalog says is written back
    LEAVE = "leave"  # left alone until the owner decides


HAND_EDIT_LABELS = {
    HandEdits.OVERWRITE: "Перезаписывать данными из Эвотор (удалённые — создавать заново)",
    HandEdits.LEAVE: "Не трогать, пока я не решу (удалённые не создавать)",
}
WHAT = {"title": "название", "description": "описание", "price": "цена"}


def changed_by_hand(looks: ItemLooks | None, sent: Mapping[str, Any]) -> list[str]:
    """Which of title, description, price the shop shows differently from what was last sent
    (Russian words, for the report); empty when nothing differs or nothing is known."""
    if looks is None or not sent.get("name"):
        return []
    found = []
    if looks.title != str(sent.get("name")):
        found.append(WHAT["title"])
    if looks.description != str(sent.get("description") or ""):
        found.append(WHAT["description"])
    try:
        price = int((Decimal(str(sent.get("price"))) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        price = None
    if price is not None and looks.price_kopecks is not None and looks.price_kopecks != price:
        found.append(WHAT["price"])
    return found
