"""The kiosk face's server settings from a tenant's ``[tenants.kiosk_sip2]``.

The settings model itself is tenant configuration (``ils_gateway.tenants.kiosk``); its names
are importable from here too, for the face. ``server_settings`` is the face's own
``host:port``; ``listener_settings`` one of ``[[tenants.kiosk_sip2.listeners]]``. With a
``TerminalDesk``, both read each session's framing from its profile.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import replace

from ils_gateway.sip2.server import SessionFraming, SIP2ServerSettings, SIP2Session
from ils_gateway.tenants.kiosk import KioskLogin, KioskSip2Config, KioskTls
from ils_gateway.tenants.kiosk_profiles import KioskListener

__all__ = [
    "KioskLogin",
    "KioskSip2Config",
    "KioskTls",
    "listener_settings",
    "server_settings",
]

Framing = Callable[[SIP2Session], SessionFraming]
OnError = Callable[[SIP2Session | None, str], None]


def server_settings(
    config: KioskSip2Config,
    *,
    reuse_port: bool = False,
    framing: Framing | None = None,
    on_error: OnError | None = None,
) -> SIP2ServerSettings:
    """The ``SIP2Server`` settings ``config`` describes (``reuse_port``: one of several
    worker processes listens on the same port; ``framing``: each session's codec and timeouts,
    from its terminal profile; ``on_error``: told each fault, for metrics)."""
    return SIP2ServerSettings(
        host=config.host,
        port=config.port,
        codec=config.codec,
        login_required=bool(config.logins),
        ssl=config.tls.context() if config.tls is not None else None,
        idle_timeout=config.idle_timeout,
        frame_deadline=config.frame_deadline,
        max_connections=config.max_connections,
        max_connections_per_address=config.max_connections_per_address,
        max_field_chars=config.max_field_chars,
        reuse_port=reuse_port,
        log_frames=config.log_frames,
        framing=framing,
        on_error=on_error,
    )


def listener_settings(
    config: KioskSip2Config,
    listener: KioskListener,
    *,
    reuse_port: bool = False,
    framing: Framing | None = None,
    on_error: OnError | None = None,
) -> SIP2ServerSettings:
    """The settings of one more listener: the face's, on its own host, port, certificate and
    PROXY protocol."""
    base = server_settings(config, reuse_port=reuse_port, framing=framing, on_error=on_error)
    context: ssl.SSLContext | None = listener.tls.context() if listener.tls is not None else None
    return replace(
        base,
        host=listener.host or config.host,
        port=listener.port,
        ssl=context,
        proxy_protocol=listener.proxy_protocol,
        trusted_proxies=tuple(listener.trusted_proxies),
    )
