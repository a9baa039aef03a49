"""SIP2 answers (64, 18, 30, 16, 66) turned into domain models: pure functions, no I/O.

SIP2 knows fields, not holds: a hold's state is pieced together from the list it came in
(AS "hold items" = available, CD "unavailable holds") and the item information (18) of its
copy — circulation status 08 on the hold shelf, 10 in transit, 06 in process, 02 on order —
with CF, the hold queue length. Dates are SIP2 local time (the tenant's zone) unless the ACS
writes ``Z`` (UTC), when they are moved into the tenant's zone before taking the day.

Ids: an item's id is its barcode (AB). A hold has no id in SIP2; the adapter names it by the
list entry: the copy's barcode, or for a title-level hold not yet tied to a copy
``title:<record id>`` when the ACS lists ``<record id> <title>`` (``title_hold_entries =
"record_id_title"``) and ``title:<title>`` when it lists the title only, so that a later 15
can send AB or AJ accordingly.

Patrons: the card's expiry date comes from a vendor field when the tenant names one
(``expiry_field``: Evergreen ``PA20191004``, Polaris ``PX20180609    235959``), a temporary
password from a screen message matching the tenant's patterns.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo

from ils_gateway.adapters.sip2.refusals import RefusalTable, SipAction, backend_message
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.fees import yen
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Loan,
    Patron,
    RenewabilityUnknown,
    RenewalResult,
)
from ils_gateway.domain.vocab import (
    BlockReason,
    HoldStatus,
    LoanState,
    MaterialType,
    Outcome,
    RefusalReason,
)
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, PatronStatusFlag, SipDate
from ils_gateway.sip2.messages import (
    CheckinResponse,
    CheckoutResponse,
    HoldResponse,
    ItemInformationResponse,
    PatronInformationResponse,
    RenewAllResponse,
    RenewResponse,
)
from ils_gateway.tenants.loans import Sip2LoanFields
from ils_gateway.tenants.materials import MaterialTypeMap

__all__ = [
    "TITLE_PREFIX",
    "ListEntry",
    "ListMode",
    "TitleEntries",
    "blocks_from_status",
    "card_expiry",
    "hold_from_entry",
    "hold_placed",
    "hold_status",
    "item_from_10",
    "item_from_18",
    "item_known",
    "loan_from_12",
    "loan_from_18",
    "material_type",
    "parse_list_entry",
    "patron_from_64",
    "renew_all_results",
    "renewed_loan",
    "sip_day",
    "title_entry",
    "typed",
]

ListMode = Literal["item_id", "title", "item_id_title"]
TitleEntries = Literal["title", "record_id_title"]
TITLE_PREFIX = "title:"
_UNREADABLE = "\ufffd"  # what the codec reads an undecodable byte of free text as

_STANDARD_TYPES = MaterialTypeMap()
_TypedMessage = ItemInformationResponse | CheckoutResponse | RenewResponse | CheckinResponse


# Patron status flags that are blocks in their own right.
_FLAG_BLOCKS = {
    PatronStatusFlag.CARD_REPORTED_LOST: BlockReason.LOST_CARD,
    PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE: BlockReason.OVERDUE_ITEMS,
    PatronStatusFlag.RECALL_OVERDUE: BlockReason.OVERDUE_ITEMS,
    PatronStatusFlag.EXCESSIVE_OUTSTANDING_FINES: BlockReason.FINES,
    PatronStatusFlag.EXCESSIVE_OUTSTANDING_FEES: BlockReason.FINES,
    PatronStatusFlag.TOO_MANY_ITEMS_BILLED: BlockReason.FINES,
    PatronStatusFlag.TOO_MANY_CLAIMS_OF_ITEMS_RETURNED: BlockReason.TOO_MANY_CLAIMS,
    PatronStatusFlag.TOO_MANY_ITEMS_LOST: BlockReason.OTHER,
}
_DENIED = frozenset(
    {
        PatronStatusFlag.CHARGE_PRIVILEGES_DENIED,
        PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED,
        PatronStatusFlag.HOLD_PRIVILEGES_DENIED,
    }
)
# Privileges denied without a flag saying why: the screen message usually tells.
_BLOCK_TEXTS: tuple[tuple[re.Pattern[str], BlockReason], ...] = tuple(
    (re.compile(p), reason)
    for p, reason in (
        (r"有効期限|期限切れ|card_expired|(?i:expired)", BlockReason.CARD_EXPIRED),
        (r"未使用|長期間.{0,6}利用|(?i:unused|inactive)", BlockReason.CARD_UNUSED),
        (r"紛失|(?i:lost card|card (reported )?lost)", BlockReason.LOST_CARD),
        (r"延滞|返却期限を過ぎ|(?i:overdue)", BlockReason.OVERDUE_ITEMS),
        (r"弁償|未払|延滞金|(?i:fine|fee)", BlockReason.FINES),
    )
)

# 18 circulation status of a held copy -> hold status (for holds listed as unavailable).
_HOLD_STATES = {
    CirculationStatus.WAITING_ON_HOLD_SHELF: HoldStatus.READY,
    CirculationStatus.IN_TRANSIT: HoldStatus.IN_TRANSIT,
    CirculationStatus.IN_PROCESS: HoldStatus.PREPARING,
    CirculationStatus.ON_ORDER: HoldStatus.ORDERED,
}
_LOST_STATES = frozenset({CirculationStatus.LOST, CirculationStatus.CLAIMED_RETURNED})


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of an AS/AT/AU/CD list: the barcode, the title, or both."""

    raw: str
    item_id: str | None
    title: str | None
    record_id: str | None = None
    """The title record's id, when the ACS lists one for a hold with no copy yet."""

    @property
    def key(self) -> str:
        """The id the adapter gives what this entry names: the barcode, else
        ``title:<record id>``, else ``title:<title>``."""
        if self.item_id is not None:
            return self.item_id
        return TITLE_PREFIX + (self.record_id or self.title or self.raw)


