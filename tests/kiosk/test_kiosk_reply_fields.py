"""Reply shaping on the SIP2 face, over real TCP to the SIP2 simulator behind the gateway:
fields hidden or allowed, the patron name, screen messages and print lines in the library's
words, custom patron and item fields, the due date's format, screen-message rewrites, the home
library, control characters (Koha's per-account options, docs/kiosk-reply-policy.md)."""

from __future__ import annotations

import pytest
from kiosk_support import CARD, FREE, LENT, OTHER_CARD, OTHER_PASSWORD, Clock, running
from terminal_support import (
    checkout,
    item_information,
    patron_information,
    patron_status,
    renew,
    tenant_toml,
)

from ils_gateway.sip2.messages import (
    CheckoutResponse,
    ItemInformationResponse,
    PatronInformationResponse,
    PatronStatusResponse,
    RenewResponse,
)
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants


async def _ask(setup, msg, *, idempotent: bool = True):
    return await setup.machine.request(msg, idempotent=idempotent)


async def test_default_reply_is_the_faces_own() -> None:
    """No reply section: 24 names the patron as the ILS does, no extra fields or lines."""
    async with running("sip2", Clock()) as setup:
        answer = await _ask(setup, patron_status())
        assert isinstance(answer, PatronStatusResponse)
        assert answer.personal_name == "山田 花子"
        assert answer.screen_messages == []
        assert answer.unknown_fields == []


async def test_hidden_fields_are_never_sent() -> None:
    """hide_fields (Koha hide_fields="BD,BE,BF,PB"): gone from every answer, required or not."""
    reply = 'hide_fields = ["AE", "BH", "AQ"]'
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_information())
        assert isinstance(answer, PatronInformationResponse)
        assert answer.get("AE") is None and answer.valid_patron is True
        info = await _ask(setup, item_information(FREE))
        assert isinstance(info, ItemInformationResponse)
        assert info.get("AQ") is None and info.title_identifier == "ぐりとぐら"


async def test_allowed_fields_keep_only_those_and_the_required() -> None:
    """allow_fields (Koha allow_fields): only the listed fields, besides each answer's
    required ones (AO, AA, AE for a 24)."""
    reply = 'allow_fields = ["BL"]'
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_status())
        ids = [fid for fid, _ in answer.fields]
        assert ids == ["AO", "AA", "AE", "BL"]  # CQ (allowed by nobody) is dropped


async def test_patron_name_template_and_patron_lines() -> None:
    """AE from a template (Koha ae_field_template); AF and AG lines for a patron answer."""
    reply = """
patron_name_template = "{name}様"
screen_messages = { patron = ["ようこそ、{name}様", "貸出中 {loans} 冊"] }
print_lines = { patron = ["利用者区分: {category}"] }
"""
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_information())
        assert answer.personal_name == "山田 花子様"
        assert answer.screen_messages == ["ようこそ、山田 花子様", "貸出中 0 冊"]
        assert answer.print_lines == ["利用者区分: adult"]
        status = await _ask(setup, patron_status())
        assert status.personal_name == "山田 花子様"
        assert status.screen_messages[0] == "ようこそ、山田 花子様"


async def test_home_library_in_screen_message() -> None:
    """send_patron_home_library_in_af: the home library's name (the tenant's pickup library
    list) as an AF line of 24/64 — over Koha, whose patron record names it; a SIP2 64 has
    no home library, so no line there."""
    reply = "home_library_in_screen_message = true"
    async with running("koha", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_information())
        assert answer.screen_messages == ["中央図書館"]
    reply = 'home_library_in_screen_message = true\nhome_library_template = "館: {home_library}"'
    async with running("koha", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_status())
        assert answer.screen_messages == ["館: CEN"]
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_status())
        assert answer.screen_messages == []


async def test_custom_patron_and_item_fields() -> None:
    """custom_patron_field (DE: the card's expiry) on 24/64; custom_item_field / item_field /
    cr_item_field on 18 and 12."""
    reply = """
custom_patron_fields = [{ field = "DE", template = "{card_expires}" }, { field = "XY", template = "{category}/{home_library}" }]
custom_item_fields = [{ field = "CR", template = "{location}" }, { field = "ZY", template = "{title}:{material_type}" }]
"""  # noqa: E501
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        answer = await _ask(setup, patron_information())
        assert answer.get("DE") == "2028-03-31"
        assert answer.get("XY") == "adult/"  # a SIP2 64 names no home library
        status = await _ask(setup, patron_status())
        assert status.get("DE") == "2028-03-31"
        info = await _ask(setup, item_information(FREE))
        assert info.get("CR") == "CEN"
        assert info.get("ZY") == "ぐりとぐら:book"
        out = await _ask(setup, checkout(FREE), idempotent=False)
        assert isinstance(out, CheckoutResponse) and out.ok
        # A 12 names no location: CR is sent empty, the title-based field filled.
        assert out.get("CR") == "" and out.get("ZY") == "ぐりとぐら:book"
        # Custom fields go before AF/AG, as Koha writes them.
        ids = [fid for fid, _ in out.fields]
        assert ids.index("ZY") < len(ids) and "AF" not in ids[: ids.index("ZY")]


