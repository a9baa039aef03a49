"""The e-book write checks: they pass on the e-library simulator and undo what they did, skip
with the reason when the named titles do not fit, and fail on an e-library whose return does
nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp import web
from contract_sims import (
    KOHA_CLIENT_ID,
    KOHA_CLIENT_SECRET,
    on_library_clock,
    start_koha,
)

from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.contract.report import Result
from ils_gateway.contract.runner import ContractRun, run_contract_suite
from ils_gateway.contract.target import ContractOptions
from ils_gateway.simulators.broken import ElibraryFault, create_broken_elibrary_app
from ils_gateway.simulators.elibrary import (
    ELIBRARY_STATE,
    ElibrarySimulatorConfig,
    ElibraryState,
    create_elibrary_app,
)
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

HANAKO, TARO = DEMO_PATRONS[0], DEMO_PATRONS[1]
ONE_COPY, THREE_COPIES = "KD000002", "KD000003"  # 吾輩は猫である, 坊っちゃん

TENANT = """
[[tenants]]
id = "ebooks-under-test"
name = "テスト図書館"

[tenants.backend]
kind = "koha"
base_url = "{koha}"
client_id = "{koha_id}"
client_secret = "{koha_secret}"
read_attempts = 1

[tenants.elibrary]
kind = "kinoden"
base_url = "{elibrary}"
client_id = "{elibrary_id}"
client_secret = "{elibrary_secret}"
"""
ELIBRARY = ElibrarySimulatorConfig()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture(autouse=True)
def library(monkeypatch: pytest.MonkeyPatch) -> SimulatedLibrary:
    """The sample library behind Koha, its clock also the adapter's."""
    library = sample_library()
    on_library_clock(monkeypatch, library)
    return library


def _run_against(
    loop: BackgroundLoop,
    tmp_path: Path,
    elibrary_app: web.Application,
    ebooks: tuple[str, ...],
    library: SimulatedLibrary,
) -> tuple[ContractRun, str, ElibraryState]:
    state = elibrary_app[ELIBRARY_STATE]
    koha, koha_url = loop.run(start_koha(library))
    elibrary, elibrary_url = loop.run(_serve(elibrary_app))
    config = tmp_path / "tenant.toml"
    config.write_text(
        TENANT.format(
            koha=koha_url,
            koha_id=KOHA_CLIENT_ID,
            koha_secret=KOHA_CLIENT_SECRET,
            elibrary=elibrary_url,
            elibrary_id=ELIBRARY.client_id,
            elibrary_secret=ELIBRARY.client_secret,
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    try:
        run = run_contract_suite(
            ContractOptions(
                config=config,
                patron=HANAKO.card_number,
                password=HANAKO.password,
                ebooks=ebooks,
                allow_writes=True,
            ),
            out=out,
        )
    finally:
        loop.run(elibrary.cleanup())
        loop.run(koha.cleanup())
    return run, out.getvalue(), state


def _failed(run: ContractRun) -> set[str]:
    failed = run.by_result(Result.FAIL) | run.by_result(Result.ERROR)
    return {n.split("::")[-1] for n in failed}


def _row(run: ContractRun, title: str) -> tuple[Result, str]:
    row = next(o for o in run.outcomes.values() if o.title == title)
    return row.result, row.why


def test_ebook_writes_pass_and_are_undone(
    sim_loop: BackgroundLoop, tmp_path: Path, library: SimulatedLibrary
) -> None:
    app = create_elibrary_app(ELIBRARY)
    app[ELIBRARY_STATE].borrow(TARO.card_number, ONE_COPY)  # every copy out: it can be held

    run, text, state = _run_against(sim_loop, tmp_path, app, (ONE_COPY, THREE_COPIES), library)

    assert _failed(run) == set(), text
    for check in ("place_ebook_hold", "cancel_ebook_hold", "borrow_and_return_ebook"):
        assert _row(run, f"elibrary_writes/{check}")[0] is Result.PASS, text
    assert state.patron_holds(HANAKO.card_number) == []
    assert state.checkouts(HANAKO.card_number) == []
    assert [x.title_id for x in state.checkouts(TARO.card_number)] == [ONE_COPY]


def test_ebook_titles_that_do_not_fit_are_skipped_with_the_reason(
    sim_loop: BackgroundLoop, tmp_path: Path, library: SimulatedLibrary
) -> None:
    app = create_elibrary_app(ELIBRARY)
    app[ELIBRARY_STATE].borrow(TARO.card_number, ONE_COPY)

    # One title for both: free copies (no hold possible) is the first, all out the last.
    run, text, state = _run_against(sim_loop, tmp_path, app, (THREE_COPIES, ONE_COPY), library)

    assert _failed(run) == set(), text
    result, why = _row(run, "elibrary_writes/place_ebook_hold")
    assert result is Result.SKIP and "has a copy free" in why, why
    assert _row(run, "elibrary_writes/cancel_ebook_hold")[0] is Result.SKIP
    result, why = _row(run, "elibrary_writes/borrow_and_return_ebook")
    assert result is Result.SKIP and "has no copy free" in why, why
    assert state.patron_holds(HANAKO.card_number) == []


def test_return_without_effect_fails_the_borrow_check(
    sim_loop: BackgroundLoop, tmp_path: Path, library: SimulatedLibrary
) -> None:
    app = create_broken_elibrary_app(ElibraryFault.RETURN_WITHOUT_EFFECT, ELIBRARY)
    app[ELIBRARY_STATE].borrow(TARO.card_number, ONE_COPY)

    run, text, _ = _run_against(sim_loop, tmp_path, app, (ONE_COPY, THREE_COPIES), library)

    assert run.exit_code == 1, text
    assert _failed(run) == {"test_borrow_and_return_ebook"}, text
    _, why = _row(run, "elibrary_writes/borrow_and_return_ebook")
    assert f"e-book {THREE_COPIES} returned but still in the loan list" in why, why
