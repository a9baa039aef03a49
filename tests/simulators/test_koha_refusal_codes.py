"""The Koha simulator speaks Koha's refusal codes, never the simulated library's own tokens."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.koha.errors import REFUSAL_CODES, KohaCall, refusal_reason
from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.simulators.koha import koha_code
from ils_gateway.simulators.outcomes import RefusalToken

# Tokens the simulated library invented for rules Koha has no code for.
MODEL_ONLY = {
    RefusalToken.INTERLIBRARY_LOAN,
    RefusalToken.ITEM_OVERDUE,
    RefusalToken.BOOKMOBILE_PHONE_ONLY,
    RefusalToken.HOLD_FOUND,
    RefusalToken.NOT_MODIFIABLE,
    RefusalToken.NOT_CANCELLABLE,
}


@pytest.mark.parametrize("token", list(RefusalToken))
def test_every_code_the_face_sends_is_one_the_adapter_knows(token: RefusalToken) -> None:
    code = koha_code(token)
    assert code is None or code in REFUSAL_CODES


@pytest.mark.parametrize("token", sorted(MODEL_ONLY))
def test_model_tokens_stay_inside_the_model(token: RefusalToken) -> None:
    assert token.value not in REFUSAL_CODES
    assert koha_code(token) != token.value


@pytest.mark.parametrize(
    ("token", "call", "reason"),
    [
        (RefusalToken.INTERLIBRARY_LOAN, KohaCall.RENEW, RefusalReason.EXCLUDED_ITEM_TYPE),
        (RefusalToken.ITEM_OVERDUE, KohaCall.PLACE_HOLD, RefusalReason.PATRON_BLOCKED),
        (RefusalToken.TOO_SOON, KohaCall.RENEW, RefusalReason.TOO_EARLY),
        (RefusalToken.TOO_MANY_RESERVES, KohaCall.PLACE_HOLD, RefusalReason.HOLD_LIMIT),
        (RefusalToken.HOLD_FOUND, KohaCall.SUSPEND_HOLD, RefusalReason.NOT_MODIFIABLE_IN_STATE),
        (RefusalToken.HOLD_FOUND, KohaCall.CHANGE_PICKUP, RefusalReason.NOT_MODIFIABLE_IN_STATE),
        (
            RefusalToken.NOT_CANCELLABLE,
            KohaCall.CANCEL_HOLD,
            RefusalReason.NOT_CANCELLABLE_IN_STATE,
        ),
    ],
)
def test_the_adapter_reads_what_the_face_sends(
    token: RefusalToken, call: KohaCall, reason: RefusalReason
) -> None:
    assert refusal_reason(koha_code(token), call) is reason
