"""The simulated e-library through its HTTP API: Ibaraki's e-book rules under a moving clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.elibrary import (
    JST,
    SEED_TITLES,
    ElibrarySimulatorConfig,
    ElibraryState,
    SimTitle,
    create_elibrary_app,
    load_simulator_config,
)

START = datetime(2025, 4, 1, 10, 0, tzinfo=JST)
ALICE, BOB, CAROL = "1111111111", "2222222222", "3333333333"


class Api:
    """A bearer-authenticated HTTP client for the simulator, speaking as one patron at a time."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, card: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if card is not None:
            headers["X-Patron-Card"] = card
        return headers

    async def call(self, method: str, path: str, card: str | None = None, **kw: object):
        response = await self.client.request(method, path, headers=self._headers(card), **kw)
        body = await response.json() if response.status != 204 else None
        return response.status, body

    async def borrow(self, card: str, title_id: str):
        return await self.call("POST", "/v1/patron/checkouts", card, json={"titleId": title_id})

    async def hold(self, card: str, title_id: str):
        return await self.call("POST", "/v1/patron/holds", card, json={"titleId": title_id})

    async def loans(self, card: str) -> list[str]:
        _, body = await self.call("GET", "/v1/patron/checkouts", card)
        return [c["titleId"] for c in body["checkouts"]]

    async def holds(self, card: str) -> list[dict]:
        _, body = await self.call("GET", "/v1/patron/holds", card)
        return body["holds"]

    async def events(self, after: int = 0) -> list[tuple[str, str, str, str]]:
        _, body = await self.call("GET", f"/admin/events?after={after}")
        return [(e["type"], e["cardNumber"], e["titleId"], e["at"]) for e in body["events"]]


async def fetch_token(client: TestClient, config: ElibrarySimulatorConfig) -> str:
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
        },
    )
    assert response.status == 200
    return (await response.json())["access_token"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def api(aiohttp_client, clock) -> Api:
    titles = tuple(SimTitle(id=f"T{i}", title=f"本{i}", copies=1) for i in range(1, 7))
    config = ElibrarySimulatorConfig(titles=titles, token_lifetime_seconds=90 * 86400)
    client = await aiohttp_client(create_elibrary_app(config, clock))
    return Api(client, await fetch_token(client, config))


async def test_three_loans_at_most(api):
    for title in ("T1", "T2", "T3"):
        status, _ = await api.borrow(ALICE, title)
        assert status == 201
    status, body = await api.borrow(ALICE, "T4")
    assert (status, body["errorCode"]) == (409, "PatronLoanLimitReached")
    assert body["message"] and body["token"]
    assert await api.loans(ALICE) == ["T1", "T2", "T3"]


async def test_loans_return_themselves_after_fifteen_days(api, clock):
    status, body = await api.borrow(ALICE, "T1")
    assert status == 201
    assert body["dueAt"] == (START + timedelta(days=15)).isoformat()
    assert body["autoReturn"] is True
    clock.advance(timedelta(days=15) - timedelta(seconds=1))
    assert await api.loans(ALICE) == ["T1"]
    clock.advance(timedelta(seconds=1))
    assert await api.loans(ALICE) == []
    assert await api.events() == [
        ("loan_returned", ALICE, "T1", (START + timedelta(days=15)).isoformat())
    ]


async def test_three_holds_at_most(api):
    for title in ("T1", "T2", "T3"):
        await api.borrow(BOB, title)
    await api.borrow(CAROL, "T4")
    for title in ("T1", "T2", "T3"):
        status, body = await api.hold(ALICE, title)
        assert (status, body["status"], body["position"]) == (201, "queued", 1)
    status, body = await api.hold(ALICE, "T4")
    assert (status, body["errorCode"]) == (409, "PatronHoldLimitReached")


async def test_hold_refusals(api):
    status, body = await api.hold(ALICE, "T1")
    assert (status, body["errorCode"]) == (409, "TitleAvailableForCheckout")
    await api.borrow(ALICE, "T1")
    status, body = await api.hold(ALICE, "T1")
    assert (status, body["errorCode"]) == (409, "TitleAlreadyCheckedOut")
    await api.hold(BOB, "T1")
    status, body = await api.hold(BOB, "T1")
    assert (status, body["errorCode"]) == (409, "AlreadyOnHold")
    status, body = await api.hold(BOB, "nope")
    assert (status, body["errorCode"]) == (404, "TitleNotFound")
    status, body = await api.call("DELETE", "/v1/patron/holds/T2", BOB)
    assert (status, body["errorCode"]) == (404, "HoldNotFound")


async def test_ready_hold_is_kept_seven_days_then_cancelled(api, clock):
    await api.borrow(ALICE, "T1")
    await api.hold(BOB, "T1")
    await api.hold(CAROL, "T1")
    day15 = START + timedelta(days=15)
    clock.advance(timedelta(days=15))
    [bob] = await api.holds(BOB)
    assert bob["status"] == "available"
    assert bob["availableAt"] == day15.isoformat()
    assert bob["expiresAt"] == (day15 + timedelta(days=7)).isoformat()
    [carol] = await api.holds(CAROL)
    assert (carol["status"], carol["position"]) == ("queued", 1)

    clock.advance(timedelta(days=7))
    assert await api.holds(BOB) == []
    [carol] = await api.holds(CAROL)
    assert carol["status"] == "available"
    day22 = day15 + timedelta(days=7)
    assert await api.events() == [
        ("loan_returned", ALICE, "T1", day15.isoformat()),
        ("hold_ready", BOB, "T1", day15.isoformat()),
        ("hold_expired", BOB, "T1", day22.isoformat()),
        ("hold_ready", CAROL, "T1", day22.isoformat()),
    ]
    assert [e[0] for e in await api.events(after=2)] == ["hold_expired", "hold_ready"]


async def test_one_long_jump_replays_everything_in_order(api, clock):
    await api.borrow(ALICE, "T1")
    await api.hold(BOB, "T1")
    await api.hold(CAROL, "T1")
    clock.advance(timedelta(days=40))  # 15 (return) + 7 (Bob lapses) + 7 (Carol lapses)
    assert await api.holds(BOB) == [] and await api.holds(CAROL) == []
    _, title = await api.call("GET", "/v1/titles/T1")
    assert (title["copiesAvailable"], title["holdsWaiting"]) == (1, 0)
    assert [(e[0], e[1]) for e in await api.events()] == [
        ("loan_returned", ALICE),
        ("hold_ready", BOB),
        ("hold_expired", BOB),
        ("hold_ready", CAROL),
        ("hold_expired", CAROL),
    ]


async def test_ready_hold_is_borrowed_by_its_patron_only(api, clock):
    await api.borrow(ALICE, "T1")
    await api.hold(BOB, "T1")
    status, _ = await api.call("DELETE", "/v1/patron/checkouts/T1", ALICE)  # early return
    assert status == 204
    status, body = await api.borrow(CAROL, "T1")
    assert (status, body["errorCode"]) == (409, "NoCopiesAvailable")
    status, body = await api.borrow(BOB, "T1")
    assert status == 201
    assert await api.holds(BOB) == []
    assert [e[0] for e in await api.events()] == ["hold_ready"]  # early return is not mailed


async def test_requests_need_a_valid_token_and_a_card(api, clock):
    api.token = "forged"
    status, body = await api.call("GET", "/v1/titles")
    assert (status, body["errorCode"]) == (401, "InvalidToken")
    status, _ = await api.call("GET", "/admin/events")
    assert status == 401


async def test_card_header_is_required(api):
    status, body = await api.call("GET", "/v1/patron/checkouts", None)
    assert (status, body["errorCode"]) == (400, "InvalidRequest")
    status, body = await api.call("POST", "/v1/patron/holds", ALICE, data="not json")
    assert (status, body["errorCode"]) == (400, "InvalidRequest")


async def test_bad_credentials_and_grant(aiohttp_client, clock):
    client = await aiohttp_client(create_elibrary_app(ElibrarySimulatorConfig(), clock))
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "x"}
    )
    assert (response.status, (await response.json())["error"]) == (401, "invalid_client")
    response = await client.post("/oauth/token", data={"grant_type": "password"})
    assert (response.status, (await response.json())["error"]) == (400, "unsupported_grant_type")


