"""Password reset by mailed link (issue 18): one answer whatever the card, single use,
expiry on the injected clock, limits per card and per client address, every session ended."""

from __future__ import annotations

HANAKO = "1000000001"  # hanako@example.jp, password hanako01
TADASHI = "1000000007"  # no e-mail address


async def _ask(site, card: str, email: str | None = "hanako@example.jp"):
    body = {"card_number": card} if email is None else {"card_number": card, "email": email}
    return await site.post("/account/password-reset", body)


async def test_kanagawa_reset_sets_the_koha_password_once_and_ends_every_session(
    open_account_site,
):
    site = await open_account_site("kanagawa")
    web = await site.login(HANAKO, "hanako01")
    response = await _ask(site, HANAKO)
    assert response.status == 202 and await response.json() == {"status": "accepted"}
    [mail] = await site.mails("password_reset")
    assert mail.recipients == ("hanako@example.jp",)
    assert mail.context[
        "reset_url"
    ] == "https://library.example.jp/kanagawa/mylibrary/reset?token=" + str(mail.context["token"])
    assert mail.context["masked_card"].endswith("0001")
    token = str(mail.context["token"])
    assert token not in mail.dedup_key
    confirm = {"token": token, "new_password": "Sakura#2025x"}
    answer = await site.post("/account/password-reset/confirm", confirm)
    assert answer.status == 200, await answer.text()
    assert await answer.json() == {"stored_in": "library_system"}
    assert site.library.authenticate(HANAKO, "Sakura#2025x").ok
    # The session opened before the reset is over.
    assert (await site.client.get(site.base + "/patron", headers=web)).status == 401
    # Single use.
    again = await site.post(
        "/account/password-reset/confirm", {**confirm, "new_password": "Momo#20251"}
    )
    problem = await again.json()
    assert again.status == 410 and problem["type"].endswith("/link-invalid")
    assert await site.login_status(HANAKO, "Sakura#2025x") == 201


async def test_no_enumeration_the_answer_is_the_same_whatever_the_card(open_account_site):
    site = await open_account_site("kanagawa")
    answers = []
    for card, email in (
        (HANAKO, "hanako@example.jp"),  # known, matching address: mailed
        ("1999999999", "hanako@example.jp"),  # unknown card
        (HANAKO, "someone@example.jp"),  # another address
        (TADASHI, "tadashi@example.jp"),  # no address on record
    ):
        response = await _ask(site, card, email)
        answers.append((response.status, await response.text()))
    assert len(set(answers)) == 1 and answers[0][0] == 202
    assert [m.recipients for m in await site.mails("password_reset")] == [("hanako@example.jp",)]
    # The address is asked for where the library asks it; a malformed card is the request's
    # own fault (it says nothing about any account).
    response = await _ask(site, HANAKO, None)
    assert response.status == 400 and (await response.json())["field"] == "email"
    response = await _ask(site, "12-34", "hanako@example.jp")
    assert response.status == 400 and (await response.json())["field"] == "card_number"


async def test_a_link_expires_on_the_clock(open_account_site, clock):
    site = await open_account_site("kanagawa")
    await _ask(site, HANAKO)
    token = await site.token("password_reset")
    clock.advance(minutes=61)  # kanagawa: reset_link_minutes = 60
    response = await site.post(
        "/account/password-reset/confirm", {"token": token, "new_password": "Sakura#2025x"}
    )
    assert response.status == 410
    assert await site.login_status(HANAKO, "hanako01") == 201


async def test_bad_confirm_inputs_name_the_field_and_keep_the_link(open_account_site):
    site = await open_account_site("kanagawa")
    await _ask(site, HANAKO)
    token = await site.token("password_reset")
    weak = await site.post("/account/password-reset/confirm", {"token": token, "new_password": "a"})
    assert weak.status == 400 and (await weak.json())["field"] == "new_password"
    bad = await site.post("/account/password-reset/confirm", {"token": "no!", "new_password": "a"})
    assert bad.status == 400
    odd = await site.post(
        "/account/password-reset/confirm", {"token": "x" * 43, "new_password": "Sakura#2025x"}
    )
    assert odd.status == 410
    good = await site.post(
        "/account/password-reset/confirm", {"token": token, "new_password": "Sakura#2025x"}
    )
    assert good.status == 200  # the refused tries did not use the link up


