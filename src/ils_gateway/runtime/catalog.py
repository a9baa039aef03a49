"""A tenant's catalogue source, from its ``[tenants.catalog]`` and its backend (issue 19).

``sru``: the SRU client, its copies read through the backend when it reads copies by barcode
(SIP2 17/18); ``backend``: the Koha or FOLIO adapter's own search (``catalog()``); ``none``
(a SIP2 tenant without SRU): no source, the API answers that search is unavailable. The
source is built on the adapter itself, not its resilience wrapper: search answers have their
own cache (``services.catalog``) and the request deadline bounds every call.
"""

from __future__ import annotations

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.adapters.catalog.port import CatalogSource, CopyReader
from ils_gateway.tenants.models import TenantConfig


def build_catalog(tenant: TenantConfig, backend: ILSBackend) -> CatalogSource | None:
    """The catalogue source of ``tenant`` over its (unwrapped) ``backend``; None without one."""
    settings = tenant.catalog
    source = settings.resolved_source(tenant.backend.kind)
    if source == "none":
        return None
    if source == "sru":
        from ils_gateway.adapters.catalog.sru import SruCatalog

        assert settings.sru is not None  # CatalogConfig requires it for "sru"
        reader = backend if isinstance(backend, CopyReader) else None
        return SruCatalog(settings.sru, reader)
    factory = getattr(backend, "catalog", None)
    if not callable(factory):
        return None
    built = factory()
    return built if isinstance(built, CatalogSource) else None
