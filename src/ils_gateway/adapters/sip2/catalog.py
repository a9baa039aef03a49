"""A copy as SIP2's item information (18) describes it, for the catalogue's record view.

SIP2 has no search (issue 19): a SIP2 tenant's records come from its SRU server, whose 852
fields name the copies' barcodes; the 17/18 of each barcode says where the copy stands now
(circulation status, AH due date, CF hold queue length, AQ permanent location).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ils_gateway.adapters.sip2.mapping import sip_day
from ils_gateway.domain.catalog import Copy
from ils_gateway.domain.vocab import CopyStatus
from ils_gateway.sip2.fields import CirculationStatus
from ils_gateway.sip2.messages import ItemInformationResponse

# SIP2 2.00 circulation status (18, fixed field 1) → the catalogue's copy status.
COPY_STATUS: dict[CirculationStatus, CopyStatus] = {
    CirculationStatus.OTHER: CopyStatus.UNAVAILABLE,
    CirculationStatus.ON_ORDER: CopyStatus.ON_ORDER,
    CirculationStatus.AVAILABLE: CopyStatus.AVAILABLE,
    CirculationStatus.CHARGED: CopyStatus.ON_LOAN,
    CirculationStatus.CHARGED_NOT_TO_BE_RECALLED: CopyStatus.ON_LOAN,
    CirculationStatus.IN_PROCESS: CopyStatus.IN_PROCESSING,
    CirculationStatus.RECALLED: CopyStatus.ON_LOAN,
    CirculationStatus.WAITING_ON_HOLD_SHELF: CopyStatus.ON_HOLD_SHELF,
    CirculationStatus.WAITING_TO_BE_RESHELVED: CopyStatus.IN_PROCESSING,
    CirculationStatus.IN_TRANSIT: CopyStatus.IN_TRANSIT,
    CirculationStatus.CLAIMED_RETURNED: CopyStatus.MISSING,
    CirculationStatus.LOST: CopyStatus.MISSING,
    CirculationStatus.MISSING: CopyStatus.MISSING,
}
_ON_LOAN = frozenset({CopyStatus.ON_LOAN})


def copy_from_18(msg: ItemInformationResponse, tz: ZoneInfo) -> Copy:
    """The copy an 18 describes (its AB is the barcode; the caller checked it was asked)."""
    status = COPY_STATUS.get(msg.circulation_status, CopyStatus.UNAVAILABLE)
    queue = (msg.hold_queue_length or "").strip()
    return Copy(
        barcode=msg.item_identifier or "",
        branch=(msg.permanent_location or "").strip() or None,
        status=status,
        due_date=sip_day(msg.due_date, tz) if status in _ON_LOAN else None,
        hold_queue_length=int(queue) if queue.isdigit() else None,
    )