async def test_requests_are_limited_per_card_silently_and_per_address_loudly(
    open_account_site,
):
    site = await open_account_site(
        "kanagawa",
        edit=lambda t: t.replace(
            "reset_by_email = true", "reset_by_email = true\nreset_requests_per_address = 5"
        ),
    )
    statuses = [(await _ask(site, HANAKO)).status for _ in range(5)]
    assert statuses == [202] * 5
    assert len(await site.mails("password_reset")) == 3  # 3 links per card an hour
    limited = await _ask(site, HANAKO)
    assert limited.status == 429 and (await limited.json())["type"].endswith(
        "/account-requests-limited"
    )
    # Only the newest link works.
    tokens = [str(m.context["token"]) for m in await site.mails("password_reset")]
    older = await site.post(
        "/account/password-reset/confirm", {"token": tokens[-1], "new_password": "Sakura#2025x"}
    )
    assert older.status == 410
    newest = await site.post(
        "/account/password-reset/confirm", {"token": tokens[0], "new_password": "Sakura#2025x"}
    )
    assert newest.status == 200


async def test_ibaraki_on_sip2_keeps_the_reset_password_in_the_gateway(open_account_site):
    site = await open_account_site("ibaraki")
    await _ask(site, HANAKO)
    token = await site.token("password_reset")
    response = await site.post(
        "/account/password-reset/confirm", {"token": token, "new_password": "aoba2025"}
    )
    assert response.status == 200 and await response.json() == {"stored_in": "gateway"}
    assert await site.login_status(HANAKO, "aoba2025") == 201
    assert await site.login_status(HANAKO, "hanako01") == 401


async def test_a_library_without_reset_by_mail_says_so(open_account_site):
    site = await open_account_site("saitama")
    response = await site.post("/account/password-reset", {"card_number": HANAKO})
    assert response.status == 403 and (await response.json())["feature"] == "password_reset"


async def test_a_reset_ends_the_acs_temporary_password_gate_at_ibaraki(open_account_site):
    site = await open_account_site("ibaraki")
    misaki = "1000000004"  # on the counter's temporary password (the ACS says so in 64)
    first = await site.post("/sessions", {"card_number": misaki, "password": "4825170396"})
    assert (await first.json())["password_change_required"] is True
    await _ask(site, misaki, "misaki@example.jp")
    token = await site.token("password_reset")
    done = await site.post(
        "/account/password-reset/confirm", {"token": token, "new_password": "misaki25"}
    )
    assert done.status == 200
    again = await site.post("/sessions", {"card_number": misaki, "password": "misaki25"})
    assert again.status == 201 and (await again.json())["password_change_required"] is False


async def test_folio_reset_sets_the_patron_pin(open_account_site):
    site = await open_account_site(
        "folio-example",
        edit=lambda text: text + "\n[tenants.policy.account]\nreset_by_email = true\n",
    )
    web = await site.login(HANAKO, "hanako01")
    response = await site.post("/account/password-reset", {"card_number": HANAKO})
    assert response.status == 202
    token = await site.token("password_reset")
    assert (await site.mails("password_reset"))[0].context["reset_url"] == token  # no page named
    done = await site.post(
        "/account/password-reset/confirm", {"token": token, "new_password": "folio1234"}
    )
    assert done.status == 200 and await done.json() == {"stored_in": "library_system"}
    assert site.library.authenticate(HANAKO, "folio1234").ok
    assert (await site.client.get(site.base + "/patron", headers=web)).status == 401
