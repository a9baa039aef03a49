"""E-mail and phone changes confirmed by a mailed link (issue 18): written to Koha (PUT
/patrons/{id}) and FOLIO (PUT /users/{id}) as whole records, kept by the gateway for SIP2."""

from __future__ import annotations

HANAKO = "1000000001"  # hanako@example.jp, 048-000-0001, password hanako01


async def _change(site, body):
    auth = await site.login(HANAKO, "hanako01")
    response = await site.post("/patron/contact", body, auth)
    return response, auth


async def test_koha_email_change_waits_for_the_link_then_reaches_koha(open_account_site):
    site = await open_account_site("kanagawa")
    response, _ = await _change(site, {"email": "hanako.new@example.jp"})
    assert response.status == 202, await response.text()
    pending = await response.json()
    assert pending["confirm_sent_to"] == "h***@example.jp"
    assert pending["stored_in"] == "library_system"
    assert site.library.patron_info(HANAKO).email == "hanako@example.jp"  # not yet
    [confirm] = await site.mails("email_confirm")
    assert confirm.recipients == ("hanako.new@example.jp",)
    [notice] = await site.mails("address_change_confirm")
    assert notice.recipients == ("hanako@example.jp",)  # the old address is told
    token = str(confirm.context["token"])
    done = await site.post("/account/contact/confirm", {"token": token})
    assert done.status == 200, await done.text()
    assert await done.json() == {
        "stored_in": "library_system",
        "email": "hanako.new@example.jp",
        "phone": "048-000-0001",
        "field": None,  # not a settings address (PATCH …/patron/settings)
    }
    record = site.library.patron_info(HANAKO)
    # Koha's PUT replaces the record: the phone survived because it was sent back whole.
    assert (record.email, record.phone) == ("hanako.new@example.jp", "048-000-0001")
    assert (await site.post("/account/contact/confirm", {"token": token})).status == 410
    notices = sorted(m.recipients for m in await site.mails("address_change_confirm"))
    assert notices == [("hanako.new@example.jp",), ("hanako@example.jp",)]


async def test_folio_phone_change_is_confirmed_from_the_current_address(open_account_site):
    site = await open_account_site("folio-example")
    response, _ = await _change(site, {"phone": "03-1234-5678"})
    assert response.status == 202, await response.text()
    [confirm] = await site.mails("email_confirm")
    assert confirm.recipients == ("hanako@example.jp",)
    done = await site.post("/account/contact/confirm", {"token": confirm.context["token"]})
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["stored_in"] == "library_system" and body["phone"] == "03-1234-5678"
    record = site.library.patron_info(HANAKO)
    assert (record.email, record.phone) == ("hanako@example.jp", "03-1234-5678")


async def test_sip2_contact_change_is_kept_in_the_gateway(open_account_site):
    site = await open_account_site("saitama")
    response, auth = await _change(
        site, {"email": "hanako.new@example.jp", "phone": "048-999-0001"}
    )
    assert response.status == 202 and (await response.json())["stored_in"] == "gateway"
    token = await site.token("email_confirm")
    done = await site.post("/account/contact/confirm", {"token": token})
    assert await done.json() == {
        "stored_in": "gateway",
        "email": "hanako.new@example.jp",
        "phone": "048-999-0001",
        "field": None,
    }
    settings = await site.client.get(site.base + "/patron/settings", headers=auth)
    assert (await settings.json())["email1"] == "hanako.new@example.jp"
    assert site.library.patron_info(HANAKO).email == "hanako@example.jp"  # SIP2 untouched


async def test_bad_contact_inputs_name_the_field(open_account_site):
    site = await open_account_site("akiruno")
    auth = await site.login(HANAKO, "hanako01")
    for body, field in (
        ({}, "email"),
        ({"email": ".hanako@example.jp"}, "email"),  # Akiruno: no leading symbol
        ({"email": "hanako..x@example.jp"}, "email"),
        ({"phone": "call me maybe"}, "phone"),
    ):
        response = await site.post("/patron/contact", body, auth)
        problem = await response.json()
        assert response.status == 400 and problem["field"] == field, (body, problem)
    bad = await site.post("/account/contact/confirm", {"token": "<script>"})
    assert bad.status == 400 and (await bad.json())["field"] == "token"
    assert await site.mails() == []


async def test_a_link_for_a_contact_change_expires(open_account_site, clock):
    site = await open_account_site("kanagawa")
    await _change(site, {"email": "hanako.new@example.jp"})
    token = await site.token("email_confirm")
    clock.advance(days=2)
    assert (await site.post("/account/contact/confirm", {"token": token})).status == 410
    assert site.library.patron_info(HANAKO).email == "hanako@example.jp"


async def test_a_confirmed_sip2_address_is_where_the_next_reset_link_goes(open_account_site):
    site = await open_account_site("ibaraki")
    await _change(site, {"email": "hanako.new@example.jp"})
    token = await site.token("email_confirm")
    assert (await site.post("/account/contact/confirm", {"token": token})).status == 200
    # The ACS still has the old address; the gateway's confirmed one wins.
    old = {"card_number": HANAKO, "email": "hanako@example.jp"}
    assert (await site.post("/account/password-reset", old)).status == 202
    assert await site.mails("password_reset") == []
    new = {"card_number": HANAKO, "email": "hanako.new@example.jp"}
    assert (await site.post("/account/password-reset", new)).status == 202
    [mail] = await site.mails("password_reset")
    assert mail.recipients == ("hanako.new@example.jp",)
