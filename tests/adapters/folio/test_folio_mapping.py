"""FOLIO's status words against the canonical vocabulary, checked against FOLIO's own enums."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from folio_schemas import CIRCULATION, EDGE, PATRON, example, schema
from hypothesis import given, settings
from hypothesis import strategies as st

from ils_gateway.adapters.folio import mapping
from ils_gateway.adapters.folio.mapping import FolioRequest
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.vocab import HoldStatus

TOKYO = ZoneInfo("Asia/Tokyo")


def folio_statuses() -> set[str]:
    """Every request status any of FOLIO's three schemas allows."""
    return (
        set(schema(f"{CIRCULATION}/request.json")["properties"]["status"]["enum"])
        | set(schema(f"{PATRON}/hold.json")["properties"]["status"]["enum"])
        | set(schema(f"{EDGE}/hold.json")["properties"]["status"]["enum"])
    )


def test_every_folio_status_is_mapped_and_nothing_else() -> None:
    assert set(mapping.REQUEST_STATUSES) == folio_statuses()


@pytest.mark.parametrize(
    ("folio", "canonical"),
    [
        ("Open - Not yet filled", HoldStatus.WAITING),
        ("Open - Awaiting pickup", HoldStatus.READY),
        ("Open - In transit", HoldStatus.IN_TRANSIT),
        ("Closed - Cancelled", HoldStatus.CANCELLED),
        ("Closed - Pickup expired", HoldStatus.EXPIRED),
        ("Closed - Filled", HoldStatus.FULFILLED),
    ],
)
def test_issue_statuses(folio: str, canonical: HoldStatus) -> None:
    assert mapping.hold_status(folio) is canonical


def test_open_statuses_are_the_active_ones() -> None:
    for folio, canonical in mapping.REQUEST_STATUSES.items():
        assert (folio in mapping.OPEN_STATUSES) == canonical.is_active, folio


@settings(max_examples=50)
@given(st.text(max_size=40).filter(lambda s: s not in mapping.REQUEST_STATUSES))
def test_any_other_status_is_the_peers_fault(status: str) -> None:
    with pytest.raises(BackendProtocolError):
        mapping.hold_status(status)


def test_edge_patron_hold_example_statuses_map() -> None:
    hold = example(f"{EDGE}/examples/hold.json")
    assert hold["status"] == "Closed - Cancelled"
    assert mapping.hold_status(hold["status"]) is HoldStatus.CANCELLED


def test_request_example_becomes_a_hold() -> None:
    record = FolioRequest.model_validate(example(f"{CIRCULATION}/examples/request.json"))
    hold = mapping.hold(record, TOKYO, {record.pickupServicePointId or "": "cd1"})
    assert hold.status is HoldStatus.WAITING and hold.pickup_library == "cd1"
    assert hold.created is not None and hold.created.isoformat() == "2023-03-23"
    assert hold.expires is not None and hold.expires.isoformat() == "2023-06-23"
