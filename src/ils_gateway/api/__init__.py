"""The patron HTTP API (aiohttp): ``app.create_app(settings)`` builds it.

``keys`` declares every AppKey/RequestKey, ``middleware`` the request id → log context →
problem+json → session chain and ``idempotency`` the Idempotency-Key replay inside it,
``auth`` the patron sessions over the shared session store, ``state`` where sessions, keys and
the read cache live (memory or Redis), ``problems`` renders errors (RFC 9457), ``schemas`` the
request and response bodies, ``routes`` the route table the app and ``openapi`` are built from,
and ``handlers/`` the thin handlers (parse, call one service, serialise). Import from
submodules.
"""
