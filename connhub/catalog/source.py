"""The catalog port moved to `connhub.ports.catalog`; this name stays for the modules that import it."""

from connhub.ports.catalog import CatalogSource, GroupRecord, Page, ProductRecord, RefreshBounds, StoreRecord

__all__ = ["CatalogSource", "GroupRecord", "Page", "ProductRecord", "RefreshBounds", "StoreRecord"]
