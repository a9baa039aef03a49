"""``ils-gateway mail …`` and the mail settings: [tenants.mail], smtp_url, config check/show."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from mail_smtpd import Catcher, start_smtpd
from mail_tenants import BASE, tenant

from ils_gateway.cli import main
from ils_gateway.mail.outbox import Outbox
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants

SECRET = "cli-test-secret-0123456789abcdef"
HOLD = {"title": "坊っちゃん"}


def _tenant_file(tmp_path: Path, mail: str) -> Path:
    path = tmp_path / "tenants.toml"
    text = BASE.format(id="akiruno", name="あきる野市図書館", name_en="Akiruno City Library")
    libraries = '\n[[tenants.pickup_libraries]]\ncode = "C"\nname = "中央図書館"\n'
    path.write_text(text + libraries + "\n[tenants.mail]\n" + mail, encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = default_url(tmp_path / "store.db")
    monkeypatch.setenv("ILS_GATEWAY_STORE_URL", url)
    monkeypatch.setenv("ILS_GATEWAY_STORE_SECRET", SECRET)
    for name in ("ILS_GATEWAY_SMTP_URL", "ILS_GATEWAY_MAIL_SENDER", "ILS_GATEWAY_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    return url


async def _enqueue(url: str, *keys: str) -> None:
    async with open_store(url, secret=SECRET.encode()) as store:
        outbox = Outbox(store.outbox)
        for key in keys:
            await outbox.enqueue("akiruno", key, "a@example.jp", "hold_ready", None, HOLD)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["mail", *args])
    return result.exit_code, result.output


async def test_status_drain_failed_retry(env: str, tmp_path: Path) -> None:
    await _enqueue(env, "k1", "k2")
    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    try:
        tenants = _tenant_file(tmp_path, 'sender = "info@library.akiruno.tokyo.jp"\n')
        code, out = await asyncio.to_thread(_invoke, "status")
        assert code == 0 and "akiruno" in out and "pending" in out
        assert out.splitlines()[1].split() == ["akiruno", "2", "0", "0", "0"]
        catcher.fail_with("554 5.6.0 message refused")
        drained = await asyncio.to_thread(
            CliRunner().invoke,
            main,
            ["mail", "drain", "--config", str(tenants)],
            env={"ILS_GATEWAY_SMTP_URL": f"smtp://127.0.0.1:{port}"},
        )
        assert drained.exit_code == 1, drained.output
        assert "sent 1, retrying 0, failed 1" in drained.output
        assert len(catcher.received) == 1
    finally:
        server.close()
        await server.wait_closed()
    code, out = await asyncio.to_thread(_invoke, "failed")
    assert code == 0 and "554 5.6.0 message refused" in out and "hold_ready" in out
    failed_id = out.split("\t")[0]
    code, out = await asyncio.to_thread(_invoke, "retry", failed_id)
    assert code == 0 and "1 mail(s) queued again" in out
    code, out = await asyncio.to_thread(_invoke, "retry", failed_id)
    assert code == 1 and "no such failed mail" in out
    code, out = await asyncio.to_thread(_invoke, "retry")
    assert code == 2 and "--all-failed" in out
    code, out = await asyncio.to_thread(_invoke, "retry", "--all-failed")
    assert code == 0 and "0 mail(s) queued again" in out


async def test_drain_without_smtp_keeps_the_mail(env: str, tmp_path: Path) -> None:
    await _enqueue(env, "k1")
    tenants = _tenant_file(tmp_path, 'sender = "info@library.akiruno.tokyo.jp"\n')
    code, out = await asyncio.to_thread(_invoke, "drain", "--config", str(tenants))
    assert code == 0 and "akiruno: mail is not configured" in out
    assert "sent 0, retrying 0, failed 0" in out
    code, out = await asyncio.to_thread(_invoke, "status")
    assert out.splitlines()[1].split() == ["akiruno", "1", "0", "0", "0"]


def test_tenant_mail_config_errors_name_the_key() -> None:
    bad = [
        ('sender = "not an address"', "tenants[0].mail.sender"),
        ('sender = "a@b.jp"\nencoding = "shift_jis"', "tenants[0].mail.encoding"),
        ('sender = "a@b.jp"\nsender_name = "a\\nb"', "tenants[0].mail.sender_name"),
        ('sender = "a@b.jp"\n[tenants.mail.smtp]\nhost = "h"\npassword_env = "X"', "username"),
        (
            'sender = "a@b.jp"\n[tenants.mail.smtp]\nhost = "h"\nusername = "u"\n'
            'password_env = "1x"',
            "password_env",
        ),
        ('sender = "a@b.jp"\n[tenants.mail.smtp]\nhost = "h"\nsecurity = "ssl"', "security"),
        ('sender = "a@b.jp"\nfrom = "x"', "tenants[0].mail.from"),
    ]
    base = BASE.format(id="akiruno", name="n", name_en="e") + "\n[tenants.mail]\n"
    for body, key in bad:
        with pytest.raises(TenantConfigError) as failed:
            parse_tenants(base + body)
        assert key in str(failed.value), (body, str(failed.value))
    ok = tenant('sender = "a@b.jp"\n[tenants.mail.smtp]\nhost = "h"\nsecurity = "tls"')
    assert ok.mail is not None and ok.mail.smtp is not None and ok.mail.smtp.effective_port == 465


def test_config_check_warns_about_smtp_secrets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AKIRUNO_SMTP_PW", raising=False)
    path = _tenant_file(
        tmp_path,
        'sender = "a@b.jp"\n[tenants.mail.smtp]\nhost = "h"\nsecurity = "none"\n'
        'username = "u"\npassword_env = "AKIRUNO_SMTP_PW"\n',
    )
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "akiruno: mail.smtp.password_env: warning: AKIRUNO_SMTP_PW is not set" in result.output
    assert "akiruno: mail.smtp.security: warning: authenticating without TLS" in result.output
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "overdue.ja.txt").write_text("{{ itemz }}\n")
    path = _tenant_file(tmp_path, 'sender = "a@b.jp"\ntemplates = "tpl"\n')
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert "akiruno: mail.templates: error: overdue.ja: 'itemz' is undefined" in result.output


def test_config_show_masks_the_smtp_password(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ILS_GATEWAY_SMTP_URL", "smtp+starttls://gw:hunter2@smtp.example.jp")
    monkeypatch.setenv("ILS_GATEWAY_MAIL_SENDER", "library@example.jp")
    monkeypatch.delenv("ILS_GATEWAY_SETTINGS", raising=False)
    path = _tenant_file(tmp_path, 'sender = "a@b.jp"\nencoding = "iso-2022-jp"\n')
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "smtp_url" in result.output and "gw:********@smtp.example.jp" in result.output
    assert '"mail": {"sender": "a@b.jp"' in result.output
    monkeypatch.setenv("ILS_GATEWAY_SMTP_URL", "ftp://gw:hunter2@h")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 1 and "ILS_GATEWAY_SMTP_URL" in result.output
    assert "hunter2" not in result.output
