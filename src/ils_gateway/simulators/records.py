"""The simulated ILS's stored records and the JSON shape they are saved in.

Records are plain mutable dataclasses owned by ``SimulatedLibrary``; faces never change them
directly but read the frozen views the library's operations return. ``LibraryData`` is the
whole dataset, the shape of ``--data FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from ils_gateway.simulators.policy import HoldState, HouseRules, ItemType


class BranchKind(StrEnum):
    """A building or a vehicle."""

    LIBRARY = "library"
    BOOKMOBILE = "bookmobile"


class ItemStatus(StrEnum):
    """Where a copy physically is, in the ILS's own words."""

    AVAILABLE = "available"
    CHECKED_OUT = "checked_out"
    ON_ORDER = "on_order"
    CATALOGUING = "cataloguing"
    IN_TRANSIT = "in_transit"
    HOLD_SHELF = "hold_shelf"
    RESHELVING = "reshelving"
    CLAIMED_RETURNED = "claimed_returned"
    LOST = "lost"
    MISSING = "missing"


class PatronCategory(StrEnum):
    """Patron categories the ILS knows."""

    ADULT = "adult"
    CHILD = "child"
    STUDENT = "student"


class ContactMethod(StrEnum):
    """How the library tells a patron their hold is ready."""

    EMAIL = "email"
    PHONE = "phone"
    NONE = "none"


class FeeKind(StrEnum):
    """What a fee is for (the subset a Japanese public library charges)."""

    REPLACEMENT = "replacement"  # lost item (紛失弁償)
    DAMAGE = "damage"  # damaged item (汚損・破損弁償)
    OVERDUE = "overdue"  # overdue fine (延滞金), for libraries that charge one
    PROCESSING = "processing"  # card reissue and the like
    OTHER = "other"


@dataclass
class Station:
    """A bookmobile stop (ステーション) that can serve as a pickup location."""

    code: str
    name: str
    schedule: str


@dataclass
class Branch:
    """A library building or a bookmobile."""

    code: str
    name: str
    kind: BranchKind = BranchKind.LIBRARY
    pickup: bool = True
    stations: list[Station] = field(default_factory=list)


@dataclass
class Biblio:
    """A title record; copies (items) and title-level holds point at it."""

    id: int
    title: str
    author: str
    item_type: ItemType
    publisher: str = ""
    year: int | None = None
    series: str | None = None
    volume: int | None = None
    # New-arrival alerts (SDI): subject headings as a Japanese catalogue (NDLSH, BSH) records
    # them; empty where the sample has none.
    subjects: list[str] = field(default_factory=list)
    isbn: str | None = None  # ISBN-13 (020 $a), None for records without one
    # Readings (ヨミ) in katakana, as Japanese catalogues record them (JAPAN/MARC 245/100
    # transcriptions, NDL's dcndl:titleTranscription): what kana search matches.
    title_reading: str = ""
    author_reading: str = ""


@dataclass
class Item:
    """One physical copy."""

    id: int
    barcode: str
    biblio_id: int
    home_branch: str
    location: str  # branch where the copy is now (or is heading, when in transit)
    call_number: str
    status: ItemStatus = ItemStatus.AVAILABLE
    not_for_loan: bool = False  # reference-only (禁帯出)
    interlibrary_from: str | None = None  # lending library of an inter-library loan
    acquired: date | None = None  # 受入日 (Koha's acquisition_date); None: long held
    last_seen: date | None = None  # Koha's datelastseen: the day a 17 last saw the copy


@dataclass
class Patron:
    """A registered user of the library."""

    id: int
    card_number: str
    password: str
    name: str
    name_kana: str
    category: PatronCategory
    home_branch: str
    birth_date: date
    expiry_date: date
    last_activity: date
    email: str | None = None
    phone: str | None = None
    address: str = ""
    temporary_password: bool = False
    block_note: str | None = None  # set by staff (or block patron); None: not blocked
    note: str = ""  # what the demo patron is for


@dataclass
class Loan:
    """A checkout; closed when ``returned`` is set."""

    id: int
    item_id: int
    patron_id: int
    branch: str
    checked_out: datetime
    due: date
    renewals: int = 0
    returned: datetime | None = None


@dataclass
class Hold:
    """A reservation of a title (or of one copy, when ``item_level``)."""

    id: int
    patron_id: int
    biblio_id: int
    pickup: str
    placed: datetime
    state: HoldState = HoldState.PENDING
    rank: int = 0  # queue order among the title's pending holds: lower goes first
    item_id: int | None = None  # the requested copy, or the copy allocated once found
    item_level: bool = False
    state_since: datetime | None = None
    suspended: bool = False
    suspended_until: date | None = None
    deadline: date | None = None  # pickup deadline while awaiting pickup
    extensions: int = 0
    cancellation_requested: bool = False
    contact: ContactMethod = ContactMethod.EMAIL
    note: str = ""  # a purchase request's text
    cancelled_by_staff: bool = False  # cancelled by the library, not the patron


@dataclass
class Fee:
    """Money a patron owes; settled when ``paid`` reaches ``amount`` (yen)."""

    id: int
    patron_id: int
    kind: FeeKind
    amount: int
    description: str
    paid: int = 0
    item_id: int | None = None  # the copy charged for, if any
    created: date | None = None  # the day the charge was made

    @property
    def outstanding(self) -> int:
        """Yen still owed."""
        return self.amount - self.paid


@dataclass
class LibraryData:
    """A whole simulated library: the shape of a ``--data FILE`` JSON dataset."""

    name: str
    rules: HouseRules = field(default_factory=HouseRules)
    branches: list[Branch] = field(default_factory=list)
    biblios: list[Biblio] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    patrons: list[Patron] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)
