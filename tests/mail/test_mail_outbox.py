"""The outbox in the store: dedup per tenant, claims, leases, settling (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from ils_gateway.mail.outbox import Outbox
from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.store import Store

LEASE = timedelta(minutes=5)
CONTEXT = {"patron_name": "山田太郎", "title": "坊っちゃん", "pickup_deadline": date(2026, 12, 11)}


async def test_the_same_dedup_key_queues_one_mail(mail_store: Store) -> None:
    outbox = Outbox(mail_store.outbox)
    first = await outbox.enqueue(
        "hiroshima", "hold_ready:h1", "a@example.jp", "hold_ready", None, CONTEXT
    )
    again = await outbox.enqueue(
        "hiroshima", "hold_ready:h1", "b@example.jp", "hold_ready", "en", CONTEXT
    )
    other_tenant = await outbox.enqueue(
        "ibaraki", "hold_ready:h1", "a@example.jp", "hold_ready", None, CONTEXT
    )
    assert (first, again, other_tenant) == (True, False, True)
    [mail] = await mail_store.outbox.list(tenant_id="hiroshima")
    assert mail.recipients == ("a@example.jp",)
    assert mail.context == {**CONTEXT, "pickup_deadline": "2026-12-11"}
    assert (mail.status, mail.attempts, mail.language) == ("pending", 0, None)


async def test_a_sent_event_is_not_queued_again(mail_store: Store) -> None:
    tenant = Outbox(mail_store.outbox).for_tenant("t")
    assert await tenant.enqueue(
        "k", ["a@example.jp", "b@example.jp"], "overdue", "ja", {"items": []}
    )
    [mail] = await mail_store.outbox.claim(limit=10, lease=LEASE, max_attempts=3)
    assert mail.recipients == ("a@example.jp", "b@example.jp")
    assert await mail_store.outbox.mark_sent(mail)
    assert not await tenant.enqueue("k", "a@example.jp", "overdue", "ja", {"items": []})
    found = await tenant.find("k")
    assert found is not None and found.status == "sent"


async def test_two_processes_queueing_one_event_write_one_row(
    mail_store: Store, open_mail_store
) -> None:
    async with open_mail_store() as second:
        outboxes = [Outbox(mail_store.outbox), Outbox(second.outbox)] * 5
        results = await asyncio.gather(
            *(
                o.enqueue(
                    "t",
                    "sdi:p1:2026-12-05",
                    "a@example.jp",
                    "sdi_new_arrivals",
                    None,
                    {"items": []},
                )
                for o in outboxes
            )
        )
    assert sorted(results) == [False] * 9 + [True]
    assert len(await mail_store.outbox.list()) == 1


async def test_bad_input_is_refused_before_anything_is_written(lite_store: Store) -> None:
    outbox = Outbox(lite_store.outbox)
    with pytest.raises(ValueError, match="template"):
        await outbox.enqueue("t", "k", "a@example.jp", "no_such_template", None, {})
    with pytest.raises(ValueError, match="language"):
        await outbox.enqueue("t", "k", "a@example.jp", "hold_ready", "fr", {})
    with pytest.raises(InvalidValue, match="recipients"):
        await outbox.enqueue("t", "k", [], "hold_ready", None, {"title": "t"})
    with pytest.raises(InvalidValue, match="recipients"):
        await outbox.enqueue(
            "t", "k", "a@example.jp\r\nBcc: x@example.jp", "hold_ready", None, {"title": "t"}
        )
    with pytest.raises(InvalidValue, match="dedup_key"):
        await outbox.enqueue("t", "", "a@example.jp", "hold_ready", None, {"title": "t"})
    with pytest.raises(ValueError, match="needs title"):
        await outbox.enqueue("t", "k", "a@example.jp", "hold_ready", None, {"patron_name": "x"})
    with pytest.raises(ValueError, match="library"):
        await outbox.enqueue(
            "t", "k", "a@example.jp", "hold_ready", None, {**CONTEXT, "library": "x"}
        )
    with pytest.raises(InvalidValue, match="context"):
        await outbox.enqueue(
            "t", "k", "a@example.jp", "hold_ready", None, {**CONTEXT, "x": object()}
        )
    assert await lite_store.outbox.list() == []


async def test_claims_take_due_mails_once_and_leases_expire(mail_store: Store, clock) -> None:
    repo = mail_store.outbox
    outbox = Outbox(repo)
    await outbox.enqueue("t", "now", "a@example.jp", "overdue", None, {"items": []})
    await outbox.enqueue(
        "t",
        "later",
        "a@example.jp",
        "overdue",
        None,
        {"items": []},
        not_before=clock.now + timedelta(hours=1),
    )
    [claimed] = await repo.claim(limit=10, lease=LEASE, max_attempts=3)
    assert (claimed.dedup_key, claimed.status, claimed.attempts) == ("now", "sending", 1)
    assert await repo.claim(limit=10, lease=LEASE, max_attempts=3) == []
    clock.advance(minutes=6)  # the claimer died: its lease ran out
    [reclaimed] = await repo.claim(limit=10, lease=LEASE, max_attempts=3)
    assert (reclaimed.id, reclaimed.attempts) == (claimed.id, 2)
    assert not await repo.mark_sent(claimed)  # the first claim is no longer the holder
    assert await repo.mark_sent(reclaimed)
    clock.advance(hours=1)
    [later] = await repo.claim(limit=10, lease=LEASE, max_attempts=3)
    assert later.dedup_key == "later"


async def test_concurrent_claims_never_share_a_mail(mail_store: Store, open_mail_store) -> None:
    outbox = Outbox(mail_store.outbox)
    for n in range(20):
        await outbox.enqueue("t", f"k{n}", "a@example.jp", "overdue", None, {"items": []})
    async with open_mail_store() as second:
        repos = [mail_store.outbox, second.outbox] * 3
        claims = await asyncio.gather(
            *(r.claim(limit=4, lease=LEASE, max_attempts=3) for r in repos)
        )
    ids = [m.id for claim in claims for m in claim]
    assert len(ids) == len(set(ids)) == 20


async def test_retry_failed_and_exhausted_leases(mail_store: Store, clock) -> None:
    repo = mail_store.outbox
    await Outbox(repo).enqueue("t", "k", "a@example.jp", "overdue", None, {"items": []})
    [mail] = await repo.claim(limit=1, lease=LEASE, max_attempts=1)
    clock.advance(minutes=6)
    assert await repo.claim(limit=1, lease=LEASE, max_attempts=1) == []  # no attempts left
    [abandoned] = await repo.abandon_exhausted(max_attempts=1)
    assert abandoned.id == mail.id
    failed = await repo.get(mail.id)
    assert (
        failed is not None
        and failed.status == "failed"
        and "lease expired" in (failed.last_error or "")
    )
    assert await repo.retry(mail.id)
    assert not await repo.retry(mail.id)  # pending now, not failed
    [again] = await repo.claim(limit=1, lease=LEASE, max_attempts=1)
    assert again.attempts == 1
    assert await repo.mark_failed(again, "550 no such user")
    assert await repo.counts() == {("t", "failed"): 1}
    assert await repo.retry_failed() == 1
    assert await repo.counts() == {("t", "pending"): 1}