def parse_list_entry(raw: str, mode: ListMode) -> ListEntry:
    """Read a list entry as the tenant's ``list_mode`` says this ACS writes them.

    A barcode never holds a byte the wire encoding could not decode (U+FFFD, read leniently
    in lists that carry titles): such an entry names no copy and is read as a title, so it
    is never sent back to the ACS as an item id."""
    text = raw.strip()
    if mode == "title":
        return ListEntry(raw, None, text)
    if mode == "item_id_title":
        barcode, _, title = text.partition(" ")
        if _UNREADABLE in barcode:
            return ListEntry(raw, None, text)
        return ListEntry(raw, barcode, title.strip() or None)
    if _UNREADABLE in text:
        return ListEntry(raw, None, text)
    return ListEntry(raw, text, None)


def title_entry(entry: ListEntry, title_entries: TitleEntries) -> ListEntry:
    """``entry`` read as naming a title (the ACS knows no such item), with its record id when
    the ACS writes ``<record id> <title>``."""
    text = entry.raw.strip()
    if title_entries == "record_id_title":
        record, _, title = text.partition(" ")
        if record.isdigit() and title.strip():
            return ListEntry(entry.raw, None, title.strip(), record_id=record)
    return ListEntry(entry.raw, None, entry.title or text)


def card_expiry(msg: PatronInformationResponse, field_id: str | None) -> date | None:
    """The expiry date in vendor field ``field_id`` (YYYYMMDD first); None when absent or not
    a date."""
    if field_id is None:
        return None
    raw = (msg.get(field_id) or "").strip()
    try:
        return datetime.strptime(raw[:8], "%Y%m%d").date()
    except ValueError:
        return None


def sip_day(value: SipDate | None, tz: ZoneInfo) -> date | None:
    """The library day of a SIP2 date (None when absent, blank or unreadable)."""
    if value is None or value.is_none:
        return None
    when = value.value
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).astimezone(tz)
    return when.date()


def material_type(media_type: str | None) -> MaterialType:
    """The material type for a CK media type (standard table); books when the ACS does not say."""
    return _STANDARD_TYPES.sip2(media_type)


def typed(msg: _TypedMessage, types: MaterialTypeMap | None = None) -> MaterialType:
    """The material type of the item an 18/12/30/10 describes: the tenant's vendor field
    (Koha ``CR``) when it names a mapped value, else ``CK`` through the tenant's table."""
    types = types or _STANDARD_TYPES
    vendor = msg.get(types.sip2_type_field) if types.sip2_type_field else None
    return types.sip2(msg.media_type, vendor)


def blocks_from_status(
    status: PatronStatus, screen_messages: Iterable[str] = ()
) -> tuple[BlockReason, ...]:
    """Block reasons from the 14 patron status flags, the screen message naming the why when
    only "privileges denied" is set."""
    flags = status.flags
    found: list[BlockReason] = []
    for flag in sorted(flags, key=lambda f: f.value):
        reason = _FLAG_BLOCKS.get(flag)
        if reason is not None and reason not in found:
            found.append(reason)
    if flags & _DENIED and not found:
        lines = [line for line in screen_messages if line]
        reason = next(
            (r for p, r in _BLOCK_TEXTS if any(p.search(line) for line in lines)),
            BlockReason.ADMINISTRATIVE,
        )
        found.append(reason)
    return tuple(found)


