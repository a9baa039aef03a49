"""Draining the outbox into a real SMTP server (aiosmtpd, in-process): content, headers,
encodings, retries with backoff on an injected clock, crash recovery, concurrent drainers.
Every test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from mail_smtpd import Catcher, start_smtpd
from mail_tenants import tenant

from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.mail.drain import DrainSettings, drain_outbox
from ils_gateway.mail.outbox import Outbox
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.store.store import Store

AKIRUNO = tenant(
    """
sender = "info@library.akiruno.tokyo.jp"
reply_to = "toshokan@city.akiruno.tokyo.jp"
signature = "あきる野市図書館\\nこのメールは送信専用です。"
encoding = "iso-2022-jp"
portal_url = "https://www.library.akiruno.tokyo.jp/"
"""
)
HOLD = {
    "patron_name": "山田 花子",
    "title": "坊っちゃん〜上巻",
    "pickup_library": "中央図書館",
    "pickup_deadline": "2026-12-11",
}
FAST = DrainSettings(retry=RetryPolicy(attempts=3, first_wait=60.0, max_wait=600.0))


@pytest.fixture
async def smtpd() -> AsyncIterator[tuple[Catcher, SmtpServer]]:
    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    try:
        yield catcher, SmtpServer("127.0.0.1", port, timeout=5.0)
    finally:
        server.close()
        await server.wait_closed()


async def test_a_hold_ready_mail_in_iso_2022_jp(lite_store: Store, smtpd, clock) -> None:
    catcher, server = smtpd
    outbox = Outbox(lite_store.outbox).for_tenant("akiruno")
    assert await outbox.enqueue("hold_ready:h1", "hanako@example.jp", "hold_ready", None, HOLD)
    report = await drain_outbox(lite_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [got] = catcher.received
    assert got.mail_from == "info@library.akiruno.tokyo.jp"
    assert got.rcpt_tos == ["hanako@example.jp"]
    raw = got.raw
    assert all(b < 0x80 for b in raw), "ISO-2022-JP mail is 7-bit"
    assert b"=?iso-2022-jp?b?" in raw.lower()
    msg = got.message
    assert msg["Subject"] == "【あきる野市図書館】予約資料のご用意ができました"
    assert msg["From"].addresses[0].display_name == "あきる野市図書館"
    assert msg["To"] == "hanako@example.jp"
    assert msg["Reply-To"] == "toshokan@city.akiruno.tokyo.jp"
    assert msg["Auto-Submitted"] == "auto-generated"
    [mail] = await lite_store.outbox.list()
    assert msg["Message-ID"] == f"<outbox.{mail.id}.akiruno@library.akiruno.tokyo.jp>"
    assert msg["Date"].datetime == clock.now
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "iso-2022-jp"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    text = got.text
    assert text.startswith("山田 花子 様\n")
    assert "書名：坊っちゃん〜上巻" in text
    assert "受取館：中央図書館" in text
    assert "取置期限：2026年12月11日（金）まで" in text
    assert "https://www.library.akiruno.tokyo.jp/" in text
    assert text.endswith("-- \nあきる野市図書館\nこのメールは送信専用です。\n")
    assert (mail.status, mail.sent_at, mail.attempts) == ("sent", clock.now, 1)
    assert mail.context == {}  # names and titles are not kept once sent


async def test_utf8_english_and_several_recipients(lite_store: Store, smtpd, clock) -> None:
    catcher, server = smtpd
    config = tenant('sender = "oshirase@lib.city.saitama.jp"\nsender_name = "さいたま市図書館"')
    outbox = Outbox(lite_store.outbox)
    items = [{"title": "吾輩は猫である", "due_date": "2026-12-08"}, {"title": "Kokoro"}]
    await outbox.enqueue(
        "akiruno", "due:1", ["a@example.jp", "b@example.jp"], "due_reminder", "en", {"items": items}
    )
    await outbox.enqueue("akiruno", "due:2", "c@example.jp", "due_reminder", None, {"items": items})
    report = await drain_outbox(lite_store.outbox, [config], clock=clock, default_server=server)
    assert report.sent == 2
    english, japanese = catcher.received
    assert english.rcpt_tos == ["a@example.jp", "b@example.jp"]
    msg = english.message
    assert msg["To"] == "a@example.jp, b@example.jp"
    assert msg["Subject"] == "[Akiruno City Library] Due date reminder"
    assert msg["From"].addresses[0].display_name == "Akiruno City Library"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Language"] == "en"
    assert "- 吾輩は猫である (due Tue 8 December 2026)\n- Kokoro\n" in english.text
    assert "Reply-To" not in msg
    jmsg = japanese.message
    assert jmsg["Subject"] == "【さいたま市図書館】返却期限のお知らせ"
    assert b"=?utf-8?" in japanese.raw.lower()
    assert "・吾輩は猫である（返却期限：2026年12月8日（火））" in japanese.text


async def test_text_outside_jis_falls_back_to_utf8(lite_store: Store, smtpd, clock) -> None:
    catcher, server = smtpd
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", "ja", {**HOLD, "patron_name": "髙橋 一郎"}
    )
    assert (
        await drain_outbox(lite_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    ).sent == 1
    [got] = catcher.received
    assert got.message.get_content_charset() == "utf-8"
    assert got.text.startswith("髙橋 一郎 様\n")


async def test_smtp_failure_then_recovery_with_backoff(mail_store: Store, smtpd, clock) -> None:
    catcher, server = smtpd
    await Outbox(mail_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, HOLD
    )
    catcher.fail_with("451 4.3.0 try again later", "421 4.3.2 shutting down")

    async def drain() -> object:
        return await drain_outbox(
            mail_store.outbox, [AKIRUNO], clock=clock, default_server=server, settings=FAST
        )

    first = await drain()
    assert (first.sent, first.retried) == (0, 1)  # type: ignore[attr-defined]
    [mail] = await mail_store.outbox.list()
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert mail.next_attempt_at == clock.now + timedelta(seconds=60)
    assert "451" in (mail.last_error or "")
    assert (await drain()).retried == 0  # type: ignore[attr-defined]  # not due yet
    clock.advance(seconds=60)
    assert (await drain()).retried == 1  # type: ignore[attr-defined]
    [mail] = await mail_store.outbox.list()
    assert mail.next_attempt_at == clock.now + timedelta(seconds=120)  # doubled
    clock.advance(seconds=120)
    third = await drain()
    assert third.sent == 1  # type: ignore[attr-defined]
    assert len(catcher.received) == 1


async def test_failed_after_max_attempts_is_reported(
    mail_store: Store, smtpd, clock, caplog
) -> None:
    catcher, server = smtpd
    outbox = Outbox(mail_store.outbox)
    await outbox.enqueue("akiruno", "k", "a@example.jp", "hold_ready", None, HOLD)
    catcher.fail_with(*["450 4.2.0 mailbox busy"] * 3)
    reports = []
    for _ in range(3):
        reports.append(
            await drain_outbox(
                mail_store.outbox, [AKIRUNO], clock=clock, default_server=server, settings=FAST
            )
        )
        clock.advance(minutes=10)
    assert [r.failed for r in reports] == [0, 0, 1]
    [mail] = await mail_store.outbox.list()
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert reports[-1].failed_ids == [mail.id]
    # nothing more happens to it until an operator retries it
    assert (
        await drain_outbox(mail_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    ).sent == 0
    assert await mail_store.outbox.retry(mail.id)
    assert (
        await drain_outbox(mail_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    ).sent == 1


async def test_a_permanent_refusal_fails_at_once(lite_store: Store, smtpd, clock) -> None:
    catcher, server = smtpd
    catcher.refuse["gone@example.jp"] = "550 5.1.1 no such user"
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "gone@example.jp", "hold_ready", None, HOLD
    )
    report = await drain_outbox(lite_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    assert (report.failed, report.retried) == (1, 0)
    [mail] = await lite_store.outbox.list()
    assert mail.status == "failed" and "550" in (mail.last_error or "")


async def test_a_template_variable_missing_fails_loudly(
    lite_store: Store, smtpd, clock, tmp_path
) -> None:
    catcher, server = smtpd
    (tmp_path / "hold_ready.ja.txt").write_text("{{ title }} を {{ no_such_thing }} で\n")
    config = tenant(f'sender = "a@library.example.jp"\ntemplates = "{tmp_path}"')
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", "ja", HOLD
    )
    report = await drain_outbox(lite_store.outbox, [config], clock=clock, default_server=server)
    assert report.failed == 1 and catcher.received == []
    [mail] = await lite_store.outbox.list()
    assert "no_such_thing" in (mail.last_error or "")


async def test_a_crash_mid_send_is_reclaimed_after_the_lease(
    mail_store: Store, smtpd, clock
) -> None:
    catcher, server = smtpd
    await Outbox(mail_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, HOLD
    )
    # a process claims the mail, then dies before settling it
    [claimed] = await mail_store.outbox.claim(limit=5, lease=FAST.lease, max_attempts=3)
    assert (
        await drain_outbox(mail_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    ).sent == 0
    clock.advance(seconds=FAST.lease.total_seconds())
    report = await drain_outbox(mail_store.outbox, [AKIRUNO], clock=clock, default_server=server)
    assert report.sent == 1 and len(catcher.received) == 1
    [mail] = await mail_store.outbox.list()
    assert (mail.status, mail.attempts) == ("sent", 2)
    assert not await mail_store.outbox.mark_sent(claimed)  # the dead claim changes nothing


async def test_two_drainers_at_once_send_each_mail_once(
    mail_store: Store, open_mail_store, smtpd, clock
) -> None:
    catcher, server = smtpd
    outbox = Outbox(mail_store.outbox)
    for n in range(12):
        await outbox.enqueue("akiruno", f"k{n}", f"p{n}@example.jp", "hold_ready", None, HOLD)
    settings = DrainSettings(batch=3)
    async with open_mail_store() as second:
        reports = await asyncio.gather(
            drain_outbox(
                mail_store.outbox, [AKIRUNO], clock=clock, default_server=server, settings=settings
            ),
            drain_outbox(
                second.outbox, [AKIRUNO], clock=clock, default_server=server, settings=settings
            ),
        )
    assert sum(r.sent for r in reports) == 12
    assert sorted(r.rcpt_tos[0] for r in catcher.received) == sorted(
        f"p{n}@example.jp" for n in range(12)
    )


async def test_without_smtp_the_mail_is_kept(lite_store: Store, clock) -> None:
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, HOLD
    )
    report = await drain_outbox(
        lite_store.outbox, [AKIRUNO, tenant(tenant_id="other")], clock=clock
    )
    assert report.unconfigured == ["akiruno", "other"]
    [mail] = await lite_store.outbox.list()
    assert (mail.status, mail.attempts) == ("pending", 0)
