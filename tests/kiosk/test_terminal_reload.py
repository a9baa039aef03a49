"""Reloading the terminal profiles while a machine stays connected (issue 21): the operator
call and SIGHUP re-read the tenant file; the session goes on and its next message follows the
new profile; a file that does not load keeps the profiles in use and says why."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr
from test_terminal_connections import STATUS, Machine, connect, frame

from ils_gateway.api.app import create_app
from ils_gateway.kiosk.face import KIOSK_SERVERS_KEY, kiosk_context
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.tenants.kiosk_profiles import TerminalProfile
from ils_gateway.tenants.loader import TenantRegistry

LOGIN = "9300CNsc01|COdemo-selfcheck|CPWEST|"
URL = "/v1/tenants/demo/operator/kiosk/reload"
STAFF = {"Authorization": "Bearer staff-key"}
FILE = """
[[tenants]]
id = "demo"
name = "デモ市立図書館"
[tenants.backend]
kind = "simulator"
[tenants.kiosk_sip2]
enabled = true
port = 0
institution_id = "DEMO"
logins = [{{ user = "sc01", password = "demo-selfcheck"{subnets} }}]
[[tenants.kiosk_sip2.profiles]]
name = "west-branch"
locations = ["WEST"]
terminator = "{terminator}"
encoding = "{encoding}"
"""


async def served(tmp_path: Path, aiohttp_client):  # type: ignore[no-untyped-def]
    source = tmp_path / "tenants.toml"
    source.write_text(FILE.format(terminator="cr", encoding="utf-8", subnets=""), encoding="utf-8")
    settings, _acs = await embedded_settings(elibrary=False)
    tenant = next(iter(settings.tenants))
    assert tenant.kiosk_sip2 is not None
    west = TerminalProfile(name="west-branch", locations=("WEST",), terminator="cr")
    kiosk = tenant.kiosk_sip2.model_copy(update={"port": 0, "profiles": (west,)})
    notices = tenant.notices.model_copy(update={"operator_keys": (SecretStr("staff-key"),)})
    tenant = tenant.model_copy(update={"kiosk_sip2": kiosk, "notices": notices})
    settings = replace(settings, tenants=TenantRegistry([tenant]), tenants_source=source)
    app = create_app(settings)
    app.cleanup_ctx.append(kiosk_context)
    client = await aiohttp_client(app)
    return app, client, source


async def status(machine: Machine, seq: int, end: bytes) -> bytes:
    return await machine.send(frame(STATUS, seq=seq, end=end), end)


async def test_an_operator_reload_applies_to_the_next_message_of_a_connected_machine(
    tmp_path: Path, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    app, client, source = await served(tmp_path, aiohttp_client)
    servers = app[KIOSK_SERVERS_KEY]
    async with connect(servers["demo"].port) as machine:
        assert (await machine.send(frame(LOGIN))).startswith(b"941")
        assert (await status(machine, 1, b"\r")).startswith(b"98")

        source.write_text(
            FILE.format(terminator="crlf", encoding="utf-8", subnets=""), encoding="utf-8"
        )
        done = await client.post(URL, headers=STAFF)
        assert done.status == 200
        assert await done.json() == {
            "applied": True, "generation": 1, "problems": [], "notes": []
        }  # fmt: skip
        # The same connection, logged in still: its next answer is CRLF.
        assert (await status(machine, 2, b"\r\n")).startswith(b"98")

        # A file that does not load: nothing changes, and the answer says why.
        source.write_text(
            FILE.format(terminator="lf", encoding="koi8-r", subnets=""), encoding="utf-8"
        )
        kept = await client.post(URL, headers=STAFF)
        body = await kept.json()
        assert (kept.status, body["applied"], body["generation"]) == (200, False, 1)
        assert any("encoding: unknown encoding 'koi8-r'" in p for p in body["problems"])
        assert (await status(machine, 3, b"\r\n")).startswith(b"98")

        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = await client.post(URL, headers=headers)
            assert refused.status == 401
    assert servers.desks["demo"].generation == 1

    # Logins come from the file too: limited to another network, the next 93 from here fails.
    limited = FILE.format(
        terminator="cr", encoding="utf-8", subnets=', allowed_subnets = ["10.0.0.0/8"]'
    )
    source.write_text(limited, encoding="utf-8")
    assert (await (await client.post(URL, headers=STAFF)).json())["applied"] is True
    async with connect(servers["demo"].port) as machine:
        assert (await machine.send(frame(LOGIN))).startswith(b"940")


async def test_sighup_reloads_the_profiles(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    app, _client, source = await served(tmp_path, aiohttp_client)
    servers = app[KIOSK_SERVERS_KEY]
    desk = servers.desks["demo"]
    async with connect(servers["demo"].port) as machine:
        assert (await machine.send(frame(LOGIN))).startswith(b"941")
        source.write_text(
            FILE.format(terminator="lf", encoding="utf-8", subnets=""), encoding="utf-8"
        )
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(10_000):  # the handler runs on one of the loop's next turns
            if desk.generation:
                break
            await asyncio.sleep(0)
        assert desk.generation == 1
        assert (await status(machine, 1, b"\n")).startswith(b"98")


async def test_without_a_tenant_file_there_is_nothing_to_reload(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    settings, _acs = await embedded_settings(elibrary=False)
    tenant = next(iter(settings.tenants))
    assert tenant.kiosk_sip2 is not None
    kiosk = tenant.kiosk_sip2.model_copy(update={"port": 0})
    notices = tenant.notices.model_copy(update={"operator_keys": (SecretStr("staff-key"),)})
    tenant = tenant.model_copy(update={"kiosk_sip2": kiosk, "notices": notices})
    app = create_app(replace(settings, tenants=TenantRegistry([tenant])))
    app.cleanup_ctx.append(kiosk_context)
    client = await aiohttp_client(app)
    answer = await client.post(URL, headers=STAFF)
    assert answer.status == 403
    assert isinstance(app, web.Application)
