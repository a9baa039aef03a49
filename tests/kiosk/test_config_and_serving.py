"""``[tenants.kiosk_sip2]`` as the tenant file gives it, and the face started with the app (the
demo tenant's, as ``serve`` runs it, moved to a free port)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from aiohttp import web
from pydantic import ValidationError

from ils_gateway.api.app import create_app
from ils_gateway.kiosk.config import server_settings
from ils_gateway.kiosk.face import KIOSK_SERVERS_KEY, kiosk_context
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import PatronStatusFlag, SipDate
from ils_gateway.sip2.messages import PatronStatusRequest
from ils_gateway.tenants.demo import demo_tenant
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.loader import TenantRegistry


def test_the_demo_tenant_enables_its_face_on_6011_with_a_hidden_password() -> None:
    config = demo_tenant(1).kiosk_sip2
    assert config is not None and config.enabled and config.port == 6011
    assert "demo-selfcheck" not in repr(config)
    assert config.login_accepted("sc01", "demo-selfcheck")
    assert not config.login_accepted("sc01", "demo")
    assert not config.login_accepted("gateway", "demo-selfcheck")
    assert server_settings(config).login_required


def test_framing_and_logins_are_checked() -> None:
    config = KioskSip2Config(
        enabled=True, encoding="cp932", terminator="crlf", checksum_basis="chars"
    )
    codec = server_settings(config).codec
    assert (codec.encoding, codec.terminator) == ("cp932", "\r\n")
    assert codec.checksum_basis is ChecksumBasis.CHARACTERS
    assert not server_settings(config).login_required
    assert config.login_accepted("anyone", "")
    with pytest.raises(ValidationError):
        KioskSip2Config(logins=[{"user": "a", "password": "x"}, {"user": "a", "password": "y"}])
    with pytest.raises(ValidationError):
        KioskSip2Config(terminator="cr\n")


async def test_the_app_starts_and_stops_the_face() -> None:
    settings, _acs = await embedded_settings(elibrary=False)
    tenant = next(iter(settings.tenants))
    assert tenant.kiosk_sip2 is not None
    moved = tenant.kiosk_sip2.model_copy(update={"port": 0})
    settings = replace(
        settings, tenants=TenantRegistry([tenant.model_copy(update={"kiosk_sip2": moved})])
    )
    app = create_app(settings)
    app.cleanup_ctx.append(kiosk_context)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        server = app[KIOSK_SERVERS_KEY]["demo"]
        machine = SIP2ClientSettings(
            host="127.0.0.1",
            port=server.port,
            login_user="sc01",
            login_password="demo-selfcheck",
            institution_id="DEMO",
        )
        async with SIP2ClientPool(machine) as pool:
            # 鈴木 一郎's card has expired (sample library).
            answer = await pool.request(
                PatronStatusRequest.build(
                    transaction_date=SipDate.from_datetime(datetime(2025, 6, 2, 10, 0)),
                    institution_id="DEMO",
                    patron_identifier="1000000003",
                    patron_password="ichiro03",
                ),
                idempotent=True,
            )
        assert answer.get("BL") == "Y"
        assert PatronStatusFlag.CHARGE_PRIVILEGES_DENIED in answer.patron_status
        assert answer.screen_messages and answer.screen_messages[0]
    finally:
        await runner.cleanup()
    assert server.connection_count == 0


def test_hostile_client_limits_are_tenant_settings_with_defaults() -> None:
    defaults = server_settings(KioskSip2Config(enabled=True))
    assert defaults.idle_timeout == 1800.0 and defaults.frame_deadline == 30.0
    assert defaults.max_connections == 200 and defaults.max_connections_per_address == 16
    assert defaults.max_field_chars == 255
    config = KioskSip2Config(
        enabled=True,
        idle_timeout=300,
        frame_deadline=5,
        max_connections=20,
        max_connections_per_address=2,
        max_field_chars=64,
    )
    settings = server_settings(config)
    assert (settings.idle_timeout, settings.frame_deadline) == (300, 5)
    assert (settings.max_connections, settings.max_connections_per_address) == (20, 2)
    assert settings.max_field_chars == 64
    for bad in ({"max_connections": 0}, {"frame_deadline": 0}, {"max_field_chars": 0}):
        with pytest.raises(ValidationError):
            KioskSip2Config(enabled=True, **bad)
