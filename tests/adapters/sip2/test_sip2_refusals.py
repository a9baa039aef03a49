"""The AF pattern table: tenant patterns first, then defaults; the ILS text kept verbatim."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.sip2.refusals import RefusalTable, SipAction, backend_message
from ils_gateway.domain.vocab import RefusalReason as R
from ils_gateway.simulators.outcomes import MESSAGES, RefusalToken
from ils_gateway.tenants.backends import RefusalPattern

DEFAULTS = RefusalTable()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # the simulated ILS's Japanese screen messages
        ("この資料は他の方が予約しているため延長できません", R.HAS_HOLDS),
        ("延長回数の上限に達しているため延長できません", R.RENEWAL_LIMIT),
        ("まだ延長できる期間ではありません", R.TOO_EARLY),
        ("返却期限を過ぎているため延長できません", R.OVERDUE),
        ("返却期限を大幅に過ぎているため延長できません", R.TOO_OVERDUE),
        ("相互貸借の資料は延長できません", R.INTERLIBRARY_LOAN),
        ("予約できる上限数を超えています", R.HOLD_LIMIT),
        ("この資料はすでに予約されています", R.DUPLICATE_HOLD),
        ("この資料は現在あなたが借りています", R.ALREADY_ON_LOAN),
        ("返却期限を過ぎた資料があるため予約できません", R.ITEM_OVERDUE_BLOCKS_HOLDS),
        ("利用カードの有効期限が切れているため予約できません", R.CARD_EXPIRED),
        ("指定された受取館では受け取れません", R.INVALID_PICKUP_LIBRARY),
        ("この予約は現在取り消しできません", R.NOT_CANCELLABLE_IN_STATE),
        ("資料の用意が始まっているため変更できません", R.NOT_MODIFIABLE_IN_STATE),
        # Koha tokens, as Koha's SIP server sends them
        ("on_reserve", R.HAS_HOLDS),
        ("too_many", R.RENEWAL_LIMIT),
        ("too_soon", R.TOO_EARLY),
        ("auto_too_late", R.TOO_OVERDUE),
        ("Hold cannot be placed. Reason: tooManyReserves", R.HOLD_LIMIT),
        ("alreadyReserved", R.DUPLICATE_HOLD),
        ("debarred", R.PATRON_BLOCKED),
        # English wording of other ACSs
        ("Item has holds", R.HAS_HOLDS),
        ("Maximum renewals reached", R.RENEWAL_LIMIT),
        ("Item is overdue", R.OVERDUE),
        ("Patron card expired", R.CARD_EXPIRED),
    ],
)
def test_default_patterns(text: str, reason: R) -> None:
    assert DEFAULTS.match([text]) is reason


def test_no_such_hold_is_not_a_hold_on_the_item() -> None:
    assert DEFAULTS.match(["該当する予約がありません"]) is None
    assert DEFAULTS.match(["予約があるため延長できません"]) is R.HAS_HOLDS


def test_koha_token_too_many_is_not_the_hold_limit() -> None:
    # "too_many" (renewals) and "tooManyReserves" (holds) must not be confused.
    assert DEFAULTS.match(["tooManyReserves"]) is R.HOLD_LIMIT
    assert DEFAULTS.match(["too_many"]) is R.RENEWAL_LIMIT


def test_every_simulator_renewal_message_is_recognised() -> None:
    renewal_tokens = [
        RefusalToken.TOO_MANY,
        RefusalToken.ON_RESERVE,
        RefusalToken.TOO_SOON,
        RefusalToken.OVERDUE,
        RefusalToken.TOO_LATE,
        RefusalToken.INTERLIBRARY_LOAN,
        RefusalToken.RESTRICTION,
        RefusalToken.CARD_EXPIRED,
    ]
    for token in renewal_tokens:
        assert DEFAULTS.match([MESSAGES[token]]) is not None, MESSAGES[token]


def test_tenant_patterns_come_before_defaults() -> None:
    table = RefusalTable([RefusalPattern(pattern="予約", reason=R.EXCLUDED_ITEM_TYPE)])
    text = "この資料は他の方が予約しているため延長できません"
    assert table.match([text]) is R.EXCLUDED_ITEM_TYPE
    assert DEFAULTS.match([text]) is R.HAS_HOLDS


def test_defaults_can_be_left_out() -> None:
    table = RefusalTable(defaults=False)
    assert table.match(["on_reserve"]) is None


def test_any_screen_line_may_carry_the_reason() -> None:
    assert DEFAULTS.match(["", "ご迷惑をおかけします", "too_soon"]) is R.TOO_EARLY


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (SipAction.RENEW, R.NOT_RENEWABLE),
        (SipAction.PLACE_HOLD, R.UNKNOWN),
        (SipAction.CANCEL_HOLD, R.NOT_CANCELLABLE_IN_STATE),
        (SipAction.CHANGE_HOLD, R.NOT_MODIFIABLE_IN_STATE),
    ],
)
def test_unrecognised_text_falls_back_per_action(action: SipAction, reason: R) -> None:
    assert DEFAULTS.reason(["システムエラーが発生しました"], action) is reason
    assert DEFAULTS.reason([], action) is reason


def test_backend_message_joins_nonblank_lines() -> None:
    joined = backend_message([" 延長できません ", "", "カウンターへ"])
    assert joined == "延長できません カウンターへ"
    assert backend_message([]) is None
    assert backend_message(["  "]) is None
