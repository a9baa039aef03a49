"""Issue 16, FOLIO mapping: lending service point, loan-policy renewal limits, who cancelled."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ils_gateway.adapters.folio import mapping
from ils_gateway.domain.models import HoldEndedBy
from ils_gateway.domain.vocab import HoldStatus

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2025, 6, 2)
USER = "11111111-1111-4111-8111-111111111111"
STAFF = "22222222-2222-4222-8222-222222222222"
POINT = "33333333-3333-4333-8333-333333333333"


def _loan(**extra: object) -> mapping.FolioLoan:
    body = {
        "id": "l1",
        "itemId": "i1",
        "loanDate": "2025-05-20T01:00:00.000+00:00",
        "dueDate": "2025-06-10T14:59:59.000+00:00",
        "renewalCount": 1,
        **extra,
    }
    return mapping.FolioLoan.model_validate(body)


def test_lending_service_point_code_embedded_or_by_id() -> None:
    embedded = _loan(checkoutServicePoint={"code": "BM", "name": "移動図書館"})
    assert mapping.loan(embedded, TODAY, TOKYO).loan_branch == "BM"
    by_id = _loan(checkoutServicePointId=POINT)
    assert mapping.loan(by_id, TODAY, TOKYO, {POINT: "KITA"}).loan_branch == "KITA"
    assert mapping.loan(by_id, TODAY, TOKYO).loan_branch is None


def test_loan_policy_renewal_limits() -> None:
    def allowed(**policy: object) -> int | None:
        return mapping.FolioLoanPolicy.model_validate({"id": "p", **policy}).renewals_allowed

    assert allowed(renewalsPolicy={"numberAllowed": 2}) == 2
    assert allowed(renewalsPolicy={"unlimited": True, "numberAllowed": 2}) is None
    assert allowed(renewable=False, renewalsPolicy={"numberAllowed": 2}) == 0
    loan = mapping.loan(_loan(), TODAY, TOKYO, renewals_allowed=1)
    assert (loan.renewals_used, loan.renewals_allowed) == (1, 1)


def _request(status: str, **extra: object) -> mapping.FolioRequest:
    body = {
        "id": "r1",
        "requesterId": USER,
        "status": status,
        "requestDate": "2025-05-01T00:00:00.000+00:00",
        "instanceId": "44444444-4444-4444-8444-444444444444",
        "requestLevel": "Title",
        **extra,
    }
    return mapping.FolioRequest.model_validate(body)


def test_who_ended_a_request() -> None:
    at = "2025-05-30T03:00:00.000+00:00"
    desk = mapping.hold(
        _request("Closed - Cancelled", cancelledByUserId=STAFF, cancelledDate=at), TOKYO, {}
    )
    assert (desk.status, desk.ended_by) == (HoldStatus.CANCELLED, HoldEndedBy.LIBRARY)
    assert desk.ended_at == datetime(2025, 5, 30, 3, tzinfo=UTC)
    own = mapping.hold(_request("Closed - Cancelled", cancelledByUserId=USER), TOKYO, {})
    assert own.ended_by is HoldEndedBy.PATRON and own.ended_at is None
    lapsed = mapping.hold(_request("Closed - Pickup expired"), TOKYO, {})
    assert (lapsed.status, lapsed.ended_by) == (HoldStatus.EXPIRED, HoldEndedBy.LIBRARY)
    unknown = mapping.hold(_request("Closed - Cancelled"), TOKYO, {})
    assert unknown.ended_by is None
