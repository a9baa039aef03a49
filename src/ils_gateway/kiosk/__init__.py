"""The gateway's SIP2 face for self-check machines (requirements §7).

- ``kiosk.config``: ``KioskSip2Config`` (a tenant's ``[tenants.kiosk_sip2]``) and
  ``server_settings(config)``, the ``SIP2ServerSettings`` it describes.
- ``kiosk.services``: ``KioskServices``, the tenant's use cases the face calls (never a
  backend), and ``kiosk_services(runtime)``, the one place they come from.
- ``kiosk.face``: ``KioskFace(services, config)``, the ``SIP2Server`` handler answering a
  self-check machine through those services and the tenant's rules;
  ``open_kiosk_faces(gateway)`` starts one server per tenant that enables it;
  ``kiosk_context`` is the aiohttp cleanup context.

This package's ``__init__`` imports nothing: the tenant models import ``kiosk.config``.
"""
