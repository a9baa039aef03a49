"""The parts of Koha's JSON objects the adapter reads, as pydantic models.

Field names are Koha's (``definitions/*.yaml`` of the v1 API). Unknown fields are ignored so
that a newer Koha adding fields does not break us; a missing or mistyped field we rely on is
Koha breaking its contract and surfaces as BackendProtocolError (see ``parse``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.logsafe import shape_errors


class _KohaObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class KohaPatron(_KohaObject):
    """definitions/patron.yaml"""

    patron_id: int
    cardnumber: str | None = None
    userid: str | None = None
    surname: str | None = None
    firstname: str | None = None
    email: str | None = None
    secondary_email: str | None = None
    phone: str | None = None
    library_id: str | None = None
    category_id: str | None = None
    expiry_date: date | None = None
    restricted: bool = False
    date_of_birth: date | None = None


class KohaCheckout(_KohaObject):
    """definitions/checkout.yaml"""

    checkout_id: int
    patron_id: int
    item_id: int | None = None
    external_id: str | None = None
    due_date: datetime
    checkout_date: datetime | None = None
    library_id: str | None = None
    renewals_count: int | None = None
    item: dict[str, Any] | None = None


class KohaCheckoutSummary(_KohaObject):
    """definitions/checkout.yaml: what the patron summary counts by, read leniently so that
    one malformed checkout does not stop a login (the loan list still reports it)."""

    checkout_id: int
    patron_id: int
    due_date: datetime | None = None


class KohaAllowsRenewal(_KohaObject):
    """definitions/allows_renewal.yaml"""

    allows_renewal: bool
    max_renewals: int | None = None
    current_renewals: int | None = None
    error: str | None = None


class KohaCheckoutAvailability(_KohaObject):
    """GET /checkouts/availability (Checkouts#get_availability; the definition says only
    ``object``): C4::Circulation::CanBookBeIssued's ``issuingimpossible`` (``blockers``) and
    ``needsconfirmation`` (``confirms``), each a code (``DEBARRED``, ``ISSUED_TO_ANOTHER``…)
    with a value, plus lower-case details (``issued_cardnumber``…) the gateway never uses."""

    blockers: dict[str, Any] = {}
    confirms: dict[str, Any] = {}
    warnings: dict[str, Any] = {}
    confirmation_token: str | None = None


class KohaHold(_KohaObject):
    """definitions/hold.yaml"""

    hold_id: int
    patron_id: int
    biblio_id: int | None = None
    item_id: str | int | None = None
    pickup_library_id: str | None = None
    hold_date: date | None = None
    priority: int | None = None
    status: str | None = None
    waiting_date: date | None = None
    expiration_date: date | None = None
    suspended: bool = False
    suspended_until: datetime | None = None
    item_level: bool = False
    cancellation_requested: bool | None = None


class KohaPickupChange(_KohaObject):
    """PUT /holds/{hold_id}/pickup_location: the pickup library now set (paths/holds.yaml)."""

    pickup_library_id: str


class KohaLibrary(_KohaObject):
    """definitions/library.yaml"""

    library_id: str
    name: str
    pickup_location: bool | None = None


class KohaItem(_KohaObject):
    """definitions/item.yaml"""

    item_id: int
    biblio_id: int
    external_id: str | None = None
    home_library_id: str | None = None
    holding_library_id: str | None = None
    callnumber: str | None = None
    item_type_id: str | None = None
    effective_item_type_id: str | None = None
    not_for_loan_status: int | None = None
    effective_not_for_loan_status: int | None = None
    lost_status: int | None = None
    withdrawn: int | None = None
    damaged_status: int | None = None
    checked_out_date: date | None = None
    holds_count: int | None = None
    biblio: dict[str, Any] | None = None
    transfer: dict[str, Any] | None = None  # an open transfer, where a Koha embeds it


class KohaAccountLine(_KohaObject):
    """definitions/account_line.yaml (the lines of ``GET /patrons/{patron_id}/account``)."""

    account_line_id: int | None = None
    patron_id: int
    item_id: int | None = None
    date: datetime | None = None
    amount: float
    amount_outstanding: float
    description: str | None = None
    debit_type: str | None = None


class KohaAccountPart(_KohaObject):
    """``outstanding_debits`` / ``outstanding_credits`` of definitions/patron_balance.yaml."""

    total: float | None = None
    lines: list[KohaAccountLine] = []


class KohaPatronBalance(_KohaObject):
    """definitions/patron_balance.yaml: ``balance`` (signed, credits netted) and the lines."""

    balance: float
    outstanding_debits: KohaAccountPart = KohaAccountPart()
    outstanding_credits: KohaAccountPart = KohaAccountPart()


class KohaBiblio(_KohaObject):
    """GET /biblios/{biblio_id} as JSON: Koha::Biblio->to_api (the definition gives no schema)."""

    biblio_id: int
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None


T = TypeVar("T")


def parse(kind: type[T], document: Any, where: str) -> T:
    """Validate ``document`` as ``kind`` (a model or e.g. ``list[KohaHold]``) or blame Koha."""
    try:
        return TypeAdapter(kind).validate_python(document)
    except ValidationError as exc:
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"Koha {where}: unexpected shape: {shape_errors(exc)}",
        ) from exc
