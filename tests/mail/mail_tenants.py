"""Tenant configurations for the mail tests (a SIP2 backend that is never contacted)."""

from __future__ import annotations

from ils_gateway.tenants.loader import parse_tenants
from ils_gateway.tenants.models import TenantConfig

BASE = """
[[tenants]]
id = "{id}"
name = "{name}"
name_en = "{name_en}"

[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
institution_id = "X"
login_user = "gateway"
login_password = "secret"
"""


def tenant(
    mail: str = "",
    *,
    tenant_id: str = "akiruno",
    name: str = "あきる野市図書館",
    name_en: str = "Akiruno City Library",
) -> TenantConfig:
    """A tenant with the given ``[tenants.mail]`` body (TOML lines; empty: no mail table)."""
    text = BASE.format(id=tenant_id, name=name, name_en=name_en)
    if mail:
        text += "\n[tenants.mail]\n" + mail
    return parse_tenants(text, "<test>").tenants[0]
