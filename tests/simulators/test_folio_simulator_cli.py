"""``ils-gateway simulate folio`` option parsing, and the CQL subset the face understands."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.simulators import folio_cql
from ils_gateway.simulators.folio_cli import parse_allowed, parse_latency


def test_latency_for_all_or_per_operation() -> None:
    assert parse_latency("") == {}
    assert parse_latency("0.05") == {"*": 0.05}
    assert parse_latency("renew=0.2, place_hold=0.5") == {"renew": 0.2, "place_hold": 0.5}
    for bad in ("teleport=1", "renew=fast", "-1"):
        with pytest.raises(click.BadParameter):
            parse_latency(bad)


def test_allowed_service_points_per_request_type() -> None:
    assert parse_allowed(()) is None
    assert parse_allowed(("Hold=CEN, KITA", "Page=CEN")) == {
        "Hold": frozenset({"CEN", "KITA"}),
        "Page": frozenset({"CEN"}),
    }
    for bad in ("Recall=CEN", "CEN"):
        with pytest.raises(click.BadParameter):
            parse_allowed((bad,))


def test_command_is_registered_beside_koha() -> None:
    result = CliRunner().invoke(main, ["simulate", "folio", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--latency", "--tenant", "--tlr", "--allowed"):
        assert option in result.output


RECORDS = [
    {"id": "1", "barcode": "100", "status": {"name": "Open"}, "active": True, "date": "b"},
    {"id": "2", "barcode": "1000", "status": {"name": "Closed"}, "active": False, "date": "a"},
    {"id": "3", "barcode": 'x"y*', "status": {"name": "Open - Awaiting pickup"}, "date": "c"},
]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ('barcode=="100"', ["1"]),
        ('barcode=="100*"', ["1", "2"]),
        (r'barcode=="x\"y\*"', ["3"]),
        ("status.name==Open", ["1"]),
        ('status.name=="Open*"', ["1", "3"]),
        ("status.name=awaiting", ["3"]),
        ("active==true", ["1"]),
        ('barcode<>"100"', ["2", "3"]),
        ('(barcode=="100" or barcode=="1000") not active==false', ["1"]),
        ("cql.allRecords=1 sortby date", ["2", "1", "3"]),
        ("cql.allRecords=1 sortby date/sort.descending", ["3", "1", "2"]),
    ],
)
def test_cql_subset(query: str, ids: list[str]) -> None:
    assert [r["id"] for r in folio_cql.select(RECORDS, query)] == ids


@pytest.mark.parametrize(
    "query", ["barcode any 1", "barcode==", '(barcode=="1"', "x==1 sortby a/b"]
)
def test_cql_outside_the_subset_is_an_error(query: str) -> None:
    with pytest.raises(folio_cql.CqlError):
        folio_cql.select(RECORDS, query)
