"""Two gateway processes queue the same events and drain the same outbox at once: each event
is queued once and mailed once (a real second process, on PostgreSQL: the replicas' case;
two stores in one process cover SQLite in test_mail_outbox/test_mail_drain).

Both processes run on the system clock, as two gateways do: what is due must mean the same
to both (nothing here waits for time to pass)."""

from __future__ import annotations

import asyncio
import sys
import textwrap

from mail_smtpd import Catcher, start_smtpd
from mail_tenants import tenant

from ils_gateway.domain.clock import system_clock
from ils_gateway.mail.drain import DrainSettings, drain_outbox
from ils_gateway.mail.outbox import Outbox
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.store.engine import open_store
from ils_gateway.store.reading_history import KdfParams

SECRET = b"test-server-secret-0123456789abcdef"
COUNT = 24
TENANT = tenant('sender = "info@library.akiruno.tokyo.jp"')

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from ils_gateway.domain.clock import system_clock
    from ils_gateway.mail.drain import DrainSettings, drain_outbox
    from ils_gateway.mail.outbox import Outbox
    from ils_gateway.mail.smtp import SmtpServer
    from ils_gateway.store.engine import open_store
    from ils_gateway.store.reading_history import KdfParams
    from ils_gateway.tenants.loader import parse_tenants

    url, port, toml, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    tenant = parse_tenants(toml).tenants[0]

    async def main():
        secret = b"test-server-secret-0123456789abcdef"
        async with open_store(url, secret=secret, kdf=KdfParams.minimal()) as store:
            outbox = Outbox(store.outbox)
            queued = 0
            for n in range(count):
                queued += await outbox.enqueue(
                    "akiruno", f"hold_ready:h{n}", f"p{n}@example.jp", "hold_ready", None,
                    {"title": "t"})
            report = await drain_outbox(
                store.outbox, [tenant], clock=system_clock,
                default_server=SmtpServer("127.0.0.1", port, timeout=10),
                settings=DrainSettings(batch=2))
            print("RESULT", queued, report.sent)

    asyncio.run(main())
    """
)

TOML = """
[[tenants]]
id = "akiruno"
name = "あきる野市図書館"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
institution_id = "X"
login_user = "gateway"
login_password = "secret"
[tenants.mail]
sender = "info@library.akiruno.tokyo.jp"
"""


async def test_two_processes_queue_and_send_each_event_once(postgres_url: str) -> None:
    mail_store_url = postgres_url
    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    smtp = SmtpServer("127.0.0.1", port, timeout=10)
    try:
        async with open_store(
            mail_store_url, secret=SECRET, kdf=KdfParams.minimal(), clock=system_clock
        ) as store:
            other = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SCRIPT,
                mail_store_url,
                str(port),
                TOML,
                str(COUNT),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            outbox = Outbox(store.outbox)
            queued = 0
            for n in range(COUNT):
                queued += await outbox.enqueue(
                    "akiruno",
                    f"hold_ready:h{n}",
                    f"p{n}@example.jp",
                    "hold_ready",
                    None,
                    {"title": "t"},
                )
            here = await drain_outbox(
                store.outbox,
                [TENANT],
                clock=system_clock,
                default_server=smtp,
                settings=DrainSettings(batch=2),
            )
            out, err = await other.communicate()
            assert other.returncode == 0, err.decode()[-2000:]
            # the drain's log lines share stdout (structlog's default) when it sent anything
            result = [line for line in out.decode().splitlines() if line.startswith("RESULT ")]
            assert len(result) == 1, out.decode()[-2000:]
            their_queued, their_sent = map(int, result[0].split()[1:])
            # what the other process queued after this one's drain ended is sent by a last run
            rest = await drain_outbox(
                store.outbox, [TENANT], clock=system_clock, default_server=smtp
            )
            counts = await store.outbox.counts()
    finally:
        server.close()
        await server.wait_closed()
    assert queued + their_queued == COUNT
    assert here.sent + their_sent + rest.sent == COUNT
    recipients = sorted(r.rcpt_tos[0] for r in catcher.received)
    assert recipients == sorted(f"p{n}@example.jp" for n in range(COUNT))  # once each
    assert counts == {("akiruno", "sent"): COUNT}
