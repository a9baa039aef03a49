"""The drain as ``serve`` runs it: the ``drain_outbox`` job of the scheduler, in every process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from mail_smtpd import Catcher, start_smtpd
from mail_tenants import tenant

from ils_gateway.jobs.schedule import GatewayJobs
from ils_gateway.mail.drain import mail_routes, tenants_without_mail
from ils_gateway.mail.outbox import Outbox
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.runtime.jobs import MemoryJobHistory
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.state.joblocks import MemoryJobLocks
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


def _jobs(store: Store, clock: Any, routes: dict[str, Any], holder: str) -> GatewayJobs:
    config = tenant('sender = "info@library.akiruno.tokyo.jp"')
    gateway = [SimpleNamespace(config=config)]  # iterated only
    lists = MyLists.build(store, SECRET, clock)
    return GatewayJobs(
        gateway,  # type: ignore[arg-type]
        lists,
        MemoryJobLocks(),
        MemoryJobHistory(),
        clock,
        holder,
        mail_routes=routes,
    )


async def test_every_process_drains_without_the_job_lock(lite_store: Store, smtp, clock) -> None:
    catcher, server = smtp
    config = tenant('sender = "info@library.akiruno.tokyo.jp"')
    routes, why_not = mail_routes([config], server)
    assert why_not == {}
    first = _jobs(lite_store, clock, routes, "one")
    second = _jobs(lite_store, clock, routes, "two")
    second.locks = first.locks  # one deployment's locks: the drain takes none
    outbox = Outbox(lite_store.outbox)
    await outbox.enqueue("akiruno", "k1", "a@example.jp", "hold_ready", None, {"title": "t"})
    (result,) = await first.run_named("drain_outbox")
    assert (result.outcome, result.report) == (
        "ok",
        {"sent": 1, "retried": 0, "failed": 0, "failed_ids": [], "unconfigured": []},
    )
    await outbox.enqueue("akiruno", "k2", "b@example.jp", "hold_ready", None, {"title": "t"})
    (again,) = await second.run_named("drain_outbox")  # the same run time, not held off
    assert again.outcome == "ok" and again.report["sent"] == 1
    assert [r.rcpt_tos for r in catcher.received] == [["a@example.jp"], ["b@example.jp"]]


async def test_no_drain_job_when_no_tenant_can_send(lite_store: Store, clock) -> None:
    jobs = _jobs(lite_store, clock, {}, "one")
    assert "drain_outbox" not in {p.spec.name for p in jobs.plans()}
    assert tenants_without_mail([tenant()], None) == {
        "akiruno": "no [tenants.mail] sender (and no server mail_sender)"
    }
    assert "no SMTP server" in tenants_without_mail([tenant('sender = "a@b.jp"')], None)["akiruno"]
    assert tenants_without_mail([tenant()], SmtpServer("h", 25), "demo@example.jp") == {}


def _served_app(store: Store, clock: Any, server: SmtpServer) -> Any:
    """An app with what ``jobs_context`` reads: two tenants, one that cannot send."""
    from aiohttp import web

    from ils_gateway.runtime.keys import GATEWAY_KEY, REDIS_KEY, SETTINGS_KEY, STORE_KEY
    from ils_gateway.runtime.settings import MailSettings

    configs = [tenant('sender = "info@library.akiruno.tokyo.jp"'), tenant(tenant_id="other")]
    app = web.Application()
    app[GATEWAY_KEY] = [SimpleNamespace(config=c) for c in configs]  # type: ignore[assignment]
    app[STORE_KEY] = MyLists.build(store, SECRET, clock)
    app[REDIS_KEY] = None
    app[SETTINGS_KEY] = SimpleNamespace(  # type: ignore[assignment]
        mail=MailSettings(smtp=server), clock=clock, redis_prefix="test:"
    )
    return app


@pytest.mark.parametrize("start_delay", [0.0, 0.01], ids=["with the app", "after a delay"])
async def test_serve_drains_and_says_which_tenants_cannot_send(
    lite_store: Store, smtp, clock, start_delay: float
) -> None:
    """``jobs_context`` as ``serve`` appends it: the drain starts with the app (or, as
    ``serve`` has it, ``start_delay`` after), mail goes out, and a tenant without mail
    configuration is named in one warning."""
    import structlog

    from ils_gateway.jobs.schedule import jobs_context

    catcher, server = smtp
    app = _served_app(lite_store, clock, server)
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, {"title": "t"}
    )
    context = jobs_context(["drain_outbox"], start_delay=start_delay)(app)
    with structlog.testing.capture_logs() as logs:
        await context.__anext__()
        try:
            await catcher.arrived.wait()  # the drain runs once at start
        finally:
            with pytest.raises(StopAsyncIteration):
                await context.__anext__()
    assert len(catcher.received) == 1
    [warning] = [e for e in logs if e["event"].startswith("mail is not configured")]
    assert warning["tenant"] == "other" and warning["log_level"] == "warning"


async def test_an_app_stopped_before_the_start_delay_runs_no_job(
    lite_store: Store, smtp, clock
) -> None:
    import asyncio

    from ils_gateway.jobs.schedule import SCHEDULER_KEY, jobs_context

    catcher, server = smtp
    app = _served_app(lite_store, clock, server)
    await Outbox(lite_store.outbox).enqueue(
        "akiruno", "k", "a@example.jp", "hold_ready", None, {"title": "t"}
    )
    context = jobs_context(["drain_outbox"], start_delay=600.0)(app)
    await context.__anext__()
    for _ in range(20):  # loop turns in which a due job would have started
        await asyncio.sleep(0)
    with pytest.raises(StopAsyncIteration):
        await context.__anext__()
    assert SCHEDULER_KEY not in app
    assert catcher.received == []
    mail = await lite_store.outbox.find("akiruno", "k")
    assert mail is not None and mail.status == "pending"  # still waiting: no drain ran
