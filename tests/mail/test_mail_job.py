"""The drain as ``serve`` runs it: the ``drain_outbox`` job of the scheduler, in every process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from mail_smtpd import Catcher, start_smtpd
from mail_tenants import tenant

from ils_gateway.jobs.schedule import JobIntervals, JobScheduler
from ils_gateway.mail.drain import mail_routes, tenants_without_mail
from ils_gateway.mail.outbox import Outbox
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.services.context import TenantContext
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.store.store import Store

SECRET = b"test-server-secret-0123456789abcdef"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Catcher, SmtpServer]]:
    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    try:
        yield catcher, SmtpServer("127.0.0.1", port, timeout=5.0)
    finally:
        server.close()
        await server.wait_closed()


def _scheduler(store: Store, clock: Any, routes: dict[str, Any], holder: str) -> JobScheduler:
    config = tenant('sender = "info@library.akiruno.tokyo.jp"')
    context = TenantContext(config=config, backend=None, clock=clock)  # type: ignore[arg-type]
    lists = MyLists.build(store, SECRET, clock)
    return JobScheduler(lists, [context], JobIntervals(), holder=holder, mail_routes=routes)


async def test_every_process_drains_without_the_job_lease(lite_store: Store, smtp, clock) -> None:
    catcher, server = smtp
    config = tenant('sender = "info@library.akiruno.tokyo.jp"')
    routes, why_not = mail_routes([config], server)
    assert why_not == {}
    first = _scheduler(lite_store, clock, routes, "one")
    second = _scheduler(lite_store, clock, routes, "two")
    outbox = Outbox(lite_store.outbox)
    await outbox.enqueue("akiruno", "k1", "a@example.jp", "hold_ready", None, {"title": "t"})
    lease = timedelta(minutes=1)
    assert await first.run_once("drain_outbox", lease) == {
        "sent": 1,
        "retried": 0,
        "failed": 0,
        "failed_ids": [],
        "unconfigured": [],
    }
    await outbox.enqueue("akiruno", "k2", "b@example.jp", "hold_ready", None, {"title": "t"})
    report = await second.run_once("drain_outbox", lease)  # not held off by "one"
    assert report is not None and report["sent"] == 1
    assert [r.rcpt_tos for r in catcher.received] == [["a@example.jp"], ["b@example.jp"]]


async def test_no_drain_task_when_no_tenant_can_send(lite_store: Store, clock) -> None:
    import asyncio

    scheduler = _scheduler(lite_store, clock, {}, "one")
    stop = asyncio.Event()
    stop.set()
    tasks = scheduler.start(stop)
    assert "job:drain_outbox" not in [t.get_name() for t in tasks]
    await asyncio.gather(*tasks)
    assert tenants_without_mail([tenant()], None) == {
        "akiruno": "no [tenants.mail] sender (and no server mail_sender)"
    }
    assert "no SMTP server" in tenants_without_mail([tenant('sender = "a@b.jp"')], None)["akiruno"]
    assert tenants_without_mail([tenant()], SmtpServer("h", 25), "demo@example.jp") == {}


async def test_serve_drains_and_says_which_tenants_cannot_send(
    lite_store: Store, smtp, clock
) -> None:
    """``jobs_context`` as ``serve`` appends it: the drain starts with the app, mail goes out,
    and a tenant without mail configuration is named in one warning."""
    from types import SimpleNamespace

    import structlog
    from aiohttp import web

    from ils_gateway.jobs.schedule import jobs_context
    from ils_gateway.runtime.keys import GATEWAY_KEY, SETTINGS_KEY, STORE_KEY
    from ils_gateway.runtime.settings import MailSettings

    catcher, server = smtp
    configs = [tenant('sender = "info@library.akiruno.tokyo.jp"'), tenant(tenant_id="other")]
    runtimes = [
        SimpleNamespace(config=c, context=TenantContext(config=c, backend=None, clock=clock))  # type: ignore[arg-type]
        for c in configs
    ]
    app = web.Application()
    app[GATEWAY_KEY] = runtimes  # type: ignore[assignment]  # iterated only
    app[STORE_KEY] = MyLists.build(lite_store, SECRET, clock)
    app[SETTINGS_KEY] = SimpleNamespace(mail=MailSettings(smtp=server))  # type: ignore[assignment]
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, {"title": "t"}
    )
    context = jobs_context(
        JobIntervals(
            capture_reading_history=None, enforce_hold_sequences=None, purge_cancelled_holds=None
        )
    )(app)
    with structlog.testing.capture_logs() as logs:
        await context.__anext__()
        try:
            await catcher.arrived.wait()
        finally:
            with pytest.raises(StopAsyncIteration):
                await context.__anext__()
    assert len(catcher.received) == 1
    [warning] = [e for e in logs if e["event"].startswith("mail is not configured")]
    assert warning["tenant"] == "other" and warning["log_level"] == "warning"
