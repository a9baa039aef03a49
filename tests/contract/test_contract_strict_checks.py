"""Checks that used to pass where they should not (issue 12), each shown failing — exactly that
check, with the reason in the report — on a target that has the fault, and passing on the
simulators:

- a capability probe that ends in a dropped connection or a protocol error;
- login and summary counts (loans, overdue, holds, ready holds) that disagree with the lists,
  zero counts included;
- hold lists with empty ids (``""``, ``title:``) or an id listed twice.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from contract_sims import KOHA_CLIENT_ID, KOHA_CLIENT_SECRET, on_library_clock, start_koha

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.contract.report import Result
from ils_gateway.contract.runner import ContractRun, run_contract_suite
from ils_gateway.contract.target import ContractOptions
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import BatchResult, Hold, Patron, RenewalResult
from ils_gateway.simulators.broken import Sip2Fault, start_broken_sip2_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW, sample_library

HANAKO = DEMO_PATRONS[0]  # 3 loans, 7 holds (1 ready)
LATE = DEMO_PATRONS[4]  # 2 loans, both overdue
SUMMARY_CHECK = "test_contract_patron.py::test_summary_counts_match_lists"
HOLDS_CHECK = "test_contract_holds.py::test_holds_well_formed"

SIP2_TENANT = """
[[tenants]]
id = "sip2-under-test"
name = "テスト図書館"

