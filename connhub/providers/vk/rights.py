"""Which extended VK rights a user token has: communities (`groups`), goods (`market`), `photos`.

Under VK ID these rights are granted to an app only on request, so a token that passes the health
check may still be unable to sync. The probe uses cheap read calls:
- `groups.get` (filter=admin,editor, extended, fields=market): the communities right, and the
  communities to probe the rest with;
- `market.getAlbums` (count=1) on a community with goods on that the user edits: the goods right;
- `market.getProductPhotoUploadServer` on that community: the photos right (it only hands out an
  upload address; nothing is created).
Errors 7, 15, 200, 203, 205 and 260 mean the right is missing (the token itself is fine); anything
else (trouble, goods switched off, no suitable community) leaves that right unknown (`None`).
A right that cannot be probed without an earlier one (no communities → no goods probe) is unknown.

The probe's answer is trusted for `max_age` (`Rights.due`), unless a goods call was refused for a
right since: `refused_at`, written into the connection's stored profile by whichever process saw
the refusal (`refused`), makes the next health check re-probe at once, wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connhub.providers.vk.api import VkApiError
from connhub.providers.vk.goods import Community, Goods
from connhub.providers.vk.goods_errors import RIGHT_CODES

RIGHTS = ("groups", "market", "photos")
LABELS = {"groups": "сообщества", "market": "товары", "photos": "фотографии"}


@dataclass(frozen=True)
class Rights:
    groups: bool | None = None
    market: bool | None = None
    photos: bool | None = None
    checked_at: str | None = None  # ISO 8601, UTC
    note: str = ""  # why a right stayed unknown (Russian), when one did
    refused_at: str | None = None  # ISO 8601, UTC: a goods call was refused for a right then

    @property
    def complete(self) -> bool:
        return self.groups is True and self.market is True and self.photos is True

    @property
    def missing(self) -> list[str]:
        """The Russian names of the rights known to be missing."""
        return [LABELS[name] for name in RIGHTS if getattr(self, name) is False]

    @property
    def unknown(self) -> list[str]:
        return [LABELS[name] for name in RIGHTS if getattr(self, name) is None]

    def due(self, now: datetime, max_age: timedelta) -> bool:
        """Whether to probe again: never probed, probed over `max_age` ago (or in the future), or a
        goods call was refused for a right since the probe."""
        checked = _moment(self.checked_at)
        if checked is None or not now - max_age <= checked <= now:
            return True
        refused = _moment(self.refused_at)
        return refused is not None and refused >= checked

    def known_over(self, earlier: Rights) -> Rights:
        """These rights, with each one left unknown here taken from `earlier` where that knew it, and
        the later of the two refusals (one seen while this check was in flight still counts)."""
        refusals = [moment for moment in (self.refused_at, earlier.refused_at) if _moment(moment) is not None]
        return replace(self, refused_at=max(refusals, key=lambda moment: _moment(moment) or _EPOCH, default=None),
                       **{name: getattr(earlier, name) for name in RIGHTS
                          if getattr(self, name) is None and getattr(earlier, name) is not None})

    def refused(self, now: datetime) -> Rights:
        """These rights once a goods call was refused for a right at `now`: due for a probe."""
        return replace(self, refused_at=now.astimezone(UTC).isoformat(timespec="microseconds"))

    def as_profile(self) -> dict[str, Any]:
        return {"groups": self.groups, "market": self.market, "photos": self.photos,
                "checked_at": self.checked_at, "note": self.note, "refused_at": self.refused_at}

    @classmethod
    def from_profile(cls, profile: Any) -> Rights:
        """The rights as stored in a VK connection's profile (`profile["rights"]`); all unknown if absent."""
        raw = profile.get("rights") if isinstance(profile, dict) else None
        if not isinstance(raw, dict):
            return cls()

        def flag(name: str) -> bool | None:
            value = raw.get(name)
            return value if isinstance(value, bool) else None

        def moment(name: str) -> str | None:
            value = raw.get(name)
            return value if isinstance(value, str) else None

        return cls(flag("groups"), flag("market"), flag("photos"), moment("checked_at"), str(raw.get("note") or ""),
                   moment("refused_at"))


_EPOCH = datetime.fromtimestamp(0, UTC)


def _moment(value: str | None) -> datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when it names no zone); None when absent or unreadable."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _verdict(error: VkApiError) -> bool | None:
    return False if error.error_code in RIGHT_CODES else None


def probe_rights(goods: Goods, *, now: datetime | None = None) -> Rights:
    """Probe the token's rights with at most three cheap calls; never raises for a VK answer."""
    communities: list[Community] | VkApiError
    try:
        communities = goods.communities()
    except VkApiError as error:
        communities = error
    return rights_after_groups(goods, communities, now=now)


def rights_after_groups(goods: Goods, communities: list[Community] | VkApiError, *,
                        now: datetime | None = None) -> Rights:
    """The rest of the probe, given what `groups.get` answered (the health check asks it itself)."""
    checked_at = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
    if isinstance(communities, VkApiError):
        error = communities
        groups = _verdict(error)
        note = "нет права на сообщества" if groups is False else f"не удалось проверить: {error.reason}"
        return Rights(groups=groups, checked_at=checked_at, note=note)
    target = _probe_target(communities)
    if target is None:
        return Rights(groups=True, checked_at=checked_at,
                      note="нет сообщества с включёнными товарами, где вы администратор или редактор")
    try:
        goods.albums(target.id, count=1)
    except VkApiError as error:
        market = _verdict(error)
        return Rights(groups=True, market=market, checked_at=checked_at,
                      note="" if market is False else f"не удалось проверить товары: {error.reason}")
    try:
        goods.api.call("market.getProductPhotoUploadServer", {"group_id": target.id})
    except VkApiError as error:
        photos = _verdict(error)
        return Rights(groups=True, market=True, photos=photos, checked_at=checked_at,
                      note="" if photos is False else f"не удалось проверить фотографии: {error.reason}")
    return Rights(groups=True, market=True, photos=True, checked_at=checked_at)


def _probe_target(communities: list[Community]) -> Community | None:
    usable = [c for c in communities if c.goods_enabled and c.can_manage_goods]
    return max(usable, key=lambda c: c.admin_level) if usable else None
