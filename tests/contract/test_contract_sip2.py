"""The suite against the demo tenant on the SIP2 ACS simulator (the shape ``serve`` uses).

Skipped until the SIP2 adapter exports ``Sip2Backend`` (the gateway's factory names it).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.contract.report import Result
from ils_gateway.contract.runner import run_contract_suite
from ils_gateway.contract.target import ContractOptions
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library
from ils_gateway.tenants.demo import _DEMO_TOML


def test_demo_tenant_on_sip2_simulator_passes(sim_loop: BackgroundLoop) -> None:
    try:
        from ils_gateway.adapters.sip2 import Sip2Backend  # noqa: F401
    except ImportError:
        pytest.skip("the SIP2 adapter (ils_gateway.adapters.sip2.Sip2Backend) has not landed")
    from ils_gateway.simulators.sip2_acs import start_sip2_simulator

    server, _ = sim_loop.run(
        start_sip2_simulator(sample_library(), logins={"gateway": "demo"}, institution_id="DEMO")
    )
    patron = DEMO_PATRONS[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "demo.toml"
            config.write_text(
                _DEMO_TOML.format(host="127.0.0.1", port=server.port), encoding="utf-8"
            )
            out = io.StringIO()
            run = run_contract_suite(
                ContractOptions(config=config, patron=patron.card_number, password=patron.password),
                out=out,
            )
    finally:
        sim_loop.run(server.aclose())
    assert run.by_result(Result.FAIL) | run.by_result(Result.ERROR) == set(), out.getvalue()
    assert run.exit_code == 0
