"""The contract suite against a FOLIO tenant on the FOLIO simulator, writes included, as it
runs against the SIP2 and Koha simulators."""

from __future__ import annotations

import io
from pathlib import Path

from aiohttp import web

from ils_gateway.contract.embedded import holdable_waiting_item
from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.contract.report import Result
from ils_gateway.contract.runner import ContractRun, run_contract_suite
from ils_gateway.contract.target import ContractOptions
from ils_gateway.simulators.folio import FOLIO_STATE
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

HANAKO = DEMO_PATRONS[0]
CANCEL_REASON = "75187e8d-e25a-47a7-89ad-23ba612338de"  # FOLIO's "Patron Cancelled"

FOLIO_TENANT = """
[[tenants]]
id = "folio-under-test"
name = "テスト図書館 (FOLIO)"

[tenants.backend]
kind = "folio"
okapi_url = "{url}"
tenant = "midori"
username = "contract-test"
password = "contract-test-pass"
cancellation_reason_id = "{reason}"
read_attempts = 1
"""


def _serve(loop: BackgroundLoop, library: SimulatedLibrary) -> tuple[web.AppRunner, str]:
    return loop.run(
        start_folio_simulator(
            library,
            port=0,
            tenant="midori",
            username="contract-test",
            password="contract-test-pass",
        )
    )


def _tenant_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "tenant.toml"
    path.write_text(FOLIO_TENANT.format(url=url, reason=CANCEL_REASON), encoding="utf-8")
    return path


def _run(config: Path, **options: object) -> tuple[ContractRun, str]:
    out = io.StringIO()
    run = run_contract_suite(ContractOptions(config=config, **options), out=out)  # type: ignore[arg-type]
    return run, out.getvalue()


def _failed(run: ContractRun) -> set[str]:
    return {
        name.split("::")[-1] for name in run.by_result(Result.FAIL) | run.by_result(Result.ERROR)
    }


def test_folio_simulator_passes_with_writes(sim_loop: BackgroundLoop, tmp_path: Path) -> None:
    library = sample_library()
    item = holdable_waiting_item(library, HANAKO.card_number)
    assert item is not None
    runner, url = _serve(sim_loop, library)
    try:
        open_holds_before = len(library.holds(HANAKO.card_number))
        run, text = _run(
            _tenant_file(tmp_path, url),
            patron=HANAKO.card_number,
            password=HANAKO.password,
            items=(item,),
            allow_writes=True,
        )
        traffic = list(runner.app[FOLIO_STATE].traffic)
    finally:
        sim_loop.run(runner.cleanup())
    assert run.exit_code == 0, text
    assert _failed(run) == set(), text
    passed = run.by_result(Result.PASS)
    for check in ("test_renew", "test_place_hold", "test_change_pickup", "test_cancel_hold"):
        assert f"test_contract_writes.py::{check}" in passed, text
    assert "test_contract_items.py::test_item_lookup" in passed, text
    # The hold was placed through FOLIO's instance route and undone.
    assert any(x.route == "/circulation/requests/instances" and x.status == 201 for x in traffic)
    assert len(library.holds(HANAKO.card_number)) == open_holds_before


def test_folio_simulator_read_only(sim_loop: BackgroundLoop, tmp_path: Path) -> None:
    runner, url = _serve(sim_loop, sample_library())
    try:
        run, text = _run(
            _tenant_file(tmp_path, url), patron=HANAKO.card_number, password=HANAKO.password
        )
    finally:
        sim_loop.run(runner.cleanup())
    assert run.exit_code == 0, text
    assert _failed(run) == set(), text
    assert "test_contract_login.py::test_login" in run.by_result(Result.PASS)
