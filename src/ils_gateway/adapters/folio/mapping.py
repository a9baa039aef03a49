"""FOLIO's records and words turned into the gateway's models and vocabularies.

The record models read only the fields the gateway uses, from mod-circulation's ``loan.json``
and ``request.json``, mod-users' user record, and inventory's service point and item records;
anything else FOLIO sends is ignored. A record missing what the gateway needs is FOLIO
breaking its contract (``BackendProtocolError``).

Ids: a patron is FOLIO's user UUID; a loan is the loan UUID; an item is the item UUID (or its
barcode, as kiosks know it); a title (instance) is ``instance:<instance UUID>``, so that a title
is never mistaken for an item; a request (hold) is the request UUID; a pickup library is a
service point, by its ``code``.

Patron blocks come from two modules: manual blocks staff set (mod-feesfines ``/manualblocks``,
``manualblockdata.json``: ``borrowing``, ``renewals``, ``requests``, ``expirationDate``) and
automated blocks FOLIO computes from the patron group's limits (mod-patron-blocks
``GET /automated-patron-blocks/{userId}``, ``automated-patron-block.json``; its condition ids
are fixed reference data, ``PatronBlockConditionId`` in mod-patron-blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.fees import Fee, FeeAccount, fee_type_from_text, yen
from ils_gateway.domain.logsafe import shape_errors
from ils_gateway.domain.models import Hold, HoldEndedBy, Item, Library, Loan, Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    FeeType,
    HoldAction,
    HoldStatus,
    LoanState,
    MaterialType,
)
from ils_gateway.tenants.materials import MaterialTypeMap

INSTANCE_PREFIX = "instance:"


def instance_ref(instance_id: str) -> str:
    """The gateway's id of a FOLIO title (instance)."""
    return INSTANCE_PREFIX + instance_id


# FOLIO request status -> canonical status. The first six are the ones edge-patron's hold.json
# allows; mod-circulation's request.json adds "Open - Awaiting delivery" and "Closed - Unfilled",
# and mod-patron's hold.json "New - Awaiting confirmation" (mediated requests).
REQUEST_STATUSES: dict[str, HoldStatus] = {
    "Open - Not yet filled": HoldStatus.WAITING,
    "Open - In transit": HoldStatus.IN_TRANSIT,
    "Open - Awaiting pickup": HoldStatus.READY,
    # checked in for delivery to the patron's address: being prepared, not on a shelf
    "Open - Awaiting delivery": HoldStatus.PREPARING,
    "New - Awaiting confirmation": HoldStatus.UNDER_REVIEW,
    "Closed - Filled": HoldStatus.FULFILLED,
    "Closed - Cancelled": HoldStatus.CANCELLED,
    "Closed - Pickup expired": HoldStatus.EXPIRED,
    # the request lapsed (requestExpirationDate) before a copy came back
    "Closed - Unfilled": HoldStatus.EXPIRED,
}

# What a patron may do online, per FOLIO status (FOLIO lets staff move the pickup point only
# while no copy is on its way or on the shelf).
ALLOWED_ACTIONS: dict[str, frozenset[HoldAction]] = {
    "Open - Not yet filled": frozenset({HoldAction.CANCEL, HoldAction.CHANGE_PICKUP}),
    "Open - In transit": frozenset({HoldAction.CANCEL}),
    "Open - Awaiting pickup": frozenset({HoldAction.CANCEL}),
    "Open - Awaiting delivery": frozenset({HoldAction.CANCEL}),
    "New - Awaiting confirmation": frozenset({HoldAction.CANCEL}),
}

OPEN_STATUSES = frozenset(s for s in REQUEST_STATUSES if s.startswith(("Open", "New")))

