"""The gateway's SIP2 face for self-check machines (requirements §7).

- ``kiosk.config``: ``server_settings(config)``, the ``SIP2ServerSettings`` a tenant's
  ``[tenants.kiosk_sip2]`` (``tenants.kiosk.KioskSip2Config``) describes.
- ``kiosk.services``: ``KioskServices``, the tenant's use cases the face calls (never a
  backend), and ``kiosk_services(runtime)``, the one place they come from (a ``TenantRuntime``).
- ``kiosk.terminals``: ``TerminalDesk``, each connected machine's terminal profile (framing,
  timeouts, allowed messages), chosen at connection and at login, reloadable.
- ``kiosk.reload``: ``KioskServers`` (every listener's server and desk) and the reload of
  profiles from the tenant file (SIGHUP, the operator call).
- ``kiosk.face``: ``KioskFace(services, config)``, the ``SIP2Server`` handler answering a
  self-check machine through those services and the tenant's rules;
  ``open_kiosk_faces(gateway)`` starts one server per tenant that enables it over the runtime's
  ``Gateway``; ``kiosk_context`` is the aiohttp cleanup context (it reads the ``Gateway`` from
  ``runtime.keys``).
- ``kiosk.terminal_rules``: ``TerminalRules`` (reply shaping and policy) one connection is
  answered by, ``resolve_rules(config, override)`` (a terminal profile's own over the
  tenant's); ``kiosk.reply_shaping`` words and shapes the answers by them,
  ``kiosk.terminal_policy`` checks a checkout against them (docs/kiosk-reply-policy.md).
"""
