"""The sync configuration's values: what the page saves, the saved view, and what may be picked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connhub.sync.policies import Policies

# Field names, as the page's widgets and InvalidSettings.errors use them.
FIELDS = ("store_id", "vk_group_id", "vk_category_id", "on_removed", "on_not_for_sale", "on_zero_price",
          "price_multiplier", "description_template")


@dataclass(frozen=True)
class SyncSettings:
    """Everything the page saves: source, target and policies."""

    store_id: str = ""
    store_name: str = ""
    vk_group_id: int | None = None
    vk_group_name: str = ""
    vk_group_goods_enabled: bool = False
    vk_category_id: int | None = None
    vk_category_name: str = ""
    policies: Policies = field(default_factory=Policies)


@dataclass(frozen=True)
class SyncConfigView:
    user_id: int
    settings: SyncSettings
    exists: bool = False  # False: nothing saved yet (the defaults are shown)
    enabled: bool = False  # the master toggle
    confirmed_at: datetime | None = None
    confirmed_by: str = ""
    confirmed_snapshot: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def is_on(self) -> bool:
        """On and confirmed: the only state in which a sync may run."""
        return self.enabled and self.confirmed_at is not None


@dataclass(frozen=True)
class Community:
    """A VK community the user may pick: one the VK account administers or edits."""

    id: int
    name: str
    goods_enabled: bool


@dataclass(frozen=True)
class Choices:
    """What the user may pick from, as the page listed it.

    None means the list could not be had (say VK is offline): then only the saved value is
    accepted for that field, so the other fields can still be saved.
    """

    stores: Mapping[str, str] | None = None  # store id → name
    communities: Mapping[int, Community] | None = None
    categories: Mapping[int, str] | None = None  # category id → name as shown


class InvalidSettings(ValueError):
    """Some fields are wrong; `errors` maps each field to what is wrong with it, in Russian."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


class ConfirmationOutdated(Exception):
    """What the confirmation showed is no longer what would be published."""


class CannotEnable(Exception):
    """The sync cannot be switched on yet; the message says why, in Russian."""