# FOLIO's reference material types (mod-inventory-storage reference data), lower-cased, plus
# names Japanese FOLIO sites commonly add.
MATERIAL_TYPES: dict[str, MaterialType] = {
    "book": MaterialType.BOOK,
    "text": MaterialType.BOOK,
    "dvd": MaterialType.DVD,
    "sound recording": MaterialType.CD,
    "video recording": MaterialType.VIDEO,
    "electronic resource": MaterialType.CD_ROM,
    "map": MaterialType.MAP,
    "serial": MaterialType.MAGAZINE,
    "magazine": MaterialType.MAGAZINE,
    "picture book": MaterialType.PICTURE_BOOK,
    "kamishibai": MaterialType.KAMISHIBAI,
    "cd": MaterialType.CD,
    "blu-ray": MaterialType.BLU_RAY,
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Named(_Record):
    """Any FOLIO ``{"name": ...}`` reference (``id`` where FOLIO gives it)."""

    name: str | None = None
    id: str | None = None


class FolioPersonal(_Record):
    """The ``personal`` part of a mod-users user."""

    lastName: str | None = None
    firstName: str | None = None
    preferredFirstName: str | None = None
    email: str | None = None
    phone: str | None = None
    mobilePhone: str | None = None
    dateOfBirth: str | None = None


class FolioUser(_Record):
    """A mod-users user (the patron)."""

    id: str
    barcode: str | None = None
    active: bool = True
    expirationDate: str | None = None
    patronGroup: str | None = None
    personal: FolioPersonal = FolioPersonal()


class FolioLoanItem(_Record):
    """The item copy embedded in a mod-circulation loan."""

    title: str | None = None
    barcode: str | None = None
    callNumber: str | None = None
    materialType: Named | None = None
    location: Named | None = None
    status: Named | None = None
    primaryContributor: str | None = None


class FolioServicePointRef(_Record):
    """A service point embedded in a request (pickup) or a loan (checkout)."""

    name: str | None = None
    code: str | None = None


class FolioLoan(_Record):
    """A mod-circulation loan (``loan.json``)."""

    id: str | None = None
    userId: str | None = None
    itemId: str
    item: FolioLoanItem = FolioLoanItem()
    loanDate: str
    dueDate: str | None = None
    renewalCount: int = 0
    status: Named | None = None
    loanPolicyId: str | None = None
    checkoutServicePointId: str | None = None
    checkoutServicePoint: FolioServicePointRef | None = None


class FolioRequestInstance(_Record):
    """The instance (title) copy embedded in a request."""

    title: str | None = None


class FolioRequest(_Record):
    """A mod-circulation request (``request.json``), the gateway's hold."""

    id: str
    requestLevel: str = "Item"
    requesterId: str
    status: str
    requestDate: str
    instanceId: str | None = None
    itemId: str | None = None
    instance: FolioRequestInstance = FolioRequestInstance()
    position: int | None = None
    pickupServicePointId: str | None = None
    pickupServicePoint: FolioServicePointRef | None = None
    requestExpirationDate: str | None = None
    holdShelfExpirationDate: str | None = None
    cancelledByUserId: str | None = None
    cancelledDate: str | None = None


class FolioServicePoint(_Record):
    """An inventory service point; those with ``pickupLocation`` are pickup libraries."""

    id: str
    name: str
    code: str
    discoveryDisplayName: str | None = None
    pickupLocation: bool = False


class FolioInventoryItem(_Record):
    """An item as mod-inventory's ``/inventory/items/{id}`` returns it (title included)."""

    id: str
    holdingsRecordId: str | None = None
    title: str | None = None
    barcode: str | None = None
    callNumber: str | None = None
    contributorNames: list[Named] = []
    materialType: Named | None = None
    status: Named | None = None
    effectiveLocation: Named | None = None


class FolioHoldings(_Record):
    """A holdings record (mod-inventory-storage ``/holdings-storage/holdings/{id}``): the link
    from an item to its instance."""

    id: str
    instanceId: str


class FolioInstance(_Record):
    """An instance (title) as mod-inventory's ``/inventory/instances/{id}`` returns it."""

    id: str
    title: str | None = None
    contributors: list[Named] = []


class FolioAllowedServicePoint(_Record):
    """One entry of mod-circulation's ``allowed-service-points-response.json``."""

    id: str
    name: str


class FolioManualBlock(_Record):
    """A staff block (mod-feesfines ``manualblockdata.json``)."""

    userId: str
    desc: str | None = None
    borrowing: bool = False
    renewals: bool = False
    requests: bool = False
    expirationDate: str | None = None


class FolioAutomatedBlock(_Record):
    """A computed block (mod-patron-blocks ``automated-patron-block.json``)."""

    patronBlockConditionId: str | None = None
    blockBorrowing: bool
    blockRenewals: bool
    blockRequests: bool
    message: str


# mod-patron-blocks PatronBlockConditionId (fixed reference data) -> why the patron is blocked.
BLOCK_CONDITIONS: dict[str, BlockReason] = {
    "3d7c52dc-c732-4223-8bf8-e5917801386f": BlockReason.OTHER,  # max items charged out
    "72b67965-5b73-4840-bc0b-be8f3f6e047e": BlockReason.OTHER,  # max lost items
    "584fbd4f-6a34-4730-a6ca-73a6a6a9d845": BlockReason.OVERDUE_ITEMS,  # max overdue items
    "e5b45031-a202-4abb-917b-e1df9346fe2c": BlockReason.OVERDUE_ITEMS,  # max overdue recalls
    "08530ac4-07f2-48e6-9dda-a97bc2bf7053": BlockReason.OVERDUE_ITEMS,  # recall overdue by days
    "cf7a0d5f-a327-4ca1-aa9e-dc55ec006b8a": BlockReason.FINES,  # max fee/fine balance
}


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str) -> M:
    """``data`` as ``model``; a shape the gateway cannot use is FOLIO's fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO {what}: {shape_errors(exc)}",
        ) from exc


def parse_list(model: type[M], body: Any, key: str, what: str) -> list[M]:
    """The records under ``key`` of a FOLIO collection answer."""
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO {what}: no '{key}' list in the answer",
        )
    return [parse(model, row, what) for row in rows]


def instant(raw: str, what: str) -> datetime:
    """A FOLIO timestamp (ISO 8601, ``Z`` or offset) as an aware datetime."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO {what}: bad timestamp {raw!r}",
        ) from exc
    if value.tzinfo is None:
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO {what}: timestamp without offset {raw!r}",
        )
    return value