class _CardExpiry(TypedDict, total=False):
    """``Patron(card_expires=...)`` only when the ACS says (an unset field keeps the old one
    when a summary is merged, ``model_dump(exclude_unset=True)``)."""

    card_expires: date


def patron_from_64(
    msg: PatronInformationResponse,
    card_number: str,
    *,
    expiry_field: str | None = None,
    temporary_password: Sequence[re.Pattern[str]] = (),
) -> Patron:
    """The patron a 64 describes (counts, blocks, contact data, card expiry, temporary
    password). ``card_expires`` is left unset when the ACS does not say."""
    temporary = [
        line for line in msg.screen_messages if any(p.search(line) for p in temporary_password)
    ]
    screen = [line for line in msg.screen_messages if line not in temporary]
    blocks = blocks_from_status(msg.patron_status, screen)
    hold_ready = msg.hold_items_count or 0
    expires = card_expiry(msg, expiry_field)
    expiry: _CardExpiry = {"card_expires": expires} if expires is not None else {}
    # Koha's SIP server sends the birth date (PB) and patron category (PC) in 64, "SIP 2.0
    # extensions used by Envisionware" (C4/SIP/Sip/MsgType.pm handle_patron_info); Evergreen
    # sends PC too (wire example [24]). Age-based hold limits read them.
    born = _vendor_date(msg.get("PB"))
    category = (msg.get("PC") or "").strip() or None
    return Patron(
        id=msg.patron_identifier or card_number,
        card_number=card_number,
        name=(msg.personal_name or "").strip(),
        blocks=blocks,
        block_messages=tuple(line for line in screen if line.strip()) if blocks else (),
        **expiry,
        birth_date=born,
        category=category,
        temporary_password=bool(temporary),
        email=msg.email_address or None,
        phone=msg.home_phone_number or None,
        loans_count=msg.charged_items_count or 0,
        overdue_count=msg.overdue_items_count or 0,
        holds_count=hold_ready + (msg.unavailable_holds_count or 0),
        holds_ready_count=hold_ready,
        fees_owed=_fees_owed(msg),
    )


def _fees_owed(msg: PatronInformationResponse) -> int | None:
    """BV as whole yen, when the ACS sends it in yen (BH JPY or no BH); else None."""
    currency = (msg.currency_type or "").strip().upper()
    if currency and currency != "JPY":
        return None
    return yen(msg.fee_amount) if (msg.fee_amount or "").strip() else None


def _vendor_date(raw: str | None) -> date | None:
    """A vendor date field's day: ``YYYYMMDD`` first (Koha PB), or ISO ``YYYY-MM-DD``."""
    text = (raw or "").strip().replace("-", "")
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def _queue_length(msg: ItemInformationResponse) -> int | None:
    raw = (msg.hold_queue_length or "").strip()
    return int(raw) if raw.isdigit() else None


def item_from_18(
    msg: ItemInformationResponse,
    fallback_title: str | None = None,
    types: MaterialTypeMap | None = None,
) -> Item:
    """The item an 18 describes, typed by the tenant's ``types``."""
    item_id = msg.item_identifier or ""
    title = (msg.title_identifier or "").strip() or fallback_title or item_id
    return Item(
        id=item_id,
        title=title,
        material_type=typed(msg, types),
        location=msg.permanent_location or None,
        circulation_status=msg.circulation_status.name.lower(),
    )


def item_known(msg: ItemInformationResponse) -> bool:
    """False when the ACS says it has no such item (no title, status "other")."""
    return bool((msg.title_identifier or "").strip()) or (
        msg.circulation_status is not CirculationStatus.OTHER
    )


