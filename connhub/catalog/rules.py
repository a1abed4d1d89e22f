"""Whether a product is in the sync: THE one code path that decides it.

The catalog page, `run/read_config.py` and the sync engine all ask `RuleSet`. The meaning is fixed:

1. With no rules at all, every product is in.
2. Once there is any include rule (whether or not its target is still in the catalog), only what
   an include covers is in; a product no rule covers is out.
3. The most specific rule covering a product decides: a product rule beats any group rule, a
   nearer group (the product's own group, then its parent, ...) beats a farther one, and any
   group rule beats the store rule. A group rule covers the group and everything below it.
4. Two rules of equal specificity (same target) disagreeing: exclude wins.

A rule whose target is no longer in the catalog is kept; `RuleSet.missing` reports it so the page
can mark it «нет в каталоге». The decision carries the rule that made it, for the «Причина» column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from connhub.models import RuleMode, RuleTarget


@dataclass(frozen=True)
class Rule:
    kind: RuleTarget
    target_id: str
    mode: RuleMode
    name: str = ""  # the target's name when the rule was made (shown when it left the catalog)
    id: int | None = None


@dataclass(frozen=True)
class Decision:
    included: bool
    rule: Rule | None  # None: decided by the default (no rules / not covered by an include)
    reason: str  # Russian, for the «Причина» column


# No rule covers the product: the default decides, and the reason says so (not «Правил нет» while
# other rules exist).
NO_RULES = Decision(True, None, "По умолчанию (в выгрузке)")
NOT_COVERED = Decision(False, None, "По умолчанию (не входит ни в одно включение)")

_KIND_WORDS = {
    RuleTarget.STORE: ("Магазин включён", "Магазин исключён"),
    RuleTarget.PRODUCT: ("Товар включён", "Товар исключён"),
}


def _reason(rule: Rule, group_names: Mapping[str, str]) -> str:
    include = rule.mode == RuleMode.INCLUDE
    if rule.kind == RuleTarget.GROUP:
        name = group_names.get(rule.target_id) or rule.name or rule.target_id
        return f"Группа «{name}» {'включена' if include else 'исключена'}"
    words = _KIND_WORDS[rule.kind]
    return words[0] if include else words[1]


def _strongest(current: Rule | None, candidate: Rule) -> Rule:
    """Of two rules on the same target, exclude wins."""
    if current is None or candidate.mode == RuleMode.EXCLUDE:
        return candidate
    return current


class RuleSet:
    """One user's rules for one store, compiled against the store's group tree."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        store_id: str,
        group_parents: Mapping[str, str | None],
        group_names: Mapping[str, str] | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.store_id = store_id
        self._parents = group_parents
        self._names = group_names or {}
        self._store: Rule | None = None
        self._groups: dict[str, Rule] = {}
        self._products: dict[str, Rule] = {}
        for rule in self.rules:
            if rule.kind == RuleTarget.STORE:
                if rule.target_id == store_id:
                    self._store = _strongest(self._store, rule)
            elif rule.kind == RuleTarget.GROUP:
                self._groups[rule.target_id] = _strongest(self._groups.get(rule.target_id), rule)
            else:
                self._products[rule.target_id] = _strongest(self._products.get(rule.target_id), rule)
        self.has_includes = any(rule.mode == RuleMode.INCLUDE for rule in self.rules)
        self._default = NOT_COVERED if self.has_includes else NO_RULES
        self._by_rule: dict[int, Decision] = {}
        self._group_memo: dict[str | None, Decision] = {}

    def _decision(self, rule: Rule) -> Decision:
        key = id(rule)
        found = self._by_rule.get(key)
        if found is None:
            found = Decision(rule.mode == RuleMode.INCLUDE, rule, _reason(rule, self._names))
            self._by_rule[key] = found
        return found

    def group_decision(self, group_id: str | None) -> Decision:
        """What decides for a product in this group with no product rule of its own."""
        memo = self._group_memo
        if group_id in memo:
            return memo[group_id]
        chain: list[str | None] = []
        seen: set[str] = set()
        current = group_id
        result: Decision | None = None
        while current is not None and current not in seen:
            if current in memo:
                result = memo[current]
                break
            chain.append(current)
            seen.add(current)
            rule = self._groups.get(current)
            if rule is not None:
                result = self._decision(rule)
                break
            current = self._parents.get(current)
        if result is None:
            result = self._decision(self._store) if self._store is not None else self._default
        for member in chain:
            memo[member] = result
        if group_id is None:
            memo[None] = result
        return result

    def decide(self, product_id: str, group_id: str | None) -> Decision:
        rule = self._products.get(product_id)
        if rule is not None:
            return self._decision(rule)
        return self.group_decision(group_id)

    def decide_all(self, product_ids: Sequence[str], group_ids: Sequence[str | None]) -> list[Decision]:
        products = self._products
        decision = self._decision
        group_decision = self.group_decision
        out: list[Decision] = []
        append = out.append
        for product_id, group_id in zip(product_ids, group_ids, strict=True):
            rule = products.get(product_id)
            append(decision(rule) if rule is not None else group_decision(group_id))
        return out

    def missing(self, *, group_ids: Iterable[str], product_ids: Iterable[str]) -> list[Rule]:
        """Rules whose target is not in the catalog (shown as «нет в каталоге»)."""
        groups = set(group_ids)
        products = set(product_ids)
        gone: list[Rule] = []
        for rule in self.rules:
            if rule.kind == RuleTarget.STORE:
                present = rule.target_id == self.store_id
            elif rule.kind == RuleTarget.GROUP:
                present = rule.target_id in groups
            else:
                present = rule.target_id in products
            if not present:
                gone.append(rule)
        return gone