def local_day(raw: str | None, zone: ZoneInfo, what: str) -> date | None:
    """The day (in the tenant's zone) of a FOLIO timestamp, or None."""
    return instant(raw, what).astimezone(zone).date() if raw else None


def material_type(
    name: str | None, type_id: str | None = None, types: MaterialTypeMap | None = None
) -> MaterialType:
    """Canonical material type for a FOLIO material type (the tenant's map by id or name,
    then FOLIO's reference names); ``other`` when nobody knows it."""
    if types is not None and (name or type_id):
        return types.folio((name or "").strip() or None, type_id, MATERIAL_TYPES)
    return MATERIAL_TYPES.get((name or "").strip().lower(), MaterialType.OTHER)


def named_type(ref: Named | None, types: MaterialTypeMap | None = None) -> MaterialType:
    """The material type of an embedded ``materialType`` reference."""
    if ref is None:
        return material_type(None)
    return material_type(ref.name, ref.id, types)


def patron_blocks(
    manual: list[FolioManualBlock], automated: list[FolioAutomatedBlock], now: datetime
) -> list[BlockReason]:
    """Why the patron is blocked, from both kinds of FOLIO block (an expired manual block and
    one that blocks nothing no longer count, as mod-circulation's UserManualBlocksValidator)."""
    found: list[BlockReason] = []
    for block in manual:
        live = block.expirationDate is None or instant(block.expirationDate, "block") > now
        if live and (block.borrowing or block.renewals or block.requests):
            found.append(BlockReason.ADMINISTRATIVE)
    for auto in automated:
        if auto.blockBorrowing or auto.blockRenewals or auto.blockRequests:
            found.append(BLOCK_CONDITIONS.get(auto.patronBlockConditionId or "", BlockReason.OTHER))
    return list(dict.fromkeys(found))