def loan_from_18(
    msg: ItemInformationResponse,
    *,
    today: date,
    tz: ZoneInfo,
    overdue_ids: Collection[str] = (),
    types: MaterialTypeMap | None = None,
    fields: Sip2LoanFields | None = None,
) -> Loan:
    """A loan from the 18 of a charged item (AU entry); the due date is AH.

    The lending branch is the field ``fields.branch`` names (AP, the current location, by
    default: the branch a charged item was lent at on Koha and most ACSs). The renewals used
    and allowed come from vendor fields where the tenant names them; SIP2 2.00 has none, so
    without them the loan's renewability is unknown (``renewable`` None), not "yes".
    """
    fields = fields if fields is not None else Sip2LoanFields()
    item = item_from_18(msg, types=types)
    due = sip_day(msg.due_date, tz)
    if due is None:
        raise BackendProtocolError(
            "The library system did not give a due date for a loan.",
            operator_detail=f"SIP2 18 for a charged item has no readable AH: {msg.due_date!r}",
        )
    late = max(0, (today - due).days)
    if msg.circulation_status in _LOST_STATES:
        state = LoanState.LOST
    elif late > 0 or item.id in overdue_ids:
        state = LoanState.OVERDUE
    else:
        state = LoanState.ON_LOAN
    # SIP2 gives no renewability verdict; others waiting (CF) is the one hint it does give,
    # and a renewal count only where the ACS sends one in a vendor field.
    waiting = _queue_length(msg) or 0
    used = _count(msg, fields.renewals_used)
    allowed = _count(msg, fields.renewals_allowed)
    verdict: dict[str, object]
    if waiting:
        verdict = {"renewable": False, "refusal_reason": RefusalReason.HAS_HOLDS}
    elif used is not None and allowed is not None and used >= allowed:
        verdict = {"renewable": False, "refusal_reason": RefusalReason.RENEWAL_LIMIT}
    elif used is None:
        verdict = {
            "renewable": None,
            "renewable_unknown": RenewabilityUnknown.RENEWAL_COUNT_UNKNOWN,
        }
    else:
        verdict = {"renewable": True}
    branch = (msg.get(fields.branch) or "").strip() if fields.branch else ""
    return Loan.model_validate(
        {
            "id": item.id,
            "item": item,
            "due_date": due,
            "state": state,
            "days_overdue": late,
            "renewals_used": used,
            "renewals_allowed": allowed,
            "loan_branch": branch or None,
            **verdict,
        }
    )


def _count(msg: ItemInformationResponse, field_id: str | None) -> int | None:
    """A vendor field's count (digits), or None when not configured, absent or not a number."""
    if field_id is None:
        return None
    raw = (msg.get(field_id) or "").strip()
    return int(raw) if raw.isdigit() else None


def hold_status(available_list: bool, msg: ItemInformationResponse | None) -> HoldStatus:
    """Canonical status of a hold: AS entries are ready; CD entries by the copy's 18."""
    if available_list:
        return HoldStatus.READY
    if msg is None:
        return HoldStatus.WAITING
    return _HOLD_STATES.get(msg.circulation_status, HoldStatus.WAITING)


def hold_from_entry(
    entry: ListEntry,
    *,
    available_list: bool,
    item_info: ItemInformationResponse | None,
    tz: ZoneInfo,
    title_level: bool = True,
    types: MaterialTypeMap | None = None,
    title_type: MaterialType | None = None,
) -> Hold:
    """A hold from its AS/CD entry and (when the entry names a copy) that copy's 18.

    A title-only entry has no copy to ask: ``title_type`` is its type when known (from the
    copy the hold was placed with), else the item stays a book.
    """
    status = hold_status(available_list, item_info)
    if item_info is not None:
        item = item_from_18(item_info, fallback_title=entry.title, types=types)
        queue = _queue_length(item_info)
        backend = f"{'AS' if available_list else 'CD'} {item_info.circulation_status.value}"
    else:
        title = entry.title or entry.raw.strip()
        item = Item(id=entry.key, title=title, material_type=title_type or MaterialType.BOOK)
        queue = None
        backend = "AS" if available_list else "CD"
    ready = status is HoldStatus.READY
    deadline = sip_day(item_info.hold_pickup_date, tz) if item_info is not None else None
    pickup = None
    if ready and item_info is not None:
        pickup = item_info.current_location or None
    # SIP2 gives the queue's length, not our place in it: only a queue of one says "first".
    position = 1 if status is HoldStatus.WAITING and queue == 1 else None
    return Hold(
        id=entry.key,
        item=item,
        # A title-only entry is a title-level hold; a barcode may be a copy taken for either.
        title_level=title_level or entry.item_id is None,
        status=status,
        queue_position=position,
        pickup_library=pickup,
        pickup_deadline=deadline if ready else None,
        backend_status=backend,
    )


def renewed_loan(
    msg: RenewResponse, *, today: date, tz: ZoneInfo, types: MaterialTypeMap | None = None
) -> Loan:
    """The loan after a successful 30 (ok 1): its new due date is AH."""
    return _loan_due_on(
        msg,
        today=today,
        tz=tz,
        types=types,
        missing="The library system did not give the new due date.",
        command="30",
    )


def loan_from_12(
    msg: CheckoutResponse, *, today: date, tz: ZoneInfo, types: MaterialTypeMap | None = None
) -> Loan:
    """The new loan a successful 12 (ok 1) describes: its due date is AH."""
    # "renewal ok" in a 12 says the checkout renewed a loan the patron already had, not
    # whether the new loan may be renewed: SIP2 gives no verdict on that (as for the 30).
    return _loan_due_on(
        msg,
        today=today,
        tz=tz,
        types=types,
        missing="The library system did not give the due date of the new loan.",
        command="12",
    )


