"""FOLIO adapter: ``backend.FolioBackend`` over ``client.FolioClient`` (Okapi / Kong gateway).

Import from the submodules: ``config`` (settings), ``auth`` (gateway login and token refresh),
``client`` (HTTP policy), ``errors`` (the one translator), ``mapping`` (FOLIO words and records
to canonical ones) and ``backend`` (the ILSBackend).

Where the facts come from: request and loan bodies, the renew and title-request bodies and the
error bodies follow the JSON schemas of mod-circulation (``shared/reference/folio``); the tests
hold every body against them. Routes of other modules that the reference does not cover are
FOLIO's documented ones: ``/authn/login-with-expiry`` and ``/authn/login`` (mod-login /
mod-users-keycloak), ``/users`` and ``/patron-pin/verify`` (mod-users), ``/service-points`` and
``/inventory/items`` (mod-inventory-storage, mod-inventory).
"""