[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = {port}
institution_id = "TEST"
title_hold_entries = "record_id_title"

[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"
[[tenants.pickup_libraries]]
code = "KITA"
name = "北図書館"
"""

KOHA_TENANT = """
[[tenants]]
id = "koha-under-test"
name = "テスト図書館"

[tenants.backend]
kind = "koha"
base_url = "{url}"
client_id = "{client_id}"
client_secret = "{client_secret}"
read_attempts = 1
"""


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library(clock=ManualClock(SAMPLE_NOW))


@pytest.fixture
def spoilers(
    monkeypatch: pytest.MonkeyPatch, library: SimulatedLibrary
) -> list[Callable[[ILSBackend], None]]:
    """The suite's backends on the library's clock, each handed to the functions a test
    appends here before the checks use it."""
    found: list[Callable[[ILSBackend], None]] = []
    on_library_clock(monkeypatch, library, found)
    return found


def _run(config: Path, card: str, password: str) -> tuple[ContractRun, str]:
    out = io.StringIO()
    options = ContractOptions(config=config, patron=card, password=password)
    run = run_contract_suite(options, out=out)
    return run, out.getvalue()


def _failed(run: ContractRun) -> set[str]:
    return run.by_result(Result.FAIL) | run.by_result(Result.ERROR)


def _why(run: ContractRun, check: str) -> str:
    return next(o.why for name, o in run.outcomes.items() if name.endswith(check))


def _on_sip2(
    loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    fault: Sip2Fault,
    patron: object = HANAKO,
) -> tuple[ContractRun, str]:
    server, _ = loop.run(start_broken_sip2_simulator(library, fault))
    config = tmp_path / "tenant.toml"
    config.write_text(SIP2_TENANT.format(port=server.port), encoding="utf-8")
    try:
        return _run(config, patron.card_number, patron.password)  # type: ignore[attr-defined]
    finally:
        loop.run(server.aclose())


def _on_koha(
    loop: BackgroundLoop, tmp_path: Path, library: SimulatedLibrary, patron: object
) -> tuple[ContractRun, str]:
    runner, url = loop.run(start_koha(library))
    config = tmp_path / "tenant.toml"
    text = KOHA_TENANT.format(url=url, client_id=KOHA_CLIENT_ID, client_secret=KOHA_CLIENT_SECRET)
    config.write_text(text, encoding="utf-8")
    try:
        return _run(config, patron.card_number, patron.password)  # type: ignore[attr-defined]
    finally:
        loop.run(runner.cleanup())


# --- capability probes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "probe", "said"),
    [
        (
            Sip2Fault.CHECKIN_DROPS_CONNECTION,
            "test_contract_capabilities.py::test_capability_declared_matches_behaviour[checkin]",
            "the ACS closed the connection",
        ),
        (
            Sip2Fault.CANCEL_ANSWERED_WITH_RESEND,
            "test_contract_capabilities.py::test_capability_declared_matches_behaviour"
            "[cancel_hold]",
            "no readable answer to 15 after 3 resends",
        ),
    ],
    ids=[Sip2Fault.CHECKIN_DROPS_CONNECTION.value, Sip2Fault.CANCEL_ANSWERED_WITH_RESEND.value],
)
def test_a_probe_ending_in_a_broken_exchange_fails(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
    fault: Sip2Fault,
    probe: str,
    said: str,
) -> None:
    run, text = _on_sip2(sim_loop, tmp_path, library, fault)

    assert _failed(run) == {probe}, text
    why = _why(run, probe)
    assert "declared native" in why and said in why, why


# --- summary counts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "patron", "expected"),
    [
        (
            Sip2Fault.SUMMARY_COUNTS_ZERO,
            HANAKO,
            (
                "login: loans_count 0 but 3 loans listed",
                "login: holds_count 0 but 7 active holds listed",
                "login: holds_ready_count 0 but 1 ready holds listed",
                "summary: loans_count 0 but 3 loans listed",
                "summary: holds_count 0 but 7 active holds listed",
                "summary: holds_ready_count 0 but 1 ready holds listed",
            ),
        ),
        (
            Sip2Fault.OVERDUE_COUNT_ZERO,
            LATE,
            (
                "login: overdue_count 0 but 2 overdue loans listed",
                "summary: overdue_count 0 but 2 overdue loans listed",
            ),
        ),
    ],
    ids=[Sip2Fault.SUMMARY_COUNTS_ZERO.value, Sip2Fault.OVERDUE_COUNT_ZERO.value],
)
def test_counts_that_disagree_with_the_lists_fail_the_summary_check(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
    fault: Sip2Fault,
    patron: object,
    expected: tuple[str, ...],
) -> None:
    run, text = _on_sip2(sim_loop, tmp_path, library, fault, patron)

    assert _failed(run) == {SUMMARY_CHECK}, text
    why = _why(run, SUMMARY_CHECK)
    for problem in expected:
        assert problem in why, why
    assert why.count(" but ") == len(expected), why


@pytest.mark.parametrize(
    ("backend", "patron"),
    [
        ("sip2", HANAKO),
        ("sip2", LATE),
        ("koha", HANAKO),
        ("koha", LATE),
    ],
    ids=["sip2-holds", "sip2-overdue", "koha-holds", "koha-overdue"],
)
def test_summary_counts_match_lists_on_each_simulator(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
    backend: str,
    patron: object,
) -> None:
    """The check runs (never skips) and passes for patrons with loans, overdue loans, holds
    and ready holds, on every simulator."""
    if backend == "sip2":
        run, text = _on_sip2(sim_loop, tmp_path, library, Sip2Fault.NONE, patron)
    else:
        run, text = _on_koha(sim_loop, tmp_path, library, patron)
    assert run.outcomes[_node(run, SUMMARY_CHECK)].result is Result.PASS, text


def _node(run: ContractRun, check: str) -> str:
    return next(name for name in run.outcomes if name.endswith(check))


# --- hold ids ------------------------------------------------------------------------------


def test_a_hold_listed_twice_fails_the_holds_check(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
) -> None:
    run, text = _on_sip2(sim_loop, tmp_path, library, Sip2Fault.REPEATED_HOLD_ENTRY)

    assert _failed(run) == {HOLDS_CHECK}, text
    assert "hold id 'title:51' listed 2 times" in _why(run, HOLDS_CHECK)


def _padded_holds(backend: ILSBackend) -> None:
    """Hold lists as an adapter shows them when it reads a padded list's empty entries as
    holds: the first three ids ``""``, ``title:`` and ``title: `` (the counts still agree)."""
    real = backend.list_holds

    async def listed(patron: Patron) -> list[Hold]:
        holds = await real(patron)
        blanks = ("", "title:", "title: ")
        spoilt = [h.model_copy(update={"id": b}) for h, b in zip(holds, blanks, strict=False)]
        return spoilt + holds[len(spoilt) :]

    backend.list_holds = listed  # type: ignore[method-assign]


def test_empty_hold_ids_fail_the_holds_check(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
) -> None:
    spoilers.append(_padded_holds)

    run, text = _on_sip2(sim_loop, tmp_path, library, Sip2Fault.NONE)

    assert _failed(run) == {HOLDS_CHECK}, text
    why = _why(run, HOLDS_CHECK)
    for empty in ("''", "'title:'", "'title: '"):
        assert f"hold {empty}: empty id" in why, why


def _renewals_fail_inside(backend: ILSBackend) -> None:
    """A batch whose every item ended in an internal error (a 500 per item, not a refusal)."""

    async def renew_many(patron: Patron, item_ids: Sequence[str]) -> BatchResult[RenewalResult]:
        failed = [RenewalResult.from_error(i, GatewayError()) for i in item_ids]
        return BatchResult(results=tuple(failed), completed_at=SAMPLE_NOW)

    backend.renew_many = renew_many  # type: ignore[method-assign]


def test_a_batch_probe_whose_items_end_in_a_server_error_fails(
    sim_loop: BackgroundLoop,
    tmp_path: Path,
    library: SimulatedLibrary,
    spoilers: list[Callable[[ILSBackend], None]],
) -> None:
    """Any 5xx per item is no proper answer, as it is for a single call (not only the
    unavailable / protocol error / outcome unknown kinds)."""
    spoilers.append(_renewals_fail_inside)

    run, text = _on_sip2(sim_loop, tmp_path, library, Sip2Fault.NONE)

    probe = "test_contract_capabilities.py::test_capability_declared_matches_behaviour[renew_many]"
    assert any(name.endswith(probe) for name in _failed(run)), text
    why = _why(run, probe)
    assert "no proper answer" in why and GatewayError.type_slug in why, why