def _loan_due_on(
    msg: CheckoutResponse | RenewResponse,
    *,
    today: date,
    tz: ZoneInfo,
    missing: str,
    command: str,
    types: MaterialTypeMap | None = None,
) -> Loan:
    """The loan an ok 12 or 30 describes (AB, AJ, CK), due on its AH."""
    item_id = msg.item_identifier or ""
    due = sip_day(msg.due_date, tz)
    if due is None:
        raise BackendProtocolError(
            missing,
            operator_detail=f"SIP2 {command} ok=1 without a readable AH: {msg.due_date!r}",
        )
    item = Item(
        id=item_id,
        title=(msg.title_identifier or "").strip() or item_id,
        material_type=typed(msg, types),
    )
    late = max(0, (today - due).days)
    if command == "12":  # a new loan: no renewals yet
        counts: dict[str, object] = {"renewals_used": 0}
    else:  # a 30 says nothing of how many renewals are used now
        counts = {
            "renewals_used": None,
            "renewable": None,
            "renewable_unknown": RenewabilityUnknown.RENEWAL_COUNT_UNKNOWN,
        }
    return Loan.model_validate(
        {
            "id": item_id,
            "item": item,
            "due_date": due,
            "state": LoanState.OVERDUE if late else LoanState.ON_LOAN,
            "days_overdue": late,
            **counts,
        }
    )


# The 10's CV alert type (3M extension; Koha's SIP server sends it with the alert flag):
# 01 the copy fills a hold here, 02 a hold at another library, 04 it belongs elsewhere.
_ALERT_STATUS = {"01": "on_hold_shelf", "02": "in_transit", "04": "in_transit"}


def item_from_10(msg: CheckinResponse, types: MaterialTypeMap | None = None) -> Item:
    """The item a successful 10 (ok 1) describes, back in its library (AQ); where its alert
    type says it goes to the hold shelf or travels, that is its status."""
    item_id = msg.item_identifier or ""
    alert_type = (msg.get("CV") or "").strip() if msg.alert else ""
    return Item(
        id=item_id,
        title=(msg.title_identifier or "").strip() or item_id,
        material_type=typed(msg, types),
        location=msg.permanent_location or None,
        circulation_status=_ALERT_STATUS.get(alert_type),
    )


def renew_all_results(
    msg: RenewAllResponse, item_ids: Iterable[str], table: RefusalTable
) -> BatchResult[RenewalResult]:
    """Per-item results of a 65 from its 66: BM renewed, BN not (one AF for them all)."""
    renewed = {e.strip().partition(" ")[0] for e in msg.renewed_items}
    unrenewed = {e.strip().partition(" ")[0] for e in msg.unrenewed_items}
    text = backend_message(msg.screen_messages)
    reason = table.reason(msg.screen_messages, SipAction.RENEW)
    results = []
    for item_id in item_ids:
        if item_id in renewed:
            results.append(RenewalResult(item_id=item_id, outcome=Outcome.OK))
        elif item_id in unrenewed or not msg.ok:
            results.append(
                RenewalResult(
                    item_id=item_id, outcome=Outcome.REFUSED, reason=reason, backend_message=text
                )
            )
        else:
            results.append(
                RenewalResult(
                    item_id=item_id,
                    outcome=Outcome.ERROR,
                    error_type=BackendProtocolError.type_slug,
                    detail="The library system did not say whether this loan was renewed.",
                )
            )
    return BatchResult(results=tuple(results))


def hold_placed(
    msg: HoldResponse, *, item_id: str, title_level: bool, pickup_library: str, tz: ZoneInfo
) -> Hold:
    """The hold a successful 16 (ok 1) describes."""
    raw_position = (msg.queue_position or "").strip()
    position = int(raw_position) if raw_position.isdigit() and int(raw_position) > 0 else None
    item = Item(
        id=msg.item_identifier or item_id,
        title=(msg.title_identifier or "").strip() or item_id,
    )
    return Hold(
        id=msg.item_identifier or item_id,
        item=item,
        title_level=title_level,
        # "available" means a copy is on the shelf to fill it, not that it waits for pickup.
        status=HoldStatus.WAITING,
        queue_position=position,
        pickup_library=msg.pickup_location or pickup_library,
        expires=sip_day(msg.expiration_date, tz),
        backend_status="16 available" if msg.available else "16 queued",
    )
