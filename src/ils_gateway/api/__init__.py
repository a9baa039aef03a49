"""The patron HTTP API (aiohttp): a face over the runtime; ``app.create_app(settings)``.

``keys`` declares the API's AppKey and RequestKeys (the runtime's are in ``runtime.keys``),
``middleware`` the request id → log context → problem+json → session chain and
``idempotency`` the Idempotency-Key replay inside it, ``auth`` the kiosk-key check,
``problems`` renders errors (RFC 9457), ``schemas/`` the request and response bodies and
``handlers/`` the thin handlers (parse, call one service, serialise), one module per resource;
``routing`` says what a route is and ``routes`` is the table the app and ``openapi`` are built
from (nothing below it imports it: no cycle). Import from submodules.
"""