def patron(
    user: FolioUser,
    card_number: str,
    today: date,
    zone: ZoneInfo,
    more_blocks: list[BlockReason] | None = None,
) -> Patron:
    """A ``Patron`` from a mod-users user; an inactive or expired user carries a block, and so
    do the manual and automated blocks given in ``more_blocks``."""
    p = user.personal
    first = p.preferredFirstName or p.firstName
    name = " ".join(part for part in (p.lastName, first) if part)
    expires = local_day(user.expirationDate, zone, "user.expirationDate")
    blocks: list[BlockReason] = []
    if expires is not None and expires < today:
        blocks.append(BlockReason.CARD_EXPIRED)
    elif not user.active:
        blocks.append(BlockReason.ADMINISTRATIVE)
    blocks += [b for b in more_blocks or () if b not in blocks]
    return Patron(
        id=user.id,
        card_number=user.barcode or card_number,
        name=name,
        category=user.patronGroup,
        blocks=tuple(blocks),
        card_expires=expires,
        email=p.email,
        phone=p.mobilePhone or p.phone,
        birth_date=birth_day(p.dateOfBirth),
    )


def birth_day(value: str | None) -> date | None:
    """userdata.json ``personal.dateOfBirth`` (a date-time; FOLIO's UI stores the day at
    midnight UTC): its calendar day as written, never shifted by a zone; None when absent or
    unreadable."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class FolioRenewalsPolicy(_Record):
    """A loan policy's ``renewalsPolicy`` (mod-circulation-storage loan-policy.json)."""

    unlimited: bool = False
    numberAllowed: int | None = None


class FolioLoanPolicy(_Record):
    """A loan policy: whether its loans renew, and how many times."""

    id: str
    renewable: bool = True
    renewalsPolicy: FolioRenewalsPolicy = FolioRenewalsPolicy()

    @property
    def renewals_allowed(self) -> int | None:
        """Renewals allowed in all; None when unlimited or not said."""
        if not self.renewable:
            return 0
        if self.renewalsPolicy.unlimited:
            return None
        return self.renewalsPolicy.numberAllowed


def loan(
    record: FolioLoan,
    today: date,
    zone: ZoneInfo,
    point_codes: Mapping[str, str] | None = None,
    renewals_allowed: int | None = None,
    types: MaterialTypeMap | None = None,
) -> Loan:
    """A ``Loan`` from a mod-circulation loan; overdue by the tenant's calendar day.

    The lending branch is the checkout service point's code (embedded, or looked up by
    ``checkoutServicePointId`` in ``point_codes``); FOLIO's renewal count is ``renewalCount``.
    """
    if record.dueDate is None:
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO loan {record.id}: open loan without dueDate",
        )
    due = local_day(record.dueDate, zone, "loan.dueDate")
    assert due is not None
    days_overdue = max(0, (today - due).days)
    i = record.item
    item = Item(
        id=record.itemId,
        title=i.title or "",
        barcode=i.barcode or None,
        author=i.primaryContributor,
        material_type=named_type(i.materialType, types),
        call_number=i.callNumber,
        location=i.location.name if i.location else None,
        circulation_status=i.status.name if i.status else None,
    )
    return Loan(
        id=record.id or record.itemId,
        item=item,
        loaned_on=local_day(record.loanDate, zone, "loan.loanDate"),
        due_date=due,
        state=LoanState.OVERDUE if days_overdue else LoanState.ON_LOAN,
        days_overdue=days_overdue,
        renewals_used=record.renewalCount,
        renewals_allowed=renewals_allowed,
        loan_branch=_checkout_point(record, point_codes or {}),
    )


