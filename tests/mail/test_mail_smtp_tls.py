"""SMTP security against a real server (aiosmtpd): STARTTLS with AUTH, SMTPS, refusals."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from mail_smtpd import Catcher, start_smtpd, tls_pair

from ils_gateway.mail.smtp import SendFailed, SmtpServer, send, server_for
from ils_gateway.tenants.mail import SmtpConfig


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "lib@library.example.jp"
    msg["To"] = "a@example.jp"
    msg["Subject"] = "テスト"
    msg.set_content("本文\n")
    return msg


@pytest.fixture(scope="module")
def tls() -> tuple:  # type: ignore[type-arg]
    return tls_pair()


async def test_starttls_with_auth(tls) -> None:
    server_ctx, client_ctx = tls
    catcher = Catcher()
    server, port = await start_smtpd(catcher, tls=server_ctx, auth=("library", "pa55"))
    try:
        smtp = SmtpServer(
            "127.0.0.1", port, "starttls", "library", "pa55", timeout=5, tls_context=client_ctx
        )
        assert await send(smtp, _message(), "lib@library.example.jp", ["a@example.jp"]) == []
        assert catcher.logins == ["library"] and len(catcher.received) == 1
        wrong = SmtpServer(
            "127.0.0.1", port, "starttls", "library", "nope", timeout=5, tls_context=client_ctx
        )
        with pytest.raises(SendFailed, match="authentication failed") as failed:
            await send(wrong, _message(), "lib@library.example.jp", ["a@example.jp"])
        assert not failed.value.permanent  # the operator fixes it; the mail waits
        assert "nope" not in str(failed.value)
    finally:
        server.close()
        await server.wait_closed()


async def test_smtps_and_an_untrusted_certificate(tls) -> None:
    server_ctx, client_ctx = tls
    catcher = Catcher()
    server, port = await start_smtpd(catcher, tls=server_ctx, implicit_tls=True)
    try:
        smtp = SmtpServer("127.0.0.1", port, "tls", timeout=5, tls_context=client_ctx)
        await send(smtp, _message(), "lib@library.example.jp", ["a@example.jp"])
        assert len(catcher.received) == 1
        untrusted = SmtpServer("127.0.0.1", port, "tls", timeout=5)  # system CAs only
        with pytest.raises(SendFailed) as failed:
            await send(untrusted, _message(), "lib@library.example.jp", ["a@example.jp"])
        assert not failed.value.permanent
    finally:
        server.close()
        await server.wait_closed()


async def test_refused_recipients() -> None:
    catcher = Catcher(refuse={"gone@example.jp": "550 5.1.1 no such user"})
    server, port = await start_smtpd(catcher)
    try:
        smtp = SmtpServer("127.0.0.1", port, timeout=5)
        refused = await send(smtp, _message(), "l@x.jp", ["a@example.jp", "gone@example.jp"])
        assert refused == ["gone@example.jp"] and catcher.received[0].rcpt_tos == ["a@example.jp"]
        catcher.refuse["busy@example.jp"] = "450 4.2.1 try later"
        with pytest.raises(SendFailed) as failed:
            await send(smtp, _message(), "l@x.jp", ["busy@example.jp", "gone@example.jp"])
        assert not failed.value.permanent  # one refusal is temporary: try again
    finally:
        server.close()
        await server.wait_closed()


async def test_an_unreachable_server_is_a_temporary_failure() -> None:
    server, port = await start_smtpd(Catcher())
    server.close()
    await server.wait_closed()
    with pytest.raises(SendFailed) as failed:
        await send(SmtpServer("127.0.0.1", port, timeout=2), _message(), "l@x.jp", ["a@x.jp"])
    assert not failed.value.permanent


def test_urls_and_tenant_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    url = SmtpServer.from_url("smtp+starttls://gw%40lib:p%2Fw@smtp.example.jp")
    assert (url.host, url.port, url.security, url.username, url.password) == (
        "smtp.example.jp",
        587,
        "starttls",
        "gw@lib",
        "p/w",
    )
    assert "p/w" not in repr(url) and "p/w" not in url.describe()
    assert SmtpServer.from_url("smtps://h").port == 465
    assert SmtpServer.from_url("smtp://mailpit:1025").security == "none"
    with pytest.raises(ValueError, match="scheme"):
        SmtpServer.from_url("http://h")
    config = SmtpConfig(host="h", username="u", password_env="LIB_SMTP_PW")
    with pytest.raises(LookupError, match="LIB_SMTP_PW"):
        server_for(config, None)
    monkeypatch.setenv("LIB_SMTP_PW", "s3cret")
    own = server_for(config, SmtpServer.from_url("smtp://other"))
    assert own is not None and (own.host, own.password, own.port) == ("h", "s3cret", 587)
    assert server_for(None, None) is None


async def test_a_drain_run_reuses_one_connection_and_survives_a_drop() -> None:
    from ils_gateway.mail.smtp import SmtpSessions

    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    sessions = SmtpSessions()
    try:
        smtp = SmtpServer("127.0.0.1", port, timeout=5)
        for n in range(3):
            await sessions(smtp, _message(), "l@x.jp", [f"p{n}@example.jp"])
        assert sessions.connections == 1 and len(catcher.sessions) == 1
        catcher.sessions[0].transport.close()  # the server drops the idle connection
        await sessions(smtp, _message(), "l@x.jp", ["p3@example.jp"])
        assert sessions.connections == 2 and len(catcher.received) == 4
        catcher.fail_with("451 4.3.0 later")
        with pytest.raises(SendFailed):
            await sessions(smtp, _message(), "l@x.jp", ["p4@example.jp"])
        await sessions(smtp, _message(), "l@x.jp", ["p5@example.jp"])  # a new connection
        assert sessions.connections == 3 and len(catcher.received) == 5
    finally:
        await sessions.aclose()
        server.close()
        await server.wait_closed()