def test_clock_going_backwards_is_a_bug():
    times = iter([START + timedelta(days=1), START])
    state = ElibraryState(ElibrarySimulatorConfig(), lambda: next(times))
    state.now()
    with pytest.raises(RuntimeError):
        state.now()


def test_seeded_titles_are_thirty_japanese_titles_with_unique_ids():
    assert len(SEED_TITLES) == 30
    assert len({t.id for t in SEED_TITLES}) == 30
    assert all(t.copies >= 1 for t in SEED_TITLES)
    assert any(t.copies > 1 for t in SEED_TITLES)
    assert all(any("\u3040" <= ch <= "\u9fff" for ch in t.title) for t in SEED_TITLES)


async def test_runs_are_deterministic(aiohttp_client):
    async def run() -> list[object]:
        clock = ManualClock(START)
        config = ElibrarySimulatorConfig()
        client = await aiohttp_client(create_elibrary_app(config, clock))
        api = Api(client, await fetch_token(client, config))
        first_token = api.token
        await api.borrow(ALICE, SEED_TITLES[1].id)
        await api.hold(BOB, SEED_TITLES[1].id)
        clock.advance(timedelta(days=20))
        api.token = await fetch_token(client, config)  # the first one has expired
        _, titles = await api.call("GET", "/v1/titles")
        return [first_token, api.token, await api.events(), titles]

    assert await run() == await run()


def test_data_file_sets_rules_and_titles(tmp_path: Path):
    data = tmp_path / "elibrary.json"
    data.write_text(
        json.dumps(
            {
                "max_loans": 5,
                "patrons": [ALICE],
                "titles": [{"titleId": "X1", "title": "雪国", "copies": 2}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    config = load_simulator_config(data)
    assert config.max_loans == 5
    assert config.patrons == frozenset({ALICE})
    assert [(t.id, t.title, t.copies) for t in config.titles] == [("X1", "雪国", 2)]


def test_cli_command_is_registered():
    result = CliRunner().invoke(main, ["simulate", "elibrary", "--help"])
    assert result.exit_code == 0
    assert "--data" in result.output and "--port" in result.output
