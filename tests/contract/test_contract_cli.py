"""``ils-gateway contract-test``: exit codes, the table, JUnit XML with the backend's words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from contract_sims import (
    KOHA_CLIENT_ID,
    KOHA_CLIENT_SECRET,
    on_library_clock,
    start_koha,
)

from ils_gateway.contract.cli import contract_test
from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.simulators.broken import KohaFault, create_broken_koha_app
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

TENANT = """
[[tenants]]
id = "broken"
name = "壊れた図書館"

[tenants.backend]
kind = "koha"
base_url = "{url}"
client_id = "{client_id}"
client_secret = "{client_secret}"
read_attempts = 1
"""


def test_embedded_run_exits_zero_and_prints_the_table(tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    result = CliRunner().invoke(contract_test, ["--junit", str(junit)])
    assert result.exit_code == 0, result.output
    assert "embedded demo" in result.output
    assert "PASS   login/login" in result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_failing_backend_exits_one_with_junit_failure(
    sim_loop: BackgroundLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = sample_library()
    on_library_clock(monkeypatch, library)
    app = create_broken_koha_app(
        library,
        KohaFault.MISSING_DUE_DATE,
        client_id=KOHA_CLIENT_ID,
        client_secret=KOHA_CLIENT_SECRET,
    )
    runner, url = sim_loop.run(start_koha(library, app))
    config = tmp_path / "broken.toml"
    config.write_text(
        TENANT.format(url=url, client_id=KOHA_CLIENT_ID, client_secret=KOHA_CLIENT_SECRET),
        encoding="utf-8",
    )
    junit = tmp_path / "contract.xml"
    patron = DEMO_PATRONS[0]
    try:
        result = CliRunner().invoke(
            contract_test,
            [
                "--config",
                str(config),
                "--tenant",
                "broken",
                "--patron",
                patron.card_number,
                "--junit",
                str(junit),
            ],
            env={"ILS_GATEWAY_CONTRACT_PASSWORD": patron.password},
        )
    finally:
        sim_loop.run(runner.cleanup())
    assert result.exit_code == 1, result.output
    assert "FAIL   loans/well_formed" in result.output
    assert patron.password not in result.output
    failed = {
        case.get("name"): case
        for case in ET.parse(junit).getroot().iter("testcase")
        if case.find("failure") is not None
    }
    assert set(failed) == {
        "test_loans_well_formed",
        "test_loan_renewability_has_reason",
        "test_capability_declared_matches_behaviour[list_loans]",
        "test_capability_declared_matches_behaviour[renew]",
        "test_capability_declared_matches_behaviour[renew_many]",
    }
    said = failed["test_loans_well_formed"].find("properties/property[@name='backend_said']")
    assert said is not None and said.get("value", "").startswith("BackendProtocolError")
