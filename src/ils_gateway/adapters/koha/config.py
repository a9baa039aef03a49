"""Settings for reaching one library's Koha: the tenant file's ``kind = "koha"`` backend.

The model itself is the tenant loader's (``ils_gateway.tenants.backends.KohaBackend``), so a
tenant file is read once and handed to the adapter as is. What its fields mean to the adapter:

- ``auth = "oauth2"``: client-credentials grant on ``/api/v1/oauth/token`` (Koha preference
  RESTOAuth2ClientCredentials); ``"basic"``: a staff user's name and password on every call
  (RESTBasicAuth). The API user needs Koha permissions ``borrowers``, ``circulate``,
  ``reserveforothers`` and ``catalogue``.
- ``timeouts``, ``max_connections``, ``max_keepalive_connections``: the httpx pool.
- ``read_attempts``, ``retry_backoff``: tries of an idempotent call (writes are sent once).
- ``retry_after``: seconds suggested to clients when Koha is unavailable.
- ``hold_level``: holds on the title (any copy) or on the one copy asked for.
- ``cancellation_request_flow``: for Koha newer than the 23.05 definition: cancelling a hold
  already on the shelf files a cancellation request for staff (202) instead.
- ``item_types``: Koha itemtype codes -> MaterialType, over ``DEFAULT_ITEM_TYPES``.
"""

from __future__ import annotations

from ils_gateway.domain.vocab import MaterialType
from ils_gateway.tenants.backends import KohaBackend as KohaBackendConfig

__all__ = ["DEFAULT_ITEM_TYPES", "KohaBackendConfig", "api_root", "item_types"]

# Koha's sample item types (installer/data/mysql/en/optional/sample_itemtypes.yml) and codes
# Japanese Koha sites commonly add.
DEFAULT_ITEM_TYPES: dict[str, MaterialType] = {
    "BK": MaterialType.BOOK,
    "CF": MaterialType.CD_ROM,
    "CR": MaterialType.MAGAZINE,
    "MP": MaterialType.MAP,
    "MU": MaterialType.CD,
    "MX": MaterialType.OTHER,
    "REF": MaterialType.BOOK,
    "VM": MaterialType.DVD,
    "CD": MaterialType.CD,
    "DVD": MaterialType.DVD,
    "VIDEO": MaterialType.VIDEO,
    "EHON": MaterialType.PICTURE_BOOK,
    "KAMI": MaterialType.KAMISHIBAI,
    "ZASSHI": MaterialType.MAGAZINE,
    # the simulated ILS's codes (ils_gateway.simulators.policy.ItemType)
    "PB": MaterialType.PICTURE_BOOK,
    "MG": MaterialType.MAGAZINE,
    "KM": MaterialType.KAMISHIBAI,
    "CT": MaterialType.CASSETTE,
    "ART": MaterialType.ART_REPRODUCTION,
}


def api_root(config: KohaBackendConfig) -> str:
    """The v1 API root every path is relative to."""
    return config.base_url.rstrip("/") + "/api/v1"


def item_types(config: KohaBackendConfig) -> dict[str, MaterialType]:
    """The tenant's item type table over the defaults."""
    return {**DEFAULT_ITEM_TYPES, **config.item_types}
