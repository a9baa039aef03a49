"""The seeded sample library: determinism, JSON round trip, and that every demo story is there."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.outcomes import PatronBlock, RefusalToken
from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.simulators.records import BranchKind, ItemStatus, PatronCategory
from ils_gateway.simulators.sample_data import (
    DEMO_PATRONS,
    SAMPLE_NOW,
    build_sample_data,
    demo_credentials,
    sample_library,
)

TODAY = SAMPLE_NOW.date()

# How a face would name the ILS's states in the gateway's canonical vocabulary.
CANONICAL = {
    (HoldState.SUGGESTED, False): "under_review",
    (HoldState.ON_ORDER, False): "ordered",
    (HoldState.PENDING, False): "waiting",
    (HoldState.PENDING, True): "suspended",
    (HoldState.TRANSIT, False): "in_transit",
    (HoldState.PROCESSING, False): "preparing",
    (HoldState.AWAITING_PICKUP, False): "ready",
    (HoldState.CANCELLED, False): "cancelled",
    (HoldState.LAPSED, False): "expired",
    (HoldState.FILLED, False): "fulfilled",
}


@pytest.fixture(scope="module")
def lib() -> SimulatedLibrary:
    return sample_library()


def test_same_seed_same_json_other_seed_other_data():
    first = sample_library(seed=1).to_json()
    assert first == sample_library(seed=1).to_json()
    assert first != sample_library(seed=2).to_json()


def test_json_round_trip(tmp_path, lib):
    path = tmp_path / "demo_library.json"
    path.write_text(lib.to_json(), encoding="utf-8")
    loaded = SimulatedLibrary.from_json(path, ManualClock(SAMPLE_NOW))
    assert loaded.to_json() == lib.to_json()
    assert loaded.patron_info("1000000001") == lib.patron_info("1000000001")
    assert "山田 花子" in path.read_text(encoding="utf-8")  # Japanese stays readable


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError):
        SimulatedLibrary.from_dict({"format": 99, "library": {}}, ManualClock(SAMPLE_NOW))


def test_counts(lib):
    data = lib.data
    assert 180 <= len(data.items) <= 230
    assert len(data.patrons) == 20
    assert len({i.barcode for i in data.items}) == len(data.items)
    assert len({p.card_number for p in data.patrons}) == 20
    # Every title has a copy but the purchase suggestion (publisher 未定; the new arrivals,
    # 受入 in the last weeks, come after it).
    assert all(
        any(i.biblio_id == b.id for i in data.items) for b in data.biblios if b.publisher != "未定"
    )
    types = Counter(b.item_type for b in data.biblios)
    assert all(types[t] for t in ItemType)
    series = [b for b in data.biblios if b.series == "星降る町の図書館"]
    assert [b.volume for b in series] == [1, 2, 3, 4, 5, 6]


def test_branches_and_bookmobile_stations(lib):
    bookmobiles = [b for b in lib.data.branches if b.kind is BranchKind.BOOKMOBILE]
    assert len(bookmobiles) == 1 and len(bookmobiles[0].stations) == 3
    names = [p.name for p in lib.pickup_locations()]
    assert "中央図書館" in names and any("ステーション" in n for n in names)


def test_every_canonical_hold_state_is_present(lib):
    seen = {CANONICAL[(h.state, h.suspended)] for h in lib.data.holds}
    assert seen == set(CANONICAL.values())


def test_hanako_has_a_hold_in_every_open_state(lib):
    holds = lib.holds("1000000001")
    assert {CANONICAL[(h.state, h.suspended)] for h in holds} == {
        "under_review",
        "ordered",
        "waiting",
        "suspended",
        "in_transit",
        "preparing",
        "ready",
    }
    ready = next(h for h in holds if h.state is HoldState.AWAITING_PICKUP)
    assert ready.deadline is not None and ready.deadline > TODAY
    waiting = next(h for h in holds if h.state is HoldState.PENDING and not h.suspended)
    assert waiting.queue_position is not None and waiting.queue_position > 1


def test_hanakos_loans(lib):
    loans = {v.title: v for v in lib.loans("1000000001")}
    assert loans["こころ"].due == TODAY + timedelta(days=2)  # due soon
    assert loans["細雪"].renewals == 1
    assert loans["細雪"].renewal_refusal.token is RefusalToken.TOO_MANY
    assert loans["星降る町の図書館 1"].renewal_refusal.token is RefusalToken.ON_RESERVE


def test_problem_patrons(lib):
    assert PatronBlock.MANUAL in lib.patron_info("1000000002").blocks
    assert lib.patron_info("1000000003").blocks == (PatronBlock.EXPIRED,)
    assert lib.authenticate("1000000004", "4825170396").temporary_password
    assert lib.patron_info("1000000008").blocks == (PatronBlock.INACTIVE,)
    overdue = sorted(v.overdue_days for v in lib.loans("1000000005"))
    assert overdue == [5, 20]
    assert {v.renewal_refusal.token for v in lib.loans("1000000005")} == {RefusalToken.OVERDUE}
    child = lib.patron_info("1000000006")
    assert child.category == PatronCategory.CHILD.value and child.email is None
    assert lib.patron_info("1000000007").email is None


def test_interlibrary_and_slightly_overdue_patron(lib):
    loans = {v.title: v for v in lib.loans("1000000009")}
    assert loans["みどり県の民俗"].interlibrary
    assert loans["みどり県の民俗"].renewal_refusal.token is RefusalToken.INTERLIBRARY_LOAN
    assert loans["檸檬"].overdue_days == 3


def test_av_limit_fees_bookmobile_and_history(lib):
    sakura = lib.holds("1000000010")
    assert sum(1 for h in sakura if h.item_type.is_audiovisual) == 6
    assert lib.patron_info("1000000011").fee_total > 0
    daisuke = lib.holds("1000000012")
    assert any(h.pickup == "BM02" and h.state is HoldState.AWAITING_PICKUP for h in daisuke)
    assert any(v.branch == "BM" for v in lib.loans("1000000012"))
    satomi = lib.holds("1000000013", include_closed=True)
    assert {h.state for h in satomi} >= {
        HoldState.CANCELLED,
        HoldState.LAPSED,
        HoldState.FILLED,
    }
    assert any(h.extensions == 1 for h in satomi)


def test_item_statuses_for_a_self_check(lib):
    by_status = Counter(i.status for i in lib.data.items)
    for status in (ItemStatus.AVAILABLE, ItemStatus.CHECKED_OUT, ItemStatus.ON_ORDER):
        assert by_status[status]
    codes = {lib.item_info(i.barcode).circulation_status for i in lib.data.items}
    assert {"02", "03", "04", "06", "08", "10", "12"} <= codes


def test_demo_patrons_can_log_in(lib):
    for demo in DEMO_PATRONS:
        assert lib.authenticate(demo.card_number, demo.password).ok, demo.card_number


def test_demo_credentials_table(lib):
    text = demo_credentials(lib)
    for demo in DEMO_PATRONS:
        assert f"`{demo.card_number}` | `{demo.password}`" in text
    assert "禁帯出" in text and "複製絵画" in text and "取置中" in text


def test_sample_data_is_valid_json_shape():
    raw = json.loads(SimulatedLibrary(build_sample_data(3), ManualClock(SAMPLE_NOW)).to_json())
    assert raw["format"] == 1 and raw["library"]["name"] == "みどり市立図書館"
    assert raw["library"]["rules"]["max_renewals"] == 1
