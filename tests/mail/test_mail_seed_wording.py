"""Each seed library's mails use its own wording (examples/tenants/mail-templates)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ils_gateway.mail.message import build_message
from ils_gateway.mail.templates import SAMPLE_CONTEXTS, MailTemplates
from ils_gateway.tenants.loader import load_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
TENANTS = {t.id: t for t in load_tenants(EXAMPLES)}

# (tenant, event, words the seed page uses that the mail must carry)
WORDING = [
    ("ibaraki", "hold_ready", "予約資料確保のお知らせ", "予約有効期限日"),
    ("ibaraki", "due_reminder", "返却期限通知", ""),
    ("ibaraki", "overdue", "返却期日が経過した資料のお知らせ", ""),
    ("ibaraki", "sdi_new_arrivals", "新着図書のお知らせ(SDI)", ""),
    ("ibaraki", "ebook_hold_ready", "予約確保のお知らせ", ""),
    ("ibaraki", "password_reset", "パスワード再発行", ""),
    (
        "akiruno",
        "hold_ready",
        "予約取置",
        "取り置き期間を過ぎた資料については、ご連絡せずにキャンセル扱い",
    ),
    ("akiruno", "kiosk_child_entry", "こどもメールサービス", "来館・退館"),
    ("akiruno", "due_reminder", "返却期限", "返却期限の3日前"),
    ("akiruno", "sdi_new_arrivals", "メールマガジン", "新着"),
    ("akiruno", "email_confirm", "確認", ""),
    ("saitama", "hold_ready", "お渡しできます", "開館・休館案内"),
    ("saitama", "email_confirm", "登録確認メール", ""),
    ("saitama", "ebook_hold_ready", "電子書籍が用意できました", ""),
    ("kanagawa", "password_reset", "パスワード設定用ページ", "# $ % & @ + * = ! ( )"),
    ("kanagawa", "due_reminder", "返却期限通知", ""),
    ("nishinomiya", "due_reminder", "返却確認メール", ""),
    ("nishinomiya", "sdi_new_arrivals", "新着図書お知らせメール", ""),
]


@pytest.mark.parametrize(("tenant_id", "event", "subject", "body"), WORDING)
def test_the_library_wording(tenant_id: str, event: str, subject: str, body: str) -> None:
    tenant = TENANTS[tenant_id]
    assert tenant.mail is not None
    out = MailTemplates.for_tenant(tenant).render(
        event,
        "ja",
        SAMPLE_CONTEXTS[event],
        library=tenant.mail.sender_name or tenant.name,
        portal_url=tenant.mail.portal_url,
        signature=tenant.mail.signature,
    )
    assert subject in out.subject
    assert body in out.body


def test_ibaraki_mail_says_it_is_send_only_in_iso_2022_jp() -> None:
    tenant = TENANTS["ibaraki"]
    assert tenant.mail is not None
    rendered = MailTemplates.for_tenant(tenant).render(
        "hold_ready",
        "ja",
        SAMPLE_CONTEXTS["hold_ready"],
        library="茨木市立図書館",
        signature=tenant.mail.signature,
    )
    built = build_message(
        rendered,
        config=tenant.mail,
        sender_name="茨木市立図書館",
        recipients=("hanako@example.jp",),
        mail_id=7,
        tenant_id="ibaraki",
        now=datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
    )
    raw = built.message.as_bytes()
    assert not built.fell_back and all(b < 0x80 for b in raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "予約資料確保のお知らせ（茨木市立図書館）"
    text = parsed.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
    assert "書名：坊っちゃん" in text  # the title is shown (since 平成29年11月10日)
    assert text.endswith("メールは、送信専用です。届いたメールに返信されても受信はできません。\n")


def test_every_seed_library_has_mail_and_its_overrides_check_out() -> None:
    from ils_gateway.mail.templates import override_problems

    for tenant_id in ("akiruno", "ibaraki", "kanagawa", "nishinomiya", "saitama"):
        tenant = TENANTS[tenant_id]
        assert tenant.mail is not None and tenant.mail.templates is not None
        assert tenant.mail.templates.is_absolute()  # taken relative to the tenant file
        assert override_problems(tenant) == []
    assert TENANTS["akiruno"].mail.sender == "info@library.akiruno.tokyo.jp"  # type: ignore[union-attr]
    assert TENANTS["saitama"].mail.sender == "oshirase@lib.city.saitama.jp"  # type: ignore[union-attr]
