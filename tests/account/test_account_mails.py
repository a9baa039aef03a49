"""Every mail the account flows queue renders through the tenant's own templates (the library's
wording where it has one; StrictUndefined: a variable the template needs and the context lacks
fails), in Japanese and English (issue 18)."""

from __future__ import annotations

from ils_gateway.mail.templates import MailTemplates
from ils_gateway.runtime.keys import GATEWAY_KEY

HANAKO = "1000000001"


async def _render_all(site, config) -> list[str]:
    templates = MailTemplates.for_tenant(config)
    bodies = []
    for mail in await site.mails():
        for language in ("ja", "en"):
            rendered = templates.render(mail.template, language, mail.context, library=config.name)
            assert rendered.subject and "None" not in rendered.body, rendered.body
            bodies.append(rendered.body)
    return bodies


def _config(site):
    return site.client.server.app[GATEWAY_KEY].tenant(site.tenant).config


async def test_kanagawa_reset_and_contact_mails_render(open_account_site):
    site = await open_account_site("kanagawa")
    await site.post(
        "/account/password-reset", {"card_number": HANAKO, "email": "hanako@example.jp"}
    )
    auth = await site.login(HANAKO, "hanako01")
    await site.post("/patron/contact", {"email": "hanako.new@example.jp"}, auth)
    token = await site.token("email_confirm")
    await site.post("/account/contact/confirm", {"token": token})
    bodies = await _render_all(site, _config(site))
    templates = sorted({m.template for m in await site.mails()})
    assert templates == ["address_change_confirm", "email_confirm", "password_reset"]
    reset = await site.token("password_reset")
    assert any(
        f"https://library.example.jp/kanagawa/mylibrary/reset?token={reset}" in b for b in bodies
    )
    assert any("確認待ち" in b for b in bodies)


async def test_saitama_registration_mail_renders(open_account_site):
    site = await open_account_site("saitama")
    born = site.library.patron_info(HANAKO).birth_date.isoformat()
    body = {
        "card_number": HANAKO,
        "proofs": {"phone": "048-000-0001", "birth_date": born},
        "new_password": "mori2025",
    }
    assert (await site.post("/account/registration", body)).status == 201
    bodies = await _render_all(site, _config(site))
    assert any("パスワードの登録が完了しました" in b for b in bodies)
