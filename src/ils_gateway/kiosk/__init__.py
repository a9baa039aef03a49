"""The gateway's SIP2 face for self-check machines (requirements §7).

- ``kiosk.config``: ``KioskSip2Config`` (a tenant's ``[tenants.kiosk_sip2]``) and
  ``server_settings(config)``, the ``SIP2ServerSettings`` it describes.
- ``kiosk.face``: ``KioskFace(runtime, config)``, the ``SIP2Server`` handler answering a
  self-check machine from the tenant's backend and rules; ``open_kiosk_faces(gateway)`` starts
  one server per tenant that enables it; ``kiosk_context`` is the aiohttp cleanup context.

This package's ``__init__`` imports nothing: the tenant models import ``kiosk.config``.
"""
