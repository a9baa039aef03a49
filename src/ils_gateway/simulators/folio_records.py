"""The simulated library's records in FOLIO's shapes and words, for the FOLIO face.

Ids are UUIDs (version 5, from a fixed namespace and the library's own key), so the same
dataset always shows the same ids and every id matches FOLIO's ``uuid.schema`` pattern
(version 1-5, RFC 4122 variant). Which schema each shape follows is named on its function;
the files are in ``shared/reference/folio`` (see its MANIFEST.md), except the modules that
snapshot does not hold (mod-users, mod-inventory, mod-feesfines, mod-patron-blocks), whose
upstream files are named instead.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.outcomes import (
    FeeView,
    HoldView,
    ItemInfo,
    LoanView,
    PatronInfo,
    PickupLocation,
)
from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.simulators.records import ItemStatus

# What a PUT that cancels a request records, and later GETs show (request.json).
# The one loan policy of the simulated library (its renewal limit: the house rules').
LOAN_POLICY_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "ils-gateway-sim/loan-policy/default"))

CANCELLATION_FIELDS = (
    "cancellationReasonId",
    "cancelledByUserId",
    "cancelledDate",
    "cancellationAdditionalInformation",
)

NAMESPACE = uuid.UUID("6f1f4d2e-9a53-4c1e-8b0e-2f6a3d1c5b7a")

# mod-circulation request.json ``status`` enum, for the library's own hold states. A copy that
# arrived and is being shelved is still in transit for FOLIO (its check-in at the pickup
# service point is what makes a request "Open - Awaiting pickup").
REQUEST_STATUS: dict[HoldState, str] = {
    HoldState.ON_ORDER: "Open - Not yet filled",
    HoldState.PENDING: "Open - Not yet filled",
    HoldState.TRANSIT: "Open - In transit",
    HoldState.PROCESSING: "Open - In transit",
    HoldState.AWAITING_PICKUP: "Open - Awaiting pickup",
    HoldState.CANCELLED: "Closed - Cancelled",
    HoldState.LAPSED: "Closed - Pickup expired",
    HoldState.FILLED: "Closed - Filled",
}

# FOLIO item status names (mod-inventory-storage item.json ``status.name`` enum).
ITEM_STATUS: dict[str, str] = {
    ItemStatus.AVAILABLE.value: "Available",
    ItemStatus.CHECKED_OUT.value: "Checked out",
    ItemStatus.ON_ORDER.value: "On order",
    ItemStatus.CATALOGUING.value: "In process",
    ItemStatus.IN_TRANSIT.value: "In transit",
    ItemStatus.HOLD_SHELF.value: "Awaiting pickup",
    ItemStatus.RESHELVING.value: "Available",  # FOLIO has no reshelving status
    ItemStatus.CLAIMED_RETURNED.value: "Claimed returned",
    ItemStatus.LOST.value: "Declared lost",
    ItemStatus.MISSING.value: "Missing",
}

# Material type names, as a Japanese FOLIO site would name its material types.
MATERIAL_TYPE: dict[ItemType, str] = {
    ItemType.BOOK: "book",
    ItemType.PICTURE_BOOK: "picture book",
    ItemType.MAGAZINE: "magazine",
    ItemType.KAMISHIBAI: "kamishibai",
    ItemType.CD: "sound recording",
    ItemType.DVD: "dvd",
    ItemType.CASSETTE: "sound recording",
    ItemType.ART: "art reproduction",
}

# mod-patron-blocks PatronBlockConditionId (fixed reference data).
MAX_OVERDUE_ITEMS = "584fbd4f-6a34-4730-a6ca-73a6a6a9d845"


def folio_id(kind: str, key: object) -> str:
    """The FOLIO UUID of the library's record ``kind`` with key ``key``."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def instant(moment: datetime) -> str:
    """A FOLIO timestamp: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def end_of_day(day: date) -> str:
    """The last second of ``day`` in the library's zone, as FOLIO stores day-based dates."""
    return instant(datetime.combine(day, time(23, 59, 59), tzinfo=TOKYO))


def _names(name: str) -> tuple[str, str | None]:
    last, _, first = name.partition(" ")
    return last, first or None


def service_point_json(
    point: PickupLocation | tuple[str, str], pickup: bool = True
) -> dict[str, Any]:
    """mod-inventory-storage servicepoint.json (the fields mod-circulation's
    ``service-point.json`` embeds, plus ``id``)."""
    code, name = (point.code, point.name) if isinstance(point, PickupLocation) else point
    return {
        "id": folio_id("service-point", code),
        "name": name,
        "code": code,
        "discoveryDisplayName": name,
        "pickupLocation": pickup,
        "holdShelfExpiryPeriod": {"duration": 10, "intervalId": "Days"},
    }


