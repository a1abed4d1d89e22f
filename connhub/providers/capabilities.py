"""What a provider may offer beyond connecting and checking: its declared capabilities.

Each capability is a runtime-checkable Protocol (the way Datasette declares its plugin hooks): a
provider class offers it by having the method, with the signature given here, and mypy checks it
wherever a provider is used as one. The registry answers "who offers X"
(`Registry.providers_offering(CATALOG)`, a list of `CatalogProvider`s); nothing looks a capability up by name.
The provider contract test (tests/providers/test_contract.py) runs for every capability a
provider offers, and docs/adding-a-provider.md lists them all (`CAPABILITIES`).

Every method takes the connection's access token, opened only at the moment of use, and returns
an object for that one account; none of them makes a request by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

from connhub.crypto import Secret
from connhub.ports.catalog import CatalogSource
from connhub.ports.goods import GoodsTarget
from connhub.ports.images import ProductImages

T = TypeVar("T")


@runtime_checkable
class CatalogProvider(Protocol):
    """The provider keeps a catalog of stores, groups and products that connhub copies locally
    («Каталог», `connhub.catalog.refresh`). The sync's source is the first provider offering it."""

    def catalog_source(self, access_token: Secret) -> CatalogSource:
        """The account's catalog, one page per request (`connhub.ports.catalog`)."""
        ...


@runtime_checkable
class ProductImagesProvider(Protocol):
    """The provider's catalog has product images the sync may publish with the products."""

    def product_images(self, access_token: Secret) -> ProductImages:
        """The account's image API: list one product's image, download a file (`connhub.ports.images`)."""
        ...


@runtime_checkable
class GoodsProvider(Protocol):
    """The provider holds goods the sync can publish to (communities, categories, items, photos).
    The sync's target is the first provider offering it."""

    def rights_setting(self) -> str:
        """The setting that lists the rights (OAuth scopes) asked for at sign-in, named in the fix a
        user reads when the token lacks a right; "" when no setting chooses them."""
        ...

    def goods_target(self, access_token: Secret, *,
                     on_rights_refused: Callable[[], None] | None = None) -> GoodsTarget:
        """The account's goods (`connhub.ports.goods.GoodsTarget`). `on_rights_refused` is called
        (and must not raise) when the provider refuses a goods call for a missing right."""
        ...

    def rights_refused(self, profile: dict[str, Any], when: datetime) -> dict[str, Any]:
        """The connection's stored profile once a goods call was refused for a right at `when`, such
        that the next health check probes the rights again."""
        ...


class Capability(Generic[T]):
    """A capability as the registry is asked about it: `Registry.providers_offering(CATALOG)` is a
    list of `CatalogProvider`s, type-checked (a Protocol class itself cannot be a `type[T]`)."""

    def __init__(self, protocol: type) -> None:
        self.protocol = protocol
        self.name = protocol.__name__
        self.doc = " ".join((protocol.__doc__ or "").split())
        self._by_class: dict[type, bool] = {}

    def offered_by(self, provider: object) -> bool:
        """True when a provider (instance or class) offers it. The capabilities are methods, so the
        answer is the class's, kept once found: a runtime Protocol check walks every member each time,
        and the checker asks on every check."""
        cls = provider if isinstance(provider, type) else type(provider)
        offered = self._by_class.get(cls)
        if offered is None:
            offered = self._by_class[cls] = issubclass(cls, self.protocol)
        return offered

    def of(self, provider: object) -> T | None:
        """The provider as this capability, or None when it does not offer it."""
        return cast(T, provider) if self.offered_by(provider) else None

    def __repr__(self) -> str:
        return f"Capability({self.name})"


CATALOG = Capability[CatalogProvider](CatalogProvider)
PRODUCT_IMAGES = Capability[ProductImagesProvider](ProductImagesProvider)
GOODS = Capability[GoodsProvider](GoodsProvider)
CAPABILITIES: tuple[Capability[Any], ...] = (CATALOG, PRODUCT_IMAGES, GOODS)


def offered_by(provider: object) -> tuple[Capability[Any], ...]:
    """The capabilities a provider (class or instance) offers, in `CAPABILITIES` order."""
    return tuple(capability for capability in CAPABILITIES if capability.offered_by(provider))
