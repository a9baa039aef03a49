"""Every example tenant file runs as shipped: ``serve --config FILE --simulate`` (the same
``simulated_app`` the command builds) starts simulators shaped for the tenant, and a sample
patron logs in, lists loans and holds, places and cancels a hold and renews a loan through the
HTTP API (issue 16, runnable examples). ``--now`` puts sample data and gateway on one date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.domain.clock import ManualClock, RunningClock, parse_instant
from ils_gateway.runtime.simulated import SIMULATED_RUN, SimulatedRun, house_rules, tenant_card
from ils_gateway.serve import simulated_app
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import load_tenants
from ils_gateway.tenants.policy import CardPolicy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))
STANDARD_PATRON = "hanako01"  # sample patron 1: loans due soon, renewed, with holds


def test_every_example_file_is_covered():
    assert {p.stem for p in EXAMPLE_FILES} >= {
        "akiruno",
        "folio-example",
        "ibaraki",
        "kanagawa",
        "koha-demo",
        "nishinomiya",
        "saitama",
    }


def _renewable(library: SimulatedLibrary, card: str) -> str:
    for loan in library.loans(card):
        refusal, _due = library.renewal_check(card, loan.barcode)
        if refusal is None:
            return loan.barcode
    raise AssertionError("no renewable loan")


def _holdable(library: SimulatedLibrary, card: str) -> str:
    """A copy of a book every copy of which is lent (so a hold on it waits, cancellable),
    that ``card`` neither holds nor borrows."""
    held = {h.biblio_id for h in library.holds(card)}
    mine = {library.item_info(loan.barcode).biblio_id for loan in library.loans(card)}
    for biblio in library.biblios():
        copies = library.items_of(biblio.id)
        if (
            biblio.id not in held | mine
            and copies
            and all(
                c.item_type is ItemType.BOOK
                and c.due is not None
                and c.holdable
                and not c.interlibrary_from
                for c in copies
            )
        ):
            return copies[0].barcode
    raise AssertionError("no holdable book")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
async def test_example_runs_end_to_end_on_its_simulators(path: Path, aiohttp_client):
    lines: list[str] = []
    registry = load_tenants(path)
    app = await simulated_app(
        registry, now=SAMPLE_NOW, clock=ManualClock(SAMPLE_NOW), echo=lines.append
    )
    client = await aiohttp_client(app)
    tenant = next(iter(registry)).id
    base = f"/v1/tenants/{tenant}"
    printed = "\n".join(lines)
    assert "simulator on 127.0.0.1:" in printed or "simulator on http://127.0.0.1:" in printed
    # The login printed for the standard patron is one the tenant's card rule accepts.
    card = next(line.split()[0] for line in lines if f"/ {STANDARD_PATRON} " in line)
    assert next(iter(registry)).policy.card.normalise(card) == card
    library = app_library(app, tenant)

    response = await client.post(
        f"{base}/sessions", json={"card_number": card, "password": STANDARD_PATRON}
    )
    assert response.status == 201, await response.text()
    auth = {"Authorization": f"Bearer {(await response.json())['token']}"}

    async def get(path: str) -> Any:
        answer = await client.get(base + path, headers=auth)
        assert answer.status == 200, await answer.text()
        return await answer.json()

    loans = (await get("/loans"))["loans"]
    holds = (await get("/holds"))["holds"]
    assert len(loans) == len(library.loans(card)) > 0
    assert holds
    pickup = (await get("/libraries"))["libraries"][0]["code"]

    wanted = _holdable(library, card)
    response = await client.post(
        f"{base}/holds", headers=auth, json={"item_ids": [wanted], "pickup_library": pickup}
    )
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert result["outcome"] == "ok", result
    placed = result["hold"]
    count = len(library.holds(card))
    assert len((await get("/holds"))["holds"]) == len(holds) + 1
    response = await client.delete(f"{base}/holds/{placed['id']}", headers=auth)
    assert response.status == 204, await response.text()
    assert len(library.holds(card)) == count - 1
    assert len((await get("/holds"))["holds"]) == len(holds)

    barcode = _renewable(library, card)
    before = next(v.due for v in library.loans(card) if v.barcode == barcode)
    title = library.item_info(barcode).title  # FOLIO names items by UUID, not barcode
    [loan_id] = [loan["item"]["id"] for loan in loans if loan["item"]["title"] == title]
    response = await client.post(f"{base}/loans/{loan_id}/renewal", headers=auth)
    assert response.status == 200, await response.text()
    after = next(v.due for v in library.loans(card) if v.barcode == barcode)
    assert after > before


def app_library(app: Any, tenant: str) -> SimulatedLibrary:
    run: SimulatedRun = app[SIMULATED_RUN]
    return next(t.library for t in run.tenants if t.tenant == tenant)


async def test_now_dates_the_sample_data_and_the_gateway_alike(aiohttp_client):
    # --now 2026-01-15: the patron whose loans are 5 and 20 days overdue in the sample data is
    # so on that date, by the gateway's count as well as by the due dates the ILS sends.
    now = parse_instant("2026-01-15", TOKYO)
    assert now == datetime(2026, 1, 15, 10, 0, tzinfo=TOKYO)
    lines: list[str] = []
    registry = load_tenants(EXAMPLES / "nishinomiya.toml")
    app = await simulated_app(registry, now=now, echo=lines.append)
    run = app[SIMULATED_RUN]
    assert isinstance(run.settings.clock, RunningClock) and run.settings.clock.start == now
    assert lines[0] == "simulated libraries as of 2026-01-15T10:00+09:00"
    assert any("SIP2 ACS simulator on 127.0.0.1:" in line and "cp932" in line for line in lines)
    client = await aiohttp_client(app)
    base = "/v1/tenants/nishinomiya"
    response = await client.post(
        f"{base}/sessions", json={"card_number": "1000000005", "password": "makoto05"}
    )
    assert response.status == 201, await response.text()
    auth = {"Authorization": f"Bearer {(await response.json())['token']}"}
    loans = (await (await client.get(f"{base}/loans", headers=auth)).json())["loans"]
    overdue = {loan["days_overdue"]: loan["due_date"] for loan in loans if loan["days_overdue"]}
    today = date(2026, 1, 15)
    assert overdue == {
        5: (today - timedelta(days=5)).isoformat(),
        20: (today - timedelta(days=20)).isoformat(),
    }


def test_sample_cards_are_renumbered_into_the_tenants_card_rule():
    six_digits = CardPolicy(pattern=r"^\d{6}$")
    assert tenant_card("1000000004", six_digits) == "400004"  # as tests/tenants_e2e number it
    assert tenant_card("1000000012", six_digits) == "120012"
    assert tenant_card("1000000001", CardPolicy(pattern=r"^\d{10}$")) == "1000000001"
    assert tenant_card("1000000004", six_digits, taken={"400004"}) == "000004"
    assert tenant_card("1000000004", CardPolicy(pattern=r"^X\d{3}$")) is None


def test_parse_instant_reads_dates_and_date_times():
    assert parse_instant("2025-06-02T14:30", TOKYO) == datetime(2025, 6, 2, 14, 30, tzinfo=TOKYO)
    utc = parse_instant("2025-06-02T05:00+00:00", TOKYO)
    assert utc == datetime(2025, 6, 2, 14, 0, tzinfo=TOKYO)
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_instant("next tuesday", TOKYO)


def test_running_clock_runs_on_from_its_start():
    ticks = iter([100.0, 100.0, 130.5])
    clock = RunningClock(SAMPLE_NOW, monotonic=lambda: next(ticks))
    assert clock() == SAMPLE_NOW
    assert clock() == SAMPLE_NOW + timedelta(seconds=30.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--now", "someday"], "not an ISO date"),
        (["serve", "--simulate"], "--simulate needs --config"),
        (["serve", "--config", str(EXAMPLES / "saitama.toml"), "--now", "2025-06-02"], "--now"),
        (["simulate", "sip2", "--now", "2025-13-01"], "not an ISO date"),
        (["simulate", "elibrary", "--now", "x"], "not an ISO date"),
    ],
)
def test_cli_refuses_bad_now_and_simulate_without_config(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


async def test_the_command_serves_an_example_on_its_simulators(tmp_path):
    # The command as documented, in a child process: it prints the simulators and logins, then
    # "Running on" once it listens (bounded wait on that line, then /healthz and a login).
    import asyncio
    import socket
    import sys

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from ils_gateway.cli import main; main()",
        "serve",
        "--config",
        str(EXAMPLES / "kanagawa.toml"),
        "--simulate",
        "--now",
        "2025-06-02",
        "--port",
        str(port),
        "--store",
        f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        printed: list[str] = []

        async def until_listening() -> None:
            while not printed or "Running on" not in printed[-1]:
                line = await process.stdout.readline()
                assert line, "\n".join(printed)  # the process ended early
                printed.append(line.decode())

        await asyncio.wait_for(until_listening(), timeout=30)
        text = "".join(printed)
        assert "Koha REST simulator on http://127.0.0.1:" in text
        assert "e-library (KinoDen-style) simulator on http://127.0.0.1:" in text
        assert "400004 / 4825170396" in text  # Kanagawa's 6-digit card for sample patron 4
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/healthz") as response:
                assert response.status == 200
            body = {"card_number": "100001", "password": "hanako01"}
            async with http.post("/v1/tenants/kanagawa/sessions", json=body) as response:
                assert response.status == 201, await response.text()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


def test_house_rules_follow_what_the_file_says_and_keep_the_rest():
    from ils_gateway.simulators.policy import HoldLimit, HouseRules, OverdueRenewal
    from ils_gateway.tenants.policy import Policy

    policy = Policy.model_validate(
        {
            "renewal": {"max_renewals": 2, "overdue": {"mode": "shortened", "grace_days": 14}},
            "holds": {
                "max_total": 15,
                "limits": [
                    {"name": "av", "material_types": ["cd", "dvd", "video"], "max": 4},
                    {"name": "maps", "material_types": ["map"], "max": 1},
                ],
            },
        }
    )
    base = HouseRules()
    rules = house_rules(policy, base)
    assert rules.max_renewals == 2 and rules.max_holds == 15
    assert rules.overdue_renewal is OverdueRenewal.SHORTENED and rules.overdue_grace_days == 14
    # video has no sample item type; a limit with none left is dropped
    assert rules.hold_limits == (HoldLimit("av", (ItemType.CD, ItemType.DVD), 4),)
    # what the file leaves out stays the library system's default
    assert rules.renew_interlibrary_loans is base.renew_interlibrary_loans
    assert rules.overdue_days_blocking_holds == base.overdue_days_blocking_holds
    assert house_rules(Policy(), base) == base