def user_json(patron: PatronInfo, active: bool) -> dict[str, Any]:
    """mod-users userdata.json (the copy in ``mod-patron/ramls/userdata.json``)."""
    last, first = _names(patron.name)
    personal: dict[str, Any] = {"lastName": last, "preferredContactTypeId": "002"}
    if first:
        personal["firstName"] = first
    if patron.email:
        personal["email"] = patron.email
    if patron.phone:
        personal["phone"] = patron.phone
    if not patron.email:
        personal["preferredContactTypeId"] = "004" if patron.phone else "001"
    personal["dateOfBirth"] = instant(datetime.combine(patron.birth_date, time(), tzinfo=UTC))
    return {
        "id": folio_id("user", patron.patron_id),
        "username": patron.card_number,
        "barcode": patron.card_number,
        "active": active,
        "type": "patron",
        "patronGroup": folio_id("patron-group", patron.category),
        "expirationDate": end_of_day(patron.expiry_date),
        "personal": personal,
    }


def item_json(info: ItemInfo, library: SimulatedLibrary) -> dict[str, Any]:
    """mod-inventory ``/inventory/items/{id}`` (mod-inventory ramls/item.json): the storage
    item plus ``title`` and ``contributorNames`` from its instance."""
    return {
        "id": folio_id("item", info.item_id),
        "holdingsRecordId": holdings_id(info.biblio_id, info.home_branch),
        "barcode": info.barcode,
        "title": info.title,
        "contributorNames": [{"name": info.author}] if info.author else [],
        "callNumber": info.call_number,
        "status": {"name": ITEM_STATUS[info.status]},
        "materialType": {
            "id": folio_id("material-type", info.item_type.value),
            "name": MATERIAL_TYPE[info.item_type],
        },
        "permanentLoanType": (
            {"id": folio_id("loan-type", "reading-room"), "name": "Reading room"}
            if info.not_for_loan
            else {"id": folio_id("loan-type", "can-circulate"), "name": "Can circulate"}
        ),
        "effectiveLocation": {
            "id": folio_id("location", info.location),
            "name": _branch_name(library, info.location),
        },
    }


def holdings_id(biblio_id: int, branch: str) -> str:
    """One holdings record per title and home branch."""
    return folio_id("holdings", f"{biblio_id}:{branch}")


def _branch_name(library: SimulatedLibrary, code: str) -> str:
    for branch in library.data.branches:
        if branch.code == code:
            return branch.name
    return code


def loan_json(loan: LoanView, library: SimulatedLibrary) -> dict[str, Any]:
    """mod-circulation ramls/loan.json, as ``GET /circulation/loans`` extends it."""
    info = library.item_info(loan.barcode)
    biblio = library.biblio(loan.biblio_id)
    body: dict[str, Any] = {
        "id": folio_id("loan", loan.checkout_id),
        "userId": folio_id("user", loan.patron_id),
        "itemId": folio_id("item", loan.item_id),
        "item": {
            "id": folio_id("item", loan.item_id),
            "title": loan.title,
            "barcode": loan.barcode,
            "callNumber": info.call_number,
            "contributors": [{"name": biblio.author}] if biblio.author else [],
            "primaryContributor": biblio.author or None,
            "holdingsRecordId": holdings_id(loan.biblio_id, info.home_branch),
            "instanceId": folio_id("instance", loan.biblio_id),
            "materialType": {"name": MATERIAL_TYPE[loan.item_type]},
            "location": {"name": _branch_name(library, info.location)},
            "status": {"name": ITEM_STATUS[info.status]},
        },
        "loanDate": instant(loan.checked_out),
        "dueDate": end_of_day(loan.due),
        "action": "renewed" if loan.renewals else "checkedout",
        "status": {"name": "Open" if loan.returned is None else "Closed"},
        "renewalCount": loan.renewals,
        "loanPolicyId": LOAN_POLICY_ID,
        "checkoutServicePointId": folio_id("service-point", loan.branch),
        # mod-circulation embeds the (read-only) service point of the checkout.
        "checkoutServicePoint": {
            "id": folio_id("service-point", loan.branch),
            "code": loan.branch,
            "name": _branch_name(library, loan.branch),
        },
    }
    if body["item"]["primaryContributor"] is None:
        del body["item"]["primaryContributor"]
    return body