async def test_due_date_format_and_loan_lines() -> None:
    """format_due_date: AH in the library's format on 12 and 30; the templates of a checkout
    and a renewal name the title and that due date."""
    reply = """
due_date_format = "%Y-%m-%d"
[tenants.kiosk_sip2.reply.screen_messages]
checkout = ["{title} の返却期限は {due_date} です"]
renew = ["延長: {due_date}"]
[tenants.kiosk_sip2.reply.print_lines]
checkout = ["{barcode} {title}", "返却期限 {due_date}"]
"""
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        out = await _ask(setup, checkout(FREE), idempotent=False)
        assert out.ok
        assert out.get("AH") == "2026-01-24"
        assert out.screen_messages == ["ぐりとぐら の返却期限は 2026-01-24 です"]
        assert out.print_lines == [f"{FREE} ぐりとぐら", "返却期限 2026-01-24"]
        again = await _ask(setup, renew(LENT, OTHER_CARD, OTHER_PASSWORD), idempotent=False)
        assert isinstance(again, RenewResponse) and again.ok
        due = again.get("AH")
        assert due is not None and len(due) == 10 and due[4] == "-"
        assert again.screen_messages == [f"延長: {due}"]


async def test_without_a_format_the_due_date_is_sip2() -> None:
    async with running("sip2", Clock()) as setup:
        out = await _ask(setup, checkout(FREE), idempotent=False)
        assert out.get("AH") == "20260124    235959"


async def test_screen_message_rewrites() -> None:
    """screen_msg_regex: every AF rewritten in order, groups allowed; refusals too."""
    reply = """
screen_message_rewrites = [
  { find = "カード番号またはパスワードが正しくありません", replace = "カードを確認してください" },
  { find = "^(.+)様$", replace = "\\\\1 さん" },
]
patron_name_template = "{name}"
screen_messages = { patron = ["{name}様"] }
"""
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        wrong = await _ask(setup, patron_status(password="wrong"))
        assert wrong.screen_messages == ["カードを確認してください"]
        right = await _ask(setup, patron_status())
        assert right.screen_messages == ["山田 花子 さん"]


async def test_control_characters_replaced() -> None:
    """convert_nonprinting_characters: a control character in a field (a title, here put
    there by the library's own template) becomes the library's replacement."""
    reply = """
convert_nonprinting = " "
print_lines = { item_information = ["{title}\\u0007end"] }
"""
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        info = await _ask(setup, item_information(FREE))
        assert info.print_lines == ["ぐりとぐら end"]
    reply = 'print_lines = { item_information = ["{title}\\u0007end"] }'
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        info = await _ask(setup, item_information(FREE))
        assert info.print_lines == ["ぐりとぐら\x07end"]


def _tenant(reply: str) -> str:
    return f"""
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
[tenants.kiosk_sip2.reply]
{reply}
"""


@pytest.mark.parametrize(
    ("reply", "named"),
    [
        ('patron_name_template = "{name.__class__}"', "not a plain field name"),
        ('patron_name_template = "{card_number}"', "unknown field {card_number}"),
        ('patron_name_template = "{name!r}"', "no conversions"),
        ('patron_name_template = "{name:{loans}}"', "format spec"),
        ('patron_name_template = "{name:>99999}"', "format spec"),
        ('patron_name_template = "{0}"', "not a plain field name"),
        ('patron_name_template = "{name"', "patron_name_template"),
        ('screen_messages = { checkin = ["{due_date}"] }', "unknown field {due_date}"),
        ('screen_messages = { lunch = ["x"] }', "screen_messages"),
        ('custom_patron_fields = [{ field = "AA", template = "x" }]', "written by the face"),
        ('custom_item_fields = [{ field = "zz", template = "x" }]', "field"),
        ('custom_item_fields = [{ field = "ZZ", template = "{name}" }]', "unknown field {name}"),
        ('hide_fields = ["ABC"]', "hide_fields"),
        ('screen_message_rewrites = [{ find = "(", replace = "" }]', "screen-message rewrite"),
        ('screen_message_rewrites = [{ find = "a", replace = "\\\\1" }]', "invalid group"),
        ('due_date_format = "YYYY"', "due_date_format"),
    ],
)
def test_bad_reply_settings_are_refused_naming_them(reply: str, named: str) -> None:
    """A template that reaches past its names, or a bad field id, regex or format, is refused
    when the tenant file is read (``config check``), naming the setting."""
    with pytest.raises(TenantConfigError) as refused:
        parse_tenants(_tenant(reply), "<test>")
    assert named in str(refused.value)
    assert "kiosk_sip2" in str(refused.value)


def test_card_number_is_not_offered_to_templates() -> None:
    """The whitelist itself: no card number, password or birth date for a template."""
    from ils_gateway.tenants.terminal_reply import LOAN_NAMES

    assert not {"card", "card_number", "password", "birth_date"} & LOAN_NAMES
    assert CARD  # the card a machine sends is not echoed in the library's words


async def test_item_fields_over_koha() -> None:
    """The same item fields over Koha's REST API, which names the call number too."""
    reply = """
custom_item_fields = [{ field = "ZY", template = "{call_number}|{location}" }]
screen_messages = { item_information = ["{title} ({status})"] }
"""
    async with running("koha", Clock(), extra=tenant_toml(reply)) as setup:
        info = await _ask(setup, item_information(FREE))
        assert isinstance(info, ItemInformationResponse)
        # A rendered value loses the SIP2 delimiter.
        assert info.get("ZY") == "E/ナCEN"
        assert info.screen_messages == ["ぐりとぐら (available)"]
