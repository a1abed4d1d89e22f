"""What the products in the sync become: on sale, hidden or skipped, each with its reason (issue 17).

One computation for the confirmation («будут выгружены …») and for the run: `mapped_selection`
maps every selected product once (`mapping.map_product`) and `Forecast` counts the answer, so the
confirmation's numbers, the plan and the run's summary cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connhub.sync.mapping import MappingPolicy, ProductFacts, Skipped, VkItem, map_product
from connhub.text import counted

if TYPE_CHECKING:
    from connhub.sync.config import SyncSettings

HIDDEN_REASON = "не для продажи"  # why a published item is hidden (`NotForSale.HIDE`)


def policy_of(settings: SyncSettings, *, stock: bool = False) -> MappingPolicy:
    """The mapping policy a sync configuration means (the run and the confirmation use this one);
    `stock`: «Передавать остаток» (it changes what is written, never what is counted)."""
    chosen = settings.policies
    return MappingPolicy(multiplier=chosen.price_multiplier, zero_price=chosen.on_zero_price,
                         not_for_sale=chosen.on_not_for_sale, template=chosen.description_template,
                         category_id=settings.vk_category_id, stock=stock)


@dataclass(frozen=True)
class Mapped:
    product_id: str
    name: str
    item: VkItem


def mapped_selection(product_ids: Iterable[str], facts: Mapping[str, ProductFacts], policy: MappingPolicy,
                     ) -> tuple[list[Mapped], list[tuple[Skipped, str]]]:
    """Each selected product mapped once: the items to publish and the skipped ones with their names."""
    published: list[Mapped] = []
    skipped: list[tuple[Skipped, str]] = []
    for product_id in product_ids:
        fact = facts.get(product_id)
        if fact is None:
            continue
        result = map_product(fact, policy)
        if isinstance(result, Skipped):
            skipped.append((result, fact.name))
        else:
            published.append(Mapped(product_id, fact.name, result))
    return published, skipped


@dataclass(frozen=True)
class Forecast:
    on_sale: int = 0
    hidden: int = 0  # published hidden: not for sale
    skipped: dict[str, int] = field(default_factory=dict)  # reason (Russian) → how many

    @classmethod
    def of(cls, published: Iterable[Mapped | VkItem], skipped: Iterable[tuple[Skipped, str]]) -> Forecast:
        items = [p.item if isinstance(p, Mapped) else p for p in published]
        hidden = sum(1 for item in items if item.hidden)
        reasons = Counter(s.message for s, _ in skipped)
        return cls(on_sale=len(items) - hidden, hidden=hidden, skipped=dict(reasons.most_common()))

    @property
    def published(self) -> int:
        return self.on_sale + self.hidden

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {"on_sale": self.on_sale, "hidden": self.hidden, "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Forecast | None:
        if not raw:
            return None
        skipped = raw.get("skipped") or {}
        return cls(int(raw.get("on_sale") or 0), int(raw.get("hidden") or 0),
                   {str(k): int(v) for k, v in skipped.items()} if isinstance(skipped, Mapping) else {})

    def text(self) -> str:
        """«4 007 в продаже, 455 скрытыми (не для продажи); не выгружаются 210: нулевая цена — 210»."""
        hidden = f"{self.hidden} скрытыми ({HIDDEN_REASON})" if self.hidden else "скрытых нет"
        out = f"{self.on_sale} в продаже, {hidden}"
        if self.skipped:
            reasons = "; ".join(f"{reason} — {n}" for reason, n in self.skipped.items())
            out += f"; не выгружаются {counted(self.skipped_total, 'товар', 'товара', 'товаров')}: {reasons}"
        return out
