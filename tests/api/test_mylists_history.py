"""Reading history over HTTP: off by default, opened at login, re-wrapped on password change,
honest after a library reset, private in the database, shared by gateway processes, captured by
the periodic job; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "services" / "mylists"))

import mylists_api_support as support
from mylists_api_support import CARD, KIOSK_KEY, PASSWORD, T, login
from sqlalchemy import MetaData, select, text

from ils_gateway.jobs.schedule import SCHEDULER_KEY, GatewayJobs, jobs_context
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.store.engine import create_engine

globals().update(support.FIXTURES)

H = f"{T}/reading-history"


async def _json(response) -> dict:
    return await response.json()


async def _enable(gw, auth: dict, password: str = PASSWORD) -> dict:
    response = await gw.post(f"{H}/enable", json={"password": password}, headers=auth)
    assert response.status == 200, await response.text()
    return await response.json()


async def _borrow_and_look(gw, sim, auth: dict, barcode: str = "2000105") -> None:
    sim.checkout(CARD, barcode, "CEN")
    assert (await gw.get(f"{T}/loans", headers=auth)).status == 200  # the gateway sees it


async def test_off_by_default_then_records_only_from_switch_on(gw, sim, lists_clock) -> None:
    auth = await login(gw)
    sim.checkout(CARD, "2000105", "CEN")  # borrowed the day before switching on: not recorded
    await gw.get(f"{T}/loans", headers=auth)
    lists_clock.advance(days=1)
    auth = await login(gw)
    page = await _json(await gw.get(H, headers=auth))
    assert page["status"]["enabled"] is False and page["entries"] == []
    wrong = await gw.post(f"{H}/enable", json={"password": "nope"}, headers=auth)
    assert wrong.status == 401
    status = await _enable(gw, auth)
    assert (status["enabled"], status["unlocked"], status["key_reset"]) == (True, True, False)
    await gw.get(f"{T}/loans", headers=auth)
    assert (await _json(await gw.get(H, headers=auth)))["entries"] == []
    sim.checkin("2000105", "CEN")
    await _borrow_and_look(gw, sim, auth)  # borrowed again on the day history was switched on
    await gw.get(f"{T}/loans", headers=auth)  # seen twice: kept once
    page = await _json(await gw.get(H, headers=auth))
    assert [(e["item_id"], e["title"]) for e in page["entries"]] == [("2000105", "ぐりとぐら")]

    off = await _json(await gw.post(f"{H}/disable", headers=auth))
    assert off["enabled"] is False
    assert len((await _json(await gw.get(H, headers=auth)))["entries"]) == 1  # entries stay
    entry_id = page["entries"][0]["entry_id"]
    assert (await gw.delete(f"{H}/entries/{entry_id}", headers=auth)).status == 204
    assert (await gw.delete(f"{H}/entries/{entry_id}", headers=auth)).status == 404


async def test_key_opened_at_login_unlock_and_password_change(make_gateway, sim) -> None:
    gw = await make_gateway(password_change=True)
    before = await login(gw)  # a session from before history was switched on
    auth = await login(gw)
    await _enable(gw, auth)
    await _borrow_and_look(gw, sim, auth)
    locked = await gw.get(H, headers=before)
    problem = await locked.json()
    assert locked.status == 403 and problem["type"].endswith("/reading-history-locked")
    bad_unlock = await gw.post(f"{H}/unlock", json={"password": "nope"}, headers=before)
    assert bad_unlock.status == 401
    unlocked = await gw.post(f"{H}/unlock", json={"password": PASSWORD}, headers=before)
    assert (await unlocked.json())["unlocked"] is True
    assert len((await _json(await gw.get(H, headers=before)))["entries"]) == 1

    fresh = await login(gw)  # opened at login: no password needed to list
    assert (await _json(await gw.get(f"{H}/status", headers=fresh)))["unlocked"] is True
    changed = await gw.post(
        f"{T}/patron/password",
        json={"old_password": PASSWORD, "new_password": "newpass99"},
        headers=fresh,
    )
    assert changed.status == 204, await changed.text()
    assert len((await _json(await gw.get(H, headers=fresh)))["entries"]) == 1
    after = await login(gw, password="newpass99")
    page = await _json(await gw.get(H, headers=after))
    assert (page["status"]["key_reset"], page["unreadable_entries"]) == (False, 0)
    assert [e["item_id"] for e in page["entries"]] == ["2000105"]


async def test_a_library_reset_is_reported_honestly(gw, sim, lists_clock) -> None:
    auth = await login(gw)
    await _enable(gw, auth)
    await _borrow_and_look(gw, sim, auth)
    sim.change_password(CARD, PASSWORD, "counter99")  # reset at the counter, not through us
    after = await login(gw, password="counter99")
    page = await _json(await gw.get(H, headers=after))
    assert page["status"]["key_reset"] is True
    assert (page["entries"], page["unreadable_entries"], page["total_entries"]) == ([], 1, 1)
    # Recording goes on under the new key (a loan on another day).
    sim.checkin("2000105", "CEN")
    lists_clock.advance(days=1)
    after = await login(gw, password="counter99")
    await _borrow_and_look(gw, sim, after, "2000105")
    page = await _json(await gw.get(H, headers=after))
    assert page["unreadable_entries"] == 1
    deleted = await _json(await gw.delete(f"{H}/entries", headers=after))
    assert deleted["deleted"] == 2
    page = await _json(await gw.get(H, headers=after))
    assert (page["total_entries"], page["status"]["key_reset"]) == (0, False)


async def test_kiosk_records_loans_but_shows_no_history(gw, sim) -> None:
    web = await login(gw)
    await _enable(gw, web)
    kiosk_headers = {"X-Kiosk-Key": KIOSK_KEY}
    kiosk = {**await login(gw, **kiosk_headers), **kiosk_headers}
    shown = await gw.get(H, headers=kiosk)
    problem = await shown.json()
    assert shown.status == 403 and (problem["feature"], problem["channel"]) == (
        "reading_history",
        "kiosk",
    )
    await _borrow_and_look(gw, sim, kiosk)
    assert len((await _json(await gw.get(H, headers=web)))["entries"]) == 1


async def test_second_process_sees_it_and_the_database_reveals_nothing(
    gw, make_gateway, sim, lists_store_url
) -> None:
    auth = await login(gw)
    await _enable(gw, auth)
    await _borrow_and_look(gw, sim, auth)
    shelf = await _json(await gw.post(f"{T}/shelves", json={"name": "棚"}, headers=auth))
    await gw.post(
        f"{T}/shelves/{shelf['shelf_id']}/items",
        json={"item_id": "2000104", "title": "吾輩は猫である"},
        headers=auth,
    )
    entry = (await _json(await gw.get(H, headers=auth)))["entries"][0]
    from_history = await gw.post(
        f"{T}/shelves/{shelf['shelf_id']}/items",
        json={"history_entry_id": entry["entry_id"]},
        headers=auth,
    )
    assert from_history.status == 201
    second = await make_gateway()
    there = await login(second)
    assert [e["item_id"] for e in (await _json(await second.get(H, headers=there)))["entries"]] == [
        "2000105"
    ]
    shelves = await _json(await second.get(f"{T}/shelves", headers=there))
    assert [s["item_count"] for s in shelves["shelves"]] == [2]

    dump = await _dump(lists_store_url)
    assert "吾輩は猫である" in dump  # a plain bookshelf title: the dump is readable
    # The history's title and item id appear only as a shelf copy the patron made on purpose;
    # the history tables and roster alone reveal neither, nor the card.
    history_dump = await _dump(
        lists_store_url, only=("reading_history_entries", "reading_history_keys", "job_roster")
    )
    for secret in ("ぐりとぐら", "2000105", CARD, PASSWORD):
        assert secret not in history_dump
    assert CARD not in dump and PASSWORD not in dump


async def test_capture_job_catches_a_loan_returned_before_the_next_login(
    gw, sim, lists_clock
) -> None:
    auth = await login(gw)
    await _enable(gw, auth)
    assert (await gw.delete(f"{T}/sessions/current", headers=auth)).status == 204
    gateway = gw.app[GATEWAY_KEY]
    lists = next(iter(gateway)).mylists

    def process(holder: str) -> GatewayJobs:
        return GatewayJobs(
            gateway, lists, lists.store.leases, lists.store.job_runs, lists_clock, holder
        )

    one, two = process("process-1"), process("process-2")
    sim.checkout(CARD, "2000105", "CEN")  # at the counter, patron logged out
    results = [(await s.run_named("capture_reading_history"))[0] for s in (one, two)]
    assert results[1].outcome == "done"  # the other process ran this interval's run
    assert results[0].outcome == "ok" and results[0].report.recorded == 1
    sim.checkin("2000105", "CEN")  # returned before the next login

    lists_clock.advance(minutes=61)
    assert [r.outcome for r in await two.run_named("enforce_hold_sequences")] == ["ok"]
    (purged,) = await two.run_named("purge_cancelled_holds")
    assert purged.report == {"testlib": 0}
    back = await login(gw)
    page = await _json(await gw.get(H, headers=back))
    assert [e["item_id"] for e in page["entries"]] == ["2000105"]

    # Switching off withdraws the patron from the jobs' roster.
    await gw.post(f"{H}/disable", headers=back)
    assert await lists.roster.patrons("testlib") == []


async def _dump(url: str, only: tuple[str, ...] | None = None) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            rows: list[str] = []
            for table in metadata.sorted_tables:
                if only is not None and table.name not in only:
                    continue
                for row in await conn.execute(select(table)):
                    rows.append(repr(tuple(row)))
                    rows += [v.decode("utf-8", "replace") for v in row if isinstance(v, bytes)]
            return "\n".join(rows)
    finally:
        await engine.dispose()


async def test_the_jobs_context_starts_with_the_app_and_stops_with_it(
    koha_sim, lists_clock, lists_store_url, aiohttp_client
) -> None:
    sim_, url = koha_sim
    app = support.build_app(url, sim_, lists_clock, lists_store_url)
    app.cleanup_ctx.append(jobs_context(["enforce_hold_sequences", "purge_cancelled_holds"]))
    client = await aiohttp_client(app)
    scheduler = app[SCHEDULER_KEY]
    assert scheduler.running
    assert {job.id for job in scheduler.get_jobs()} == {
        "enforce_hold_sequences:testlib",
        "purge_cancelled_holds",
    }
    assert (await client.get("/healthz")).status == 200
    await client.close()
    assert not scheduler.running


async def test_a_failing_store_does_not_hide_the_librarys_lists(gw, sim, lists_store_url) -> None:
    auth = await login(gw)
    await _enable(gw, auth)
    placed = await gw.post(
        f"{T}/holds", json={"item_ids": ["2000104"], "pickup_library": "CEN"}, headers=auth
    )
    (result,) = (await placed.json())["results"]
    engine = create_engine(lists_store_url)
    try:
        async with engine.begin() as conn:  # the store loses the tables the hooks write to
            await conn.execute(text("DROP TABLE reading_history_entries"))
            await conn.execute(text("DROP TABLE cancelled_holds"))
    finally:
        await engine.dispose()
    sim.checkout(CARD, "2000105", "CEN")
    loans = await gw.get(f"{T}/loans", headers=auth)
    assert loans.status == 200
    assert [loan["item"]["id"] for loan in (await loans.json())["loans"]] == ["2000105"]
    assert (await gw.get(f"{T}/holds", headers=auth)).status == 200
    # The library cancelled it: the answer says so although the history could not keep it.
    cancelled = await gw.delete(f"{T}/holds/{result['hold']['id']}", headers=auth)
    assert cancelled.status == 204
    assert sim.hold_by_id(int(result["hold"]["id"])).state.value == "cancelled"
