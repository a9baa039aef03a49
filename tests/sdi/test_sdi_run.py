"""The new-arrival run (services.sdi.run_sdi) with an injected clock, a fixed feed and a
recording outbox, on SQLite and PostgreSQL: one mail per patron per run, nothing without a
match, the mark moved only after the mails, reruns and crashes never duplicate or skip."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sdi_support import FixedFeed, RecordingOutbox, koha_tenant

from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.sdi import NewArrival
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.services.sdi import TEMPLATE, run_sdi
from ils_gateway.store.records import HoldNoticeAddress, PatronSettings
from ils_gateway.store.store import Store
from ils_gateway.tenants.sdi import SdiConfig

JST = "+09:00"
SATURDAY = datetime.fromisoformat(f"2025-05-31T15:30:00{JST}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + JST)


SOSEKI = NewArrival(
    "63", "夏目漱石全集 第1巻", at("2025-05-30T10:00:00"), ("夏目漱石",), ("日本文学",),
    MaterialType.BOOK, ("ナツメ ソウセキ",),
)  # fmt: skip
PYTHON = NewArrival(
    "64", "ＰＹＴＨＯＮではじめるデータ分析", at("2025-05-28T10:00:00"), ("山田太郎",),
    ("プログラミング",), MaterialType.BOOK,
)  # fmt: skip
JAZZ = NewArrival("65", "ジャズ名盤ベスト50", at("2025-05-29T10:00:00"), (), ("ジャズ",))
OLD = NewArrival("9", "夏目漱石 こころ", at("2025-05-10T10:00:00"), ("夏目漱石",))
LATE = NewArrival(
    "66", "夏目漱石 書簡集", at("2025-05-31T16:00:00"), ("夏目漱石",), readings=("ナツメ ソウセキ",)
)


async def _patron(
    store: Store, card: str, email: str | None, *conditions: dict[str, object]
) -> str:
    owner = store.patron("sdilib", card)
    if email is not None:
        await store.settings.save(owner, PatronSettings(email1=email))
    for n, fields in enumerate(conditions):
        await store.sdi.create(owner, f"条件{n}", max_conditions=None, **fields)  # type: ignore[arg-type]
    return owner.patron_key


async def _setup(store: Store) -> dict[str, str]:
    return {
        "a": await _patron(
            store, "1001", "a@example.jp", {"author": "なつめ"}, {"subject": "プログラミング"}
        ),
        "b": await _patron(store, "1002", "b@example.jp", {"subject": "じゃず"}),
        "c": await _patron(store, "1003", "c@example.jp", {"title_words": "量子力学"}),
        "d": await _patron(store, "1004", None, {"author": "夏目"}),
    }


async def test_one_mail_per_matched_patron_listing_every_title(
    sdi_store: Store, sdi_clock: ManualClock
) -> None:
    keys = await _setup(sdi_store)
    tenant, outbox = koha_tenant(), RecordingOutbox()
    feed = FixedFeed([PYTHON, JAZZ, SOSEKI, OLD, LATE])
    report = await run_sdi(
        tenant, sdi_clock(), store=sdi_store, outbox=outbox, feed_factory=lambda _t: feed
    )
    # The first run looks first_run_days (7) back from the last scheduled instant.
    assert (report.since, report.until) == (SATURDAY - timedelta(days=7), SATURDAY)
    assert (report.arrivals, report.patrons, report.matched) == (3, 4, 3)
    assert (report.enqueued, report.no_address, report.mark_advanced) == (2, 1, True)
    assert feed.closed == 1
    assert set(outbox.mails) == {f"sdi:sdilib:{keys[p]}:2025-05-31" for p in ("a", "b")}
    mail_a = outbox.mails[f"sdi:sdilib:{keys['a']}:2025-05-31"]
    assert (mail_a["to"], mail_a["template"], mail_a["language"]) == (
        "a@example.jp",
        TEMPLATE,
        None,  # the tenant's mail language
    )
    # Both of a's matches in one mail, in the order they arrived; OLD and LATE are outside.
    items = mail_a["context"]["items"]
    assert [t["record_id"] for t in items] == ["64", "63"]
    assert [t["condition"] for t in items] == ["条件1", "条件0"]  # which condition matched
    assert items[1]["author"] == "夏目漱石" and "url" not in items[1]  # no link: no key
    assert mail_a["context"]["run_date"] == "2025-05-31"
    mail_b = outbox.mails[f"sdi:sdilib:{keys['b']}:2025-05-31"]
    assert [t["title"] for t in mail_b["context"]["items"]] == ["ジャズ名盤ベスト50"]
    assert await sdi_store.sdi.run_mark("sdilib") == SATURDAY


async def test_rerun_sends_nothing_twice_and_next_week_starts_at_the_mark(
    sqlite_store: Store, sdi_clock: ManualClock
) -> None:
    keys = await _setup(sqlite_store)
    tenant, outbox = koha_tenant(), RecordingOutbox()
    feed = FixedFeed([PYTHON, JAZZ, SOSEKI, LATE])
    run = lambda: run_sdi(  # noqa: E731
        tenant, sdi_clock(), store=sqlite_store, outbox=outbox, feed_factory=lambda _t: feed
    )
    assert (await run()).enqueued == 2
    again = await run()  # same week: nothing due, the feed is not even asked
    assert not again.due and len(feed.windows) == 1 and len(outbox.mails) == 2
    # A week on: the window starts where the last one ended; LATE (after 15:30) is in it.
    sdi_clock.now = at("2025-06-07T15:45:00")
    week = await run()
    assert week.since == SATURDAY and week.until == at("2025-06-07T15:30:00")
    assert (week.arrivals, week.enqueued) == (1, 1)
    assert f"sdi:sdilib:{keys['a']}:2025-06-07" in outbox.mails
    assert len(outbox.mails) == 3


async def test_nothing_is_sent_when_nothing_matched(
    sqlite_store: Store, sdi_clock: ManualClock
) -> None:
    await _setup(sqlite_store)
    outbox = RecordingOutbox()
    unrelated = NewArrival("70", "宇宙の図鑑", at("2025-05-30T10:00:00"), ("星野一郎",))
    report = await run_sdi(
        koha_tenant(),
        sdi_clock(),
        store=sqlite_store,
        outbox=outbox,
        feed_factory=lambda _t: FixedFeed([unrelated]),
    )
    assert (report.arrivals, report.matched, report.enqueued) == (1, 0, 0)
    assert outbox.mails == {} and report.mark_advanced


async def test_a_crash_mid_run_repeats_the_window_without_duplicates(
    sdi_store: Store, sdi_clock: ManualClock
) -> None:
    await _setup(sdi_store)
    tenant = koha_tenant()
    outbox = RecordingOutbox(fail_after=1)
    feed = FixedFeed([PYTHON, JAZZ, SOSEKI])
    with pytest.raises(ConnectionError):
        await run_sdi(
            tenant, sdi_clock(), store=sdi_store, outbox=outbox, feed_factory=lambda _t: feed
        )
    assert len(outbox.mails) == 1
    assert await sdi_store.sdi.run_mark("sdilib") is None  # not advanced: nothing skipped
    outbox.fail_after = None
    sdi_clock.advance(hours=1)  # the retry, later the same day
    retry = await run_sdi(
        tenant, sdi_clock(), store=sdi_store, outbox=outbox, feed_factory=lambda _t: feed
    )
    assert feed.windows[0] == feed.windows[1]
    assert (retry.enqueued, retry.already_enqueued) == (1, 1)
    assert len(outbox.mails) == 2
    assert await sdi_store.sdi.run_mark("sdilib") == SATURDAY


async def test_hold_notice_address_and_a_disabled_tenant(
    sqlite_store: Store, sdi_clock: ManualClock
) -> None:
    owner = sqlite_store.patron("sdilib", "2001")
    await sqlite_store.settings.save(
        owner,
        PatronSettings(
            email1="pc@example.jp",
            email2="mobile@example.jp",
            hold_notice_to=HoldNoticeAddress.EMAIL2,
        ),
    )
    await sqlite_store.sdi.create(owner, "漱石", author="漱石", max_conditions=None)
    outbox = RecordingOutbox()
    off = koha_tenant().model_copy(
        update={"sdi": koha_tenant().sdi.model_copy(update={"enabled": False})}
    )
    skipped = await run_sdi(off, sdi_clock(), store=sqlite_store, outbox=outbox)
    assert not skipped.due and outbox.mails == {}
    await run_sdi(
        koha_tenant(),
        sdi_clock(),
        store=sqlite_store,
        outbox=outbox,
        feed_factory=lambda _t: FixedFeed([SOSEKI]),
    )
    assert [m["to"] for m in outbox.mails.values()] == ["mobile@example.jp"]


async def test_limit_and_bad_values_in_the_store(sdi_store: Store) -> None:
    from ils_gateway.store.errors import InvalidValue, SdiConditionLimitExceeded

    owner = sdi_store.patron("sdilib", "3001")
    other = sdi_store.patron("sdilib", "3002")
    await sdi_store.sdi.create(owner, "一", author="a", max_conditions=2)
    await sdi_store.sdi.create(owner, "二", subject="b", max_conditions=2)
    with pytest.raises(SdiConditionLimitExceeded):
        await sdi_store.sdi.create(owner, "三", subject="c", max_conditions=2)
    await sdi_store.sdi.create(other, "他", subject="c", max_conditions=2)  # per patron
    with pytest.raises(InvalidValue, match="author"):
        await sdi_store.sdi.create(owner, "空", max_conditions=None)
    with pytest.raises(InvalidValue, match="name"):
        await sdi_store.sdi.create(other, " ", author="x", max_conditions=None)
    assert [c.name for c in await sdi_store.sdi.list(owner)] == ["一", "二"]
    assert [c.name for c in await sdi_store.sdi.list(other)] == ["他"]


async def test_the_periodic_job_runs_each_enabled_tenant_once_per_scheduled_instant(
    sqlite_store: Store, sdi_clock: ManualClock
) -> None:
    from types import SimpleNamespace

    from ils_gateway.jobs.registry import JOBS, JobEnv
    from ils_gateway.runtime.tenant import Gateway
    from ils_gateway.services.mylists.runtime import MyLists

    lists = MyLists.build(sqlite_store, b"x" * 32, sdi_clock)
    job = JOBS["send_new_arrival_alerts"]
    assert job.per_tenant
    env = JobEnv(gateway=Gateway({}), lists=lists, clock=sdi_clock)
    tenant = SimpleNamespace(config=koha_tenant())
    first = await job.run(env, tenant)  # type: ignore[arg-type]
    assert first.due and first.mark_advanced
    again = await job.run(env, tenant)  # type: ignore[arg-type]
    assert not again.due
    off = SimpleNamespace(config=koha_tenant().model_copy(update={"sdi": SdiConfig()}))
    assert await job.run(env, off) == "new-arrival alerts off"  # type: ignore[arg-type]


async def test_conditions_are_web_only_where_the_library_says_so(sqlite_store: Store) -> None:
    from ils_gateway.domain.errors import FeatureDisabled
    from ils_gateway.domain.models import Patron
    from ils_gateway.domain.vocab import Channel
    from ils_gateway.services.mylists.context import PatronContext
    from ils_gateway.services.sdi import SdiService

    # Nishinomiya: 新着図書お知らせメールサービスは館内利用者端末ではご利用いただけません
    tenant = koha_tenant(
        extra='[tenants.policy.disabled_features]\nkiosk = ["new_arrival_alerts"]\n'
    )
    patron = Patron(id="1", card_number="4001")
    service = SdiService(sqlite_store)
    web_ctx = PatronContext.of(sqlite_store, tenant, patron, Channel.WEB)
    kiosk_ctx = PatronContext.of(sqlite_store, tenant, patron, Channel.KIOSK)
    await service.create(web_ctx, "漱石", author="漱石")
    with pytest.raises(FeatureDisabled):
        await service.list(kiosk_ctx)
    assert [c.name for c in await service.list(web_ctx)] == ["漱石"]


async def test_a_forced_run_after_the_scheduled_one_mails_only_what_is_new(
    sqlite_store: Store, sdi_clock: ManualClock
) -> None:
    keys = await _setup(sqlite_store)
    tenant, outbox = koha_tenant(), RecordingOutbox()
    feed = FixedFeed([SOSEKI, LATE])
    sdi_clock.now = at("2025-05-31T16:30:00")  # an hour after Saturday's run time
    first = await run_sdi(
        tenant, sdi_clock(), store=sqlite_store, outbox=outbox, feed_factory=lambda _t: feed
    )
    assert first.until == SATURDAY and first.enqueued == 1
    forced = await run_sdi(
        tenant,
        sdi_clock(),
        store=sqlite_store,
        outbox=outbox,
        feed_factory=lambda _t: feed,
        force=True,
    )  # the operator's `jobs run`: from 15:30 to now, LATE (16:00) is new
    assert forced.since == SATURDAY and forced.until == at("2025-05-31T16:30:00")
    assert forced.enqueued == 1  # its own key: not taken for Saturday's mail
    assert f"sdi:sdilib:{keys['a']}:2025-05-31T1630" in outbox.mails
    items = outbox.mails[f"sdi:sdilib:{keys['a']}:2025-05-31T1630"]["context"]["items"]
    assert [i["record_id"] for i in items] == ["66"]