def request_json(
    hold: HoldView,
    library: SimulatedLibrary,
    extra: dict[str, Any],
    points: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """mod-circulation ramls/request.json, as ``GET /circulation/requests`` extends it.

    ``extra`` is what the face keeps that the library model has no field for: the request
    type and level, and the cancellation fields a PUT set.
    """
    patron = library.patron_by_id(hold.patron_id)
    last, first = _names(patron.name)
    requester: dict[str, Any] = {"lastName": last, "barcode": patron.card_number}
    if first:
        requester["firstName"] = first
    point = points.get(hold.pickup)
    body: dict[str, Any] = {
        "id": folio_id("request", hold.hold_id),
        "requestType": extra.get("requestType", "Hold"),
        "requestLevel": extra.get("requestLevel", "Item" if hold.item_level else "Title"),
        "requestDate": extra.get("requestDate", instant(hold.placed)),
        "requesterId": folio_id("user", hold.patron_id),
        "requester": requester,
        "instanceId": folio_id("instance", hold.biblio_id),
        "instance": {"title": hold.title},
        "status": REQUEST_STATUS[hold.state],
        "fulfillmentPreference": "Hold Shelf",
        "pickupServicePointId": folio_id("service-point", hold.pickup),
    }
    if point is not None:
        body["pickupServicePoint"] = {
            k: point[k] for k in ("name", "code", "discoveryDisplayName", "pickupLocation")
        }
    if hold.item_id is not None and hold.barcode is not None:
        info = library.item_info(hold.barcode)
        body["itemId"] = folio_id("item", hold.item_id)
        body["holdingsRecordId"] = holdings_id(hold.biblio_id, info.home_branch)
        body["item"] = {"barcode": hold.barcode}
    if hold.queue_position is not None:
        body["position"] = hold.queue_position
    if hold.state is HoldState.AWAITING_PICKUP and hold.deadline is not None:
        body["holdShelfExpirationDate"] = end_of_day(hold.deadline)
    if hold.state is HoldState.CANCELLED and hold.closed is not None:
        # Cancelled in the library model (a desk or the patron's own cancel elsewhere): who and
        # when, as mod-circulation records them; a cancel through this face overrides below.
        by = folio_id("user", "staff") if hold.cancelled_by_staff else body["requesterId"]
        body |= {"cancelledByUserId": by, "cancelledDate": instant(hold.closed)}
    for key in (*CANCELLATION_FIELDS, "patronComments", "requestExpirationDate"):
        if extra.get(key) is not None:
            body[key] = extra[key]
    return body


# The library's fee kinds as FOLIO fee/fine types: the automatic ones mod-feesfines creates
# ("Lost item fee", "Overdue fine", "Lost item processing fee") by name, and a manual type a
# library defines for damage (Settings > Fee/fine > Manual charges) in its own words.
FEE_FINE_TYPES = {
    "replacement": "Lost item fee",
    "damage": "汚損弁償金",
    "overdue": "Overdue fine",
    "processing": "Lost item processing fee",
    "other": "その他",
}
FEE_FINE_OWNER = "みどり市立図書館"


def account_json(patron: PatronInfo, fee: FeeView, library: SimulatedLibrary) -> dict[str, Any]:
    """mod-feesfines ``ramls/accountdata.json`` (not in the shared snapshot; see the tests'
    fees_reference): one fee/fine of the patron, open while something remains to pay."""
    created = datetime.combine(fee.created or date(2000, 1, 1), time(10, 0), tzinfo=TOKYO)
    paid = fee.amount - fee.outstanding
    status = "Outstanding" if paid == 0 else "Paid partially"
    body: dict[str, Any] = {
        "id": folio_id("account", fee.id),
        "amount": float(fee.amount),
        "remaining": float(fee.outstanding),
        "dateCreated": instant(created),
        "status": {"name": "Open" if fee.outstanding > 0 else "Closed"},
        "paymentStatus": {"name": status if fee.outstanding > 0 else "Paid fully"},
        "feeFineType": FEE_FINE_TYPES.get(fee.kind, "その他"),
        "feeFineOwner": FEE_FINE_OWNER,
        "userId": folio_id("user", patron.patron_id),
        "feeFineId": folio_id("feefine", fee.kind),
        "ownerId": folio_id("owner", "library"),
    }
    if fee.item_id is not None and fee.barcode is not None:
        info = library.item_info(fee.barcode)
        body.update(
            itemId=folio_id("item", fee.item_id),
            barcode=fee.barcode,
            title=fee.title or info.title,
            callNumber=info.call_number,
            materialType=MATERIAL_TYPE[info.item_type],
            itemStatus={"name": ITEM_STATUS.get(info.status, "Unknown")},
        )
    return body


def errors_json(message: str, code: str | None = None, **parameters: str) -> dict[str, Any]:
    """mod-circulation ramls/extended-errors.json with one error, as its ValidationError
    writes it: ``message``, ``parameters`` as key/value pairs, ``code`` when it has one."""
    error: dict[str, Any] = {
        "message": message,
        "parameters": [{"key": k, "value": v} for k, v in parameters.items()],
    }
    if code is not None:
        error["code"] = code
    return {"errors": [error], "total_records": 1}
