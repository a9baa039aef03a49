"""docs/kiosk-reply-policy.md's examples load: each TOML block is a valid part of a tenant."""

from __future__ import annotations

import re
from pathlib import Path

from ils_gateway.domain.vocab import MaterialType
from ils_gateway.tenants.loader import parse_tenants

DOC = Path(__file__).resolve().parents[2] / "docs" / "kiosk-reply-policy.md"
_TENANT = """
[[tenants]]
id = "lib"
name = "Lib"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
institution_id = "X"
login_user = "u"
login_password = "p"
sighting_login = { user = "seer", password = "s" }
[tenants.kiosk_sip2]
enabled = true
"""


def test_doc_examples_load() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        tenant = parse_tenants(_TENANT + block, "<doc>").tenants[0]
        assert tenant.kiosk_sip2 is not None
    rules = tenant.kiosk_sip2.reply.checkin.sort_rules
    assert [r.sort_bin for r in rules] == ["1", "2", "3"]
    assert rules[2].material_types == {MaterialType.DVD, MaterialType.CD}


def _settings(section: str) -> list[str]:
    """The ``key = value`` examples opening the table rows of one section of the doc."""
    text = DOC.read_text(encoding="utf-8")
    body = text.split(section, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+ = [^`]+)`", body, re.M)
    return [row for row in rows if not row.startswith("[")]


def test_doc_table_settings_load() -> None:
    """Every setting the tables show as ``key = value`` is accepted where the doc puts it."""
    sections = {
        "## Reply shaping": "[tenants.kiosk_sip2.reply]",
        "### Check-in answers": "[tenants.kiosk_sip2.reply.checkin]",
        "## Policy": "[tenants.kiosk_sip2.policy]",
    }
    count = 0
    for heading, table in sections.items():
        for setting in _settings(heading):
            parse_tenants(f"{_TENANT}{table}\n{setting}\n", "<doc>")
            count += 1
    assert count >= 20
