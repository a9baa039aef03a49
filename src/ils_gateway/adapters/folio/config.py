"""Settings for reaching one library's FOLIO: the tenant file's ``kind = "folio"`` backend.

The model is the tenant loader's (``ils_gateway.tenants.backends.FolioBackend``). What its fields
mean to the adapter:

- ``okapi_url``, ``tenant``: the gateway (Okapi or Kong) and the ``X-Okapi-Tenant`` header.
- ``username``, ``password``: a FOLIO staff/system user for the gateway itself, logged in at
  ``login_path``. It needs the permissions of users (read, patron-pin verify), circulation
  (loans read, renew-by-id, renew-by-barcode, requests all, requests allowed-service-points),
  service-points read, inventory items and instances read, holdings-storage read, manual
  blocks read (mod-feesfines), automated patron blocks read (mod-patron-blocks), and loan
  policies read (mod-circulation-storage, for each loan's renewal limit; without it the
  tenant's ``max_renewals`` stands).
- ``login_path``: ``/authn/login-with-expiry`` (FOLIO Poppy and later: the access token comes
  back as the ``folioAccessToken`` cookie with an expiry) or the legacy ``/authn/login``
  (token in the ``x-okapi-token`` header, no expiry: refreshed on 401 only).
- ``verify_patron_pin``: check a patron's password with mod-users' ``/patron-pin/verify``
  (FOLIO's PIN, set by staff). Off: the card number alone identifies the patron, for a
  portal that authenticates patrons elsewhere (e.g. single sign-on) — a deliberate choice.
- ``request_level``: ``Title`` for title-level requests (FOLIO setting "Allow title level
  requests" on): a hold on an item is placed on its title; ``Item``: a hold on an item is
  placed on that copy (an item-level request), and one on a title (``instance:<uuid>``) lets
  FOLIO pick the copy.
- ``cancellation_reason_id``: the FOLIO cancellation reason recorded when a patron cancels.
- ``service_point_id``: the service point self-check machines lend and take back at
  (``check-out-by-barcode`` / ``check-in-by-barcode``, permissions
  ``circulation.check-out-by-barcode.post`` and ``circulation.check-in-by-barcode.post``);
  none: the tenant offers no checkout or check-in.
- ``timeouts``, ``max_connections``, ``max_keepalive_connections``, ``read_attempts``,
  ``retry_backoff``, ``retry_after``: the HTTP pool and retry policy (reads only).
"""

from __future__ import annotations

from ils_gateway.tenants.backends import FolioBackend as FolioBackendConfig

__all__ = ["FolioBackendConfig", "gateway_root"]


def gateway_root(config: FolioBackendConfig) -> str:
    """The Okapi (or Kong) root every path is relative to."""
    return config.okapi_url.rstrip("/")