def _checkout_point(record: FolioLoan, point_codes: Mapping[str, str]) -> str | None:
    embedded = record.checkoutServicePoint
    if embedded is not None and embedded.code:
        return embedded.code
    if record.checkoutServicePointId and record.checkoutServicePointId in point_codes:
        return point_codes[record.checkoutServicePointId]
    return embedded.name if embedded is not None else None


def hold_status(status: str) -> HoldStatus:
    """Canonical status for a FOLIO request status; an unknown one is FOLIO's fault."""
    try:
        return REQUEST_STATUSES[status]
    except KeyError:
        raise BackendProtocolError(
            detail="The library system sent an unexpected answer.",
            operator_detail=f"FOLIO request status {status!r} is not one the gateway knows",
        ) from None


def hold(record: FolioRequest, zone: ZoneInfo, pickup_codes: dict[str, str]) -> Hold:
    """A ``Hold`` from a mod-circulation request; ``pickup_codes`` maps service point ids
    to codes for requests that do not embed their service point."""
    status = hold_status(record.status)
    title_level = record.requestLevel == "Title"
    if (title_level or not record.itemId) and record.instanceId:
        item_id: str | None = instance_ref(record.instanceId)
    else:
        item_id = record.itemId
    pickup = None
    if record.pickupServicePoint is not None and record.pickupServicePoint.code:
        pickup = record.pickupServicePoint.code
    elif record.pickupServicePointId:
        pickup = pickup_codes.get(record.pickupServicePointId, record.pickupServicePointId)
    return Hold(
        id=record.id,
        item=Item(id=item_id or record.id, title=record.instance.title or ""),
        title_level=title_level,
        status=status,
        queue_position=record.position if status is HoldStatus.WAITING else None,
        pickup_library=pickup,
        pickup_deadline=(
            local_day(record.holdShelfExpirationDate, zone, "request.holdShelfExpirationDate")
            if status is HoldStatus.READY
            else None
        ),
        created=local_day(record.requestDate, zone, "request.requestDate"),
        expires=local_day(record.requestExpirationDate, zone, "request.requestExpirationDate"),
        backend_status=record.status,
        allowed_actions=ALLOWED_ACTIONS.get(record.status, frozenset()),
        **_ending(record, status),
    )


def _ending(record: FolioRequest, status: HoldStatus) -> dict[str, Any]:
    """Who cancelled a closed request (``cancelledByUserId``: the requester or staff) and
    when (``cancelledDate``); an expired one lapsed by the library's deadline."""
    if status is HoldStatus.EXPIRED:
        return {"ended_by": HoldEndedBy.LIBRARY}
    if status is not HoldStatus.CANCELLED:
        return {}
    ended: dict[str, Any] = {}
    if record.cancelledByUserId is not None:
        by_patron = record.cancelledByUserId == record.requesterId
        ended["ended_by"] = HoldEndedBy.PATRON if by_patron else HoldEndedBy.LIBRARY
    if record.cancelledDate is not None:
        try:
            ended["ended_at"] = datetime.fromisoformat(record.cancelledDate.replace("Z", "+00:00"))
        except ValueError:
            pass  # an unreadable date: the gateway's clock stands in
    return ended


def library(point: FolioServicePoint) -> Library:
    """A pickup ``Library`` from a service point (its code, its patron-facing name)."""
    return Library(code=point.code, name=point.discoveryDisplayName or point.name)


def instance(record: FolioInstance) -> Item:
    """An ``Item`` for a title from mod-inventory's instance record."""
    authors = [c.name for c in record.contributors if c.name]
    return Item(
        id=instance_ref(record.id),
        title=record.title or "",
        author="; ".join(authors) or None,
    )


