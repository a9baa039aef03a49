"""A terminal's policy on the SIP2 face, over real TCP to the SIP2 simulator: kinds of
material and patron categories a machine may not lend, overdue and lost thresholds, in-house
use, a title borrowed already, payments (Koha's per-account options: blocked_item_types,
overdues_block_checkout, lost_block_checkout, inhouse_item_types, inhouse_patron_categories,
prevcheckout_block_checkout)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from kiosk_support import (
    CARD,
    FREE,
    OTHER_CARD,
    OTHER_PASSWORD,
    Clock,
    running,
)
from terminal_support import CAT_2, DVD, checkout, fee_paid, terminal_data

from ils_gateway.sip2.fields import SupportedMessages
from ils_gateway.sip2.messages import CheckoutResponse, FeePaidResponse, SCStatus
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping

# The simulator's ACS sends its item type in CR, as Koha's does: typed by the tenant's table.
_TYPES = """
[tenants.material_types]
sip2_type_field = "CR"
sip2_type_values = { DVD = "dvd", PB = "picture_book", BK = "book" }
"""


def _policy(body: str) -> str:
    return f"{_TYPES}\n[tenants.kiosk_sip2.policy]\n{body}\n"


async def _checkout(setup, item: str, card: str = CARD, password: str | None = None):
    from kiosk_support import PASSWORD

    msg = checkout(item, card, password or PASSWORD)
    answer = await setup.machine.request(msg, idempotent=False)
    assert isinstance(answer, CheckoutResponse)
    return answer


def _on_loan(setup, barcode: str) -> bool:
    return setup.sim.item_info(barcode).status == "checked_out"


async def test_blocked_material_types_and_the_librarys_words() -> None:
    """blocked_item_types: a DVD is refused before the ILS is asked; a picture book lends."""
    body = """
