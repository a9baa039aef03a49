"""Helpers for the list-service tests: the store on SQLite and PostgreSQL, a Koha-faced simulated
library the Koha adapter talks to over real HTTP on localhost, and tenants built from TOML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig
from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import (
    Biblio,
    Branch,
    Item,
    ItemStatus,
    LibraryData,
    Loan,
    PatronCategory,
)
from ils_gateway.simulators.records import Patron as SimPatron
from ils_gateway.tenants.loader import parse_tenants
from ils_gateway.tenants.models import TenantConfig

SECRET = b"mylists-test-secret-0123456789abcdef"
NOW = datetime(2026, 1, 10, 10, 0, tzinfo=TOKYO)
CARD, PASSWORD = "0000000001", "pass1234"
OTHER_CARD, OTHER_PASSWORD = "0000000002", "pass5678"

TENANT_TOML = """
[[tenants]]
id = "{id}"
name = "テスト市立図書館"

[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:9"
client_id = "koha-demo-gateway"
client_secret = "koha-demo-secret"

[tenants.policy.holds]
sequences = true
skip_allowed = true
pickup_extension = {{ times = 1 }}
cancelled_history_days = 7
cancelled_history_deletable = true
ebook_cancelled_in_history = false

[tenants.policy.lists]
basket_size = 3
max_shelves = 2
max_items_per_shelf = 2

[tenants.policy.email]
forbid_leading_symbol = true
forbid_dot_before_at = true
forbid_consecutive_dots = true

[tenants.policy.disabled_features]
kiosk = ["bookshelves", "reading_history"]
"""


def make_tenant(tenant_id: str = "testlib", extra: str = "") -> TenantConfig:
    """A tenant from TOML, as the loader reads a tenant file."""
    return parse_tenants(TENANT_TOML.format(id=tenant_id) + extra, "<test>").tenants[0]


class Clock(ManualClock):
    """A clock the test moves by hand; the simulator, store and services share it."""

    def __init__(self, now: datetime = NOW) -> None:
        super().__init__(now)


def _patron(pid: int, card: str, password: str, name: str, branch: str) -> SimPatron:
    return SimPatron(
        pid,
        card,
        password,
        name,
        "カナ",
        PatronCategory.ADULT,
        branch,
        date(1980, 4, 1),
        date(2028, 3, 31),
        date(2026, 1, 3),
        email="patron@example.jp",
    )


def library_data() -> LibraryData:
    """Three volumes of a series all lent out (so holds wait), two other titles, two patrons."""
    biblios = [
        Biblio(1, "三国志 1", "吉川英治", ItemType.BOOK, series="三国志", volume=1),
        Biblio(2, "三国志 2", "吉川英治", ItemType.BOOK, series="三国志", volume=2),
        Biblio(3, "三国志 3", "吉川英治", ItemType.BOOK, series="三国志", volume=3),
        Biblio(4, "吾輩は猫である", "夏目漱石", ItemType.BOOK),
        Biblio(5, "ぐりとぐら", "中川李枝子", ItemType.PICTURE_BOOK),
    ]
    items = [
        Item(101, "2000101", 1, "CEN", "CEN", "913/ヨ/1", ItemStatus.CHECKED_OUT),
        Item(102, "2000102", 2, "CEN", "CEN", "913/ヨ/2", ItemStatus.CHECKED_OUT),
        Item(103, "2000103", 3, "CEN", "CEN", "913/ヨ/3", ItemStatus.CHECKED_OUT),
        Item(104, "2000104", 4, "CEN", "CEN", "913/ナ", ItemStatus.CHECKED_OUT),
        Item(105, "2000105", 5, "CEN", "CEN", "E/ナ"),
    ]
    lent = datetime(2026, 1, 3, 11, 0, tzinfo=TOKYO)
    due = date(2026, 1, 17)
    return LibraryData(
        name="テスト市立図書館",
        branches=[Branch("CEN", "中央図書館"), Branch("NIS", "西図書館")],
        biblios=biblios,
        items=items,
        patrons=[
            _patron(1, CARD, PASSWORD, "山田 花子", "CEN"),
            _patron(2, OTHER_CARD, OTHER_PASSWORD, "佐藤 一郎", "NIS"),
        ],
        # Patron 2 borrows every copy of the series and the novel.
        loans=[Loan(i, 100 + i, 2, "CEN", lent, due) for i in range(1, 5)],
    )


@dataclass
class Library:
    """The simulated library, its Koha face's URL and a Koha adapter talking to it."""

    sim: SimulatedLibrary
    url: str
    backend: KohaBackend

    def koha(self) -> KohaBackend:
        """Another adapter on the same Koha (as a second gateway process would have)."""
        return koha_backend(self.url, self.sim)


def koha_backend(url: str, sim: SimulatedLibrary) -> KohaBackend:
    config = KohaBackendConfig(
        kind="koha",
        base_url=url,
        client_id="koha-demo-gateway",
        client_secret="koha-demo-secret",
        retry_backoff=0,
    )
    return KohaBackend(config, today=sim.today)
