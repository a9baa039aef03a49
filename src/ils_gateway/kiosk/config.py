"""The kiosk face's server settings from a tenant's ``[tenants.kiosk_sip2]``.

The settings model itself is tenant configuration (``ils_gateway.tenants.kiosk``); its names
are importable from here too, for the face.
"""

from __future__ import annotations

from ils_gateway.sip2.server import SIP2ServerSettings
from ils_gateway.tenants.kiosk import KioskLogin, KioskSip2Config, KioskTls

__all__ = ["KioskLogin", "KioskSip2Config", "KioskTls", "server_settings"]


def server_settings(config: KioskSip2Config, *, reuse_port: bool = False) -> SIP2ServerSettings:
    """The ``SIP2Server`` settings ``config`` describes (``reuse_port``: one of several
    worker processes listens on the same port)."""
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
    )