blocked_material_types = ["dvd"]
messages = { blocked_material_type = "DVDはカウンターで貸出します" }
"""
    async with running("sip2", Clock(), data=terminal_data(), extra=_policy(body)) as setup:
        refused = await _checkout(setup, DVD)
        assert not refused.ok and refused.screen_messages == ["DVDはカウンターで貸出します"]
        assert not _on_loan(setup, DVD)
        lent = await _checkout(setup, FREE)
        assert lent.ok and _on_loan(setup, FREE)


async def test_blocked_material_type_default_words() -> None:
    body = 'blocked_material_types = ["dvd"]'
    async with running("sip2", Clock(), data=terminal_data(), extra=_policy(body)) as setup:
        refused = await _checkout(setup, DVD)
        assert refused.screen_messages == [
            "この資料はこの機械では貸出できません。カウンターへお持ちください"
        ]


async def test_blocked_patron_categories() -> None:
    """A category the machine may not lend to (the ILS's PC word) is refused."""
    body = 'blocked_patron_categories = ["adult"]'
    async with running("sip2", Clock(), extra=_policy(body)) as setup:
        refused = await _checkout(setup, FREE)
        assert not refused.ok
        assert refused.screen_messages == [
            "この機械ではお貸しできません。カウンターへお越しください"
        ]
        assert not _on_loan(setup, FREE)
    body = 'blocked_patron_categories = ["child"]'
    async with running("sip2", Clock(), extra=_policy(body)) as setup:
        assert (await _checkout(setup, FREE)).ok


async def test_overdue_threshold_blocks_checkout() -> None:
    """overdues_block_checkout: one overdue loan (due 5 January, today the 10th) and the
    patron may not borrow here; a patron with none may."""
    body = "overdue_block_at = 1"
    data = terminal_data(overdue=True)
    async with running("sip2", Clock(), data=data, extra=_policy(body)) as setup:
        refused = await _checkout(setup, FREE)
        assert not refused.ok
        assert refused.screen_messages == ["延滞中の資料があるため貸出できません"]
        assert not _on_loan(setup, FREE)
        other = await _checkout(setup, FREE, OTHER_CARD, OTHER_PASSWORD)
        assert other.ok
    body = "overdue_block_at = 2"
    data = terminal_data(overdue=True)  # a fresh library: the run above lent FREE
    async with running("sip2", Clock(), data=data, extra=_policy(body)) as setup:
        assert (await _checkout(setup, FREE)).ok


async def test_lost_threshold_blocks_checkout() -> None:
    """lost_block_checkout: a loan of a copy the library calls lost counts."""
    body = "lost_block_at = 1"
    data = terminal_data(lost=True)
    async with running("sip2", Clock(), data=data, extra=_policy(body)) as setup:
        refused = await _checkout(setup, FREE)
        assert not refused.ok
        assert refused.screen_messages[0].startswith("紛失中の資料があるため")
    data = terminal_data(lost=True)
    async with running("sip2", Clock(), data=data, extra=_policy("lost_block_at = 2")) as setup:
        assert (await _checkout(setup, FREE)).ok


async def test_inhouse_material_types() -> None:
    """inhouse_item_types: ok, desensitize N, no due date, no loan made; the screen message
    says so; other kinds lend as usual."""
    body = 'inhouse_material_types = ["dvd"]'
    async with running("sip2", Clock(), data=terminal_data(), extra=_policy(body)) as setup:
        with structlog.testing.capture_logs() as logs:
            answer = await _checkout(setup, DVD)
        record = [e for e in logs if e["event"] == "kiosk.inhouse_use"]
        assert record == [
            {
                "event": "kiosk.inhouse_use",
                "log_level": "info",
                "tenant": "testlib",
                "material_type": "dvd",
                "category": "adult",
            }
        ]
        assert answer.ok and answer.desensitize is False
        assert answer.get("AH") == "" and answer.title_identifier == "となりのトトロ"
        assert answer.screen_messages == ["館内でご利用ください"]
        assert not _on_loan(setup, DVD)
        lent = await _checkout(setup, FREE)
        assert lent.ok and lent.desensitize is True and _on_loan(setup, FREE)


async def test_inhouse_patron_categories_with_templates() -> None:
    """inhouse_patron_categories: every checkout of the category is in-house use; the
    library's AF/AG lines for it name the title."""
    extra = _policy('inhouse_patron_categories = ["adult"]') + (
        "\n[tenants.kiosk_sip2.reply]\n"
        'print_lines = { inhouse_use = ["館内利用: {title} ({name})"] }\n'
    )
    async with running("sip2", Clock(), extra=extra) as setup:
        answer = await _checkout(setup, FREE)
        assert answer.ok and answer.desensitize is False
        assert answer.print_lines == ["館内利用: ぐりとぐら (山田 花子)"]
        assert not _on_loan(setup, FREE)


async def test_block_a_title_borrowed_already() -> None:
    """prevcheckout_block_checkout over the current loans: the other patron has 吾輩は猫である
    (another copy) on loan, so its second copy is refused to them and lent to someone else."""
    body = "block_borrowed_before = true"
    async with running("sip2", Clock(), data=terminal_data(), extra=_policy(body)) as setup:
        refused = await _checkout(setup, CAT_2, OTHER_CARD, OTHER_PASSWORD)
        assert not refused.ok and refused.screen_messages == ["同じ資料をすでに借りています"]
        assert not _on_loan(setup, CAT_2)
        assert (await _checkout(setup, FREE, OTHER_CARD, OTHER_PASSWORD)).ok
        assert (await _checkout(setup, CAT_2)).ok
    async with running("sip2", Clock(), data=terminal_data()) as setup:
        assert (await _checkout(setup, CAT_2, OTHER_CARD, OTHER_PASSWORD)).ok


async def test_payment_is_refused_in_the_librarys_words() -> None:
    """37: no backend takes payments through the gateway — 38 with payment accepted N, BK
    echoed, the library's words; BX says fee paid N."""
    body = 'messages = { payment_not_taken = "お支払いはカウンターでお願いします" }'
    async with running("sip2", Clock(), extra=_policy(body)) as setup:
        answer = await setup.machine.request(fee_paid(), idempotent=False)
        assert isinstance(answer, FeePaidResponse)
        assert answer.payment_accepted is False
        assert answer.transaction_id == "T1"
        assert answer.screen_messages == ["お支払いはカウンターでお願いします"]
        status = await setup.machine.request(SCStatus.build(), idempotent=True)
        assert not SupportedMessages.from_bx(status.supported_messages).fee_paid


@dataclass(frozen=True)
class _Profile:
    reply: ReplyShaping | None = None
    policy: TerminalPolicy | None = None


def test_a_profiles_rules_replace_the_tenants_whole() -> None:
    """resolve_rules: a profile's reply or policy replaces the tenant's (never merged); what
    the profile leaves out stays the tenant's."""
    from ils_gateway.kiosk.terminal_rules import resolve_rules

    tenant = KioskSip2Config(
        reply=ReplyShaping(hide_fields=frozenset({"BE"})),
        policy=TerminalPolicy(overdue_block_at=1),
    )
    assert resolve_rules(tenant).reply.hide_fields == {"BE"}
    mine = ReplyShaping(patron_name_template="{name}")
    rules = resolve_rules(tenant, _Profile(reply=mine))
    assert rules.reply is mine and rules.reply.hide_fields == frozenset()
    assert rules.policy.overdue_block_at == 1
    rules = resolve_rules(tenant, _Profile(policy=TerminalPolicy()))
    assert rules.reply.hide_fields == {"BE"} and rules.policy.overdue_block_at is None


def _asked_of_the_acs(setup, logs: list[dict]) -> list[str]:
    """The request codes the gateway sent its library system: its SIP2 client's frames out
    (the machine's frames go to the face's port)."""
    face = f":{setup.port}"
    return [
        e["code"]
        for e in logs
        if e["event"] == "sip2.frame"
        and e.get("direction") == "out"
        and "acs" in e
        and not e["acs"].endswith(face)
    ]


async def test_no_rules_no_extra_requests() -> None:
    """Without policy rules a checkout asks the library system for the patron and the loan
    only; a rule on the copy's kind reads the copy (17) first, a threshold the loans."""
    async with running("sip2", Clock(), data=terminal_data()) as setup:
        with structlog.testing.capture_logs() as logs:
            assert (await _checkout(setup, FREE)).ok
        assert _asked_of_the_acs(setup, logs) == ["63", "11"]
    body = 'blocked_material_types = ["dvd"]'
    async with running("sip2", Clock(), data=terminal_data(), extra=_policy(body)) as setup:
        with structlog.testing.capture_logs() as logs:
            assert (await _checkout(setup, FREE)).ok
        assert _asked_of_the_acs(setup, logs) == ["63", "17", "11"]