def item(record: FolioInventoryItem, types: MaterialTypeMap | None = None) -> Item:
    """An ``Item`` from mod-inventory's item record."""
    authors = [c.name for c in record.contributorNames if c.name]
    return Item(
        id=record.id,
        title=record.title or "",
        barcode=record.barcode or None,
        author="; ".join(authors) or None,
        material_type=named_type(record.materialType, types),
        call_number=record.callNumber,
        location=record.effectiveLocation.name if record.effectiveLocation else None,
        circulation_status=record.status.name if record.status else None,
    )


class FolioCheckedInItem(_Record):
    """The item of a check-in answer (``check-in-by-barcode-response.json`` ``item``)."""

    id: str
    title: str | None = None
    barcode: str | None = None
    callNumber: str | None = None
    materialType: Named | None = None
    contributors: list[Named] = []
    location: Named | None = None
    status: Named | None = None
    inTransitDestinationServicePointId: str | None = None


class FolioCheckIn(_Record):
    """``POST /circulation/check-in-by-barcode``'s answer: the item, and the loan it closed
    (none when the copy was not on loan)."""

    item: FolioCheckedInItem
    loan: FolioLoan | None = None


def checked_in_item(answer: FolioCheckIn, types: MaterialTypeMap | None = None) -> Item:
    """The copy as it stands after a check-in: its status (``Available``, ``Awaiting pickup``,
    ``In transit``) and location, by UUID with its barcode."""
    record = answer.item
    authors = [c.name for c in record.contributors if c.name]
    return Item(
        id=record.id,
        title=record.title or "",
        barcode=record.barcode or None,
        author="; ".join(authors) or None,
        material_type=named_type(record.materialType, types),
        call_number=record.callNumber,
        location=record.location.name if record.location else None,
        circulation_status=record.status.name if record.status else None,
    )


class FolioAccount(_Record):
    """A mod-feesfines fee/fine (``accountdata.json``)."""

    id: str | None = None
    userId: str
    amount: float
    remaining: float
    status: Named | None = None
    paymentStatus: Named | None = None
    feeFineType: str | None = None
    title: str | None = None
    barcode: str | None = None
    dateCreated: str | None = None


# FOLIO's automatic fee/fine types (mod-feesfines, created by its lost-item and overdue-fine
# policies) by name; a library's manual types are read from their words.
_FEE_FINE_TYPES = {
    "lost item fee": FeeType.LOST_ITEM,
    "lost item fee (actual cost)": FeeType.LOST_ITEM,
    "lost item processing fee": FeeType.PROCESSING,
    "replacement processing fee": FeeType.PROCESSING,
    "overdue fine": FeeType.OVERDUE,
    "reminder fee": FeeType.ADMINISTRATIVE,
}


def fee(record: FolioAccount, zone: ZoneInfo) -> Fee | None:
    """One open fee/fine as a charge (None when nothing, or less than nothing, remains)."""
    owed = yen(record.remaining)
    if owed is None or owed <= 0:
        return None
    name = (record.feeFineType or "").strip()
    return Fee(
        id=record.id,
        type=_FEE_FINE_TYPES.get(name.casefold()) or fee_type_from_text(name),
        backend_type=name or None,
        amount=owed,
        original_amount=yen(record.amount),
        description=name or None,
        item_id=record.barcode or None,
        title=record.title or None,
        date=local_day(record.dateCreated, zone, "GET /accounts"),
    )


def fee_account(records: list[FolioAccount], zone: ZoneInfo) -> FeeAccount:
    """The patron's open fees/fines; the total is what remains of them (FOLIO keeps no
    separate balance). A closed one FOLIO sends anyway is not owed."""
    fees: list[Fee] = []
    unreadable = 0
    for record in records:
        if record.status is not None and record.status.name == "Closed":
            continue
        charge = fee(record, zone)
        if charge is not None:
            fees.append(charge)
        elif record.remaining < 0:
            unreadable += 1
    return FeeAccount(fees=tuple(fees), total=sum(f.amount for f in fees), unreadable=unreadable)
