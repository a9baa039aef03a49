"""House rules of the simulated ILS: what the library's own system enforces.

These are the ILS's rules, not the gateway's tenant policy (``ils_gateway.tenants.policy``):
a real library configures both, and the two can disagree, which is exactly what the gateway
must cope with. Defaults describe a typical Japanese public library: one renewal of 14 days
from the renewal day, none while others wait or once overdue, inter-library loans and art
reproductions not renewable, ready holds kept 10 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ItemType(StrEnum):
    """The ILS's own item type codes (like Koha's itemtypes), with the label staff see."""

    BOOK = "BK"
    PICTURE_BOOK = "PB"
    MAGAZINE = "MG"
    KAMISHIBAI = "KM"
    CD = "CD"
    DVD = "DVD"
    CASSETTE = "CT"
    ART = "ART"

    @property
    def label(self) -> str:
        """The Japanese name of the item type."""
        return _ITEM_TYPE_LABELS[self]

    @property
    def is_audiovisual(self) -> bool:
        """True for sound and video media."""
        return self in (ItemType.CD, ItemType.DVD, ItemType.CASSETTE)


_ITEM_TYPE_LABELS = {
    ItemType.BOOK: "図書",
    ItemType.PICTURE_BOOK: "絵本",
    ItemType.MAGAZINE: "雑誌",
    ItemType.KAMISHIBAI: "紙芝居",
    ItemType.CD: "CD",
    ItemType.DVD: "DVD",
    ItemType.CASSETTE: "カセットテープ",
    ItemType.ART: "複製絵画",
}


class OverdueRenewal(StrEnum):
    """Whether an overdue loan may be renewed."""

    ALLOW = "allow"  # overdue loans renew like any other
    IN_PERIOD_ONLY = "in_period_only"  # only before the due date has passed
    # Saitama: allowed, but the new period is ``overdue_grace_days`` minus the days overdue,
    # and refused once more than ``overdue_grace_days`` overdue.
    SHORTENED = "shortened"


class RenewalBasis(StrEnum):
    """What the new due date of a renewal counts from."""

    RENEWAL_DAY = "renewal_day"
    DUE_DATE = "due_date"


class HoldState(StrEnum):
    """The ILS's own hold states (deliberately not the gateway's canonical vocabulary).

    Suspension is a separate flag on a pending hold, as in Koha.
    """

    SUGGESTED = "suggested"  # purchase request under review by selectors
    ON_ORDER = "on_order"  # bought or requested from another library, not yet here
    PENDING = "pending"  # in the queue, no copy found yet
    TRANSIT = "transit"  # a copy was found and travels to the pickup location
    PROCESSING = "processing"  # the copy arrived and is being put on the hold shelf
    AWAITING_PICKUP = "awaiting_pickup"  # on the hold shelf until the pickup deadline
    CANCELLED = "cancelled"
    LAPSED = "lapsed"  # not collected by the pickup deadline
    FILLED = "filled"  # checked out to the patron

    @property
    def is_open(self) -> bool:
        """True while the hold is still a live request."""
        return self not in (HoldState.CANCELLED, HoldState.LAPSED, HoldState.FILLED)

    @property
    def is_found(self) -> bool:
        """True once a copy is allocated to the hold (Koha's ``found`` is set)."""
        return self in (HoldState.TRANSIT, HoldState.PROCESSING, HoldState.AWAITING_PICKUP)


@dataclass(frozen=True)
class HoldLimit:
    """At most ``max`` open holds on titles of the listed item types."""

    name: str
    item_types: tuple[ItemType, ...]
    max: int


@dataclass(frozen=True)
class HouseRules:
    """Every rule the simulated ILS enforces; one instance per simulated library."""

    # Loans
    loan_days: int = 14
    loan_days_by_type: dict[str, int] = field(default_factory=dict)
    # Renewals
    max_renewals: int = 1
    renewal_days: int = 14
    renewal_basis: RenewalBasis = RenewalBasis.RENEWAL_DAY
    renew_when_others_wait: bool = False
    overdue_renewal: OverdueRenewal = OverdueRenewal.IN_PERIOD_ONLY
    overdue_grace_days: int = 14
    earliest_renewal_days_before_due: int | None = None  # None: any time
    renew_interlibrary_loans: bool = False
    renewal_excluded_types: tuple[ItemType, ...] = (ItemType.ART,)
    renewal_excluded_branches: tuple[str, ...] = ()  # loans made there (e.g. a bookmobile)
    # Holds
    max_holds: int | None = 20
    hold_limits: tuple[HoldLimit, ...] = (
        HoldLimit("av", (ItemType.CD, ItemType.DVD, ItemType.CASSETTE), 6),
    )
    overdue_days_blocking_holds: int | None = 4  # None: overdue loans never block holds
    not_holdable_types: tuple[ItemType, ...] = (ItemType.ART,)
    cancellable_states: tuple[HoldState, ...] = (HoldState.PENDING,)
    # A hold already on the shelf that may not be cancelled gets a cancellation request
    # instead (Koha's "cancellation requested", which staff act on).
    cancellation_request_when_found: bool = True
    modifiable_states: tuple[HoldState, ...] = (HoldState.PENDING,)
    bookmobile_contact_phone_only: bool = True
    pickup_shelf_days: int = 10
    pickup_extension_days: int = 5
    pickup_extensions: int = 1
    transit_days: int = 1
    processing_hours: int = 2
    # Fines: Japanese public libraries charge none for lateness (None); a library that does
    # charges this many yen a day overdue when the copy comes back, at most the cap.
    overdue_fine_per_day: int | None = None
    overdue_fine_cap: int | None = None
    # Patrons
    inactive_block_years: int | None = 3  # card unused this long is blocked; None: never
    password_min_length: int = 4
    password_max_length: int = 16

    def loan_period(self, item_type: ItemType) -> int:
        """Days a new loan of this item type runs."""
        return self.loan_days_by_type.get(item_type.value, self.loan_days)
