"""E-mail addresses set through PATCH …/patron/settings are confirmed by a mailed link (issue 18):
nothing is written before the link is followed; then ``email1`` reaches Koha (``email`` of the
patron record) and FOLIO (``personal.email`` of the user) and stays in the gateway for SIP2,
``email2`` stays in the gateway everywhere. Each branch runs against the SIP2 (Saitama), Koha
(Kanagawa) and FOLIO simulator tenants."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ils_gateway.mail.drain import drain_outbox
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.simulators.library import Operation

sys.path.insert(0, str(Path(__file__).parents[1] / "mail"))

from mail_smtpd import Catcher, start_smtpd

HANAKO = "1000000001"  # hanako@example.jp, 048-000-0001, password hanako01
OLD = "hanako@example.jp"
NEW = "hanako.new@example.jp"
SECOND = "hanako.mobile@example.jp"
PROBLEM = "https://ils-gateway.dev/problems/"

# tenant file → where email1 lives once confirmed
SITES = {"saitama": "gateway", "kanagawa": "library_system", "folio-example": "library_system"}


def _config(site: Any) -> Any:
    return site.client.server.app[GATEWAY_KEY].tenant(site.tenant).config


async def _patch(site: Any, auth: dict[str, str], body: dict[str, Any]) -> Any:
    return await site.client.patch(site.base + "/patron/settings", json=body, headers=auth)


async def _settings(site: Any, auth: dict[str, str]) -> dict[str, Any]:
    response = await site.client.get(site.base + "/patron/settings", headers=auth)
    assert response.status == 200
    return dict(await response.json())


async def _link(site: Any, address: str) -> str:
    """The token of the newest confirmation link mailed to ``address``."""
    mails = [m for m in await site.mails("email_confirm") if m.recipients == (address,)]
    assert mails, f"no link to {address}"
    return str(mails[0].context["token"])


async def _confirm(site: Any, token: str) -> Any:
    return await site.post("/account/contact/confirm", {"token": token})


def _writes_refused(site: Any) -> None:
    """Every contact write the library system gets from now on fails: a test passing with this
    shows nothing was written."""
    site.library.faults.failure_rate[Operation.UPDATE_CONTACT] = 1.0


def _writes_allowed(site: Any) -> None:
    site.library.faults.failure_rate.pop(Operation.UPDATE_CONTACT, None)


async def _open(open_account_site: Any, name: str) -> tuple[Any, dict[str, str]]:
    site = await open_account_site(name)
    return site, await site.login(HANAKO, "hanako01")


async def _email1_confirmed(site: Any, auth: dict[str, str], address: str) -> None:
    assert (await _patch(site, auth, {"email1": address})).status == 202
    assert (await _confirm(site, await _link(site, address))).status == 200


@pytest.mark.parametrize("name", SITES)
async def test_a_new_email1_waits_for_its_link_then_lands_where_the_library_keeps_it(
    open_account_site: Any, name: str
) -> None:
    site, auth = await _open(open_account_site, name)
    stored_in = SITES[name]
    _writes_refused(site)
    response = await _patch(site, auth, {"email1": NEW, "due_date_reminder": True})
    assert response.status == 202, await response.text()
    body = await response.json()
    [pending] = body["pending_confirmation"]
    assert pending["field"] == "email1" and pending["confirm_sent_to"] == "h***@example.jp"
    assert pending["stored_in"] == stored_in
    assert body["stored_in"] == {
        "email1": stored_in,
        "email2": "gateway",
        "hold_contact_method": "gateway",
    }
    assert body["email1"] is None  # not saved yet
    assert body["due_date_reminder"] is True  # the other field of the request is
    assert (await _settings(site, auth))["email1"] is None
    assert site.library.patron_info(HANAKO).email == OLD  # nothing reached the library
    [link] = await site.mails("email_confirm")
    assert link.recipients == (NEW,)
    assert link.context["expires_at"] == pending["expires_at"].replace("Z", "+00:00")
    [told] = await site.mails("address_change_confirm")
    assert told.recipients == (OLD,)
    assert told.context["changes"] == ["メールアドレス：h***@example.jp（確認待ち）"]

    _writes_allowed(site)
    done = await _confirm(site, str(link.context["token"]))
    assert done.status == 200, await done.text()
    assert await done.json() == {
        "stored_in": stored_in,
        "email": NEW,
        "phone": None,
        "field": "email1",
    }
    record = site.library.patron_info(HANAKO)
    if stored_in == "library_system":
        # The whole record went back: the phone survived the write.
        assert (record.email, record.phone) == (NEW, "048-000-0001")
    else:
        assert record.email == OLD  # SIP2 has no message that writes an address
    assert (await _settings(site, auth))["email1"] == NEW
    again = await _confirm(site, str(link.context["token"]))
    assert again.status == 410 and (await again.json())["type"] == PROBLEM + "link-invalid"
    notices = sorted(m.recipients for m in await site.mails("address_change_confirm"))
    assert notices == [(NEW,), (OLD,)]  # the new address is told once it is done


@pytest.mark.parametrize("name", SITES)
async def test_email2_is_kept_in_the_gateway_and_needs_a_confirmed_email1(
    open_account_site: Any, name: str
) -> None:
    site, auth = await _open(open_account_site, name)
    alone = await _patch(site, auth, {"email2": SECOND})
    problem = await alone.json()
    assert alone.status == 409, problem
    assert (problem["type"], problem["field"]) == (PROBLEM + "email1-required", "email2")
    # A pending email1 does not count either: email2 waits until email1 is confirmed.
    both = await _patch(site, auth, {"email1": NEW, "email2": SECOND})
    assert both.status == 409
    assert await site.mails() == []
    await _email1_confirmed(site, auth, NEW)
    library_email = site.library.patron_info(HANAKO).email

    _writes_refused(site)
    response = await _patch(site, auth, {"email2": SECOND, "hold_notice_to": "email2"})
    assert response.status == 202, await response.text()
    [pending] = (await response.json())["pending_confirmation"]
    assert (pending["field"], pending["stored_in"]) == ("email2", "gateway")
    done = await _confirm(site, await _link(site, SECOND))
    assert done.status == 200, await done.text()
    assert await done.json() == {
        "stored_in": "gateway",
        "email": SECOND,
        "phone": None,
        "field": "email2",
    }
    kept = await _settings(site, auth)
    # The notice routing named the pending address: it was saved with it.
    assert (kept["email1"], kept["email2"], kept["hold_notice_to"]) == (NEW, SECOND, "email2")
    assert site.library.patron_info(HANAKO).email == library_email  # email2 never goes there


@pytest.mark.parametrize("name", SITES)
async def test_removing_an_address_is_done_at_once_and_the_old_address_is_told(
    open_account_site: Any, name: str
) -> None:
    site, auth = await _open(open_account_site, name)
    await _email1_confirmed(site, auth, NEW)
    assert (await _patch(site, auth, {"email2": SECOND})).status == 202
    assert (await _confirm(site, await _link(site, SECOND))).status == 200
    keep_email2 = await _patch(site, auth, {"email1": None})
    assert keep_email2.status == 409  # email2 would be left without email1
    assert (await keep_email2.json())["type"] == PROBLEM + "email1-required"
    before = len(await site.mails())

    gone = await _patch(site, auth, {"email2": ""})
    assert gone.status == 200, await gone.text()
    body = await gone.json()
    assert (body["email2"], body["pending_confirmation"]) == (None, [])
    gone = await _patch(site, auth, {"email1": None})
    assert gone.status == 200, await gone.text()
    assert (await gone.json())["email1"] is None
    new_mails = (await site.mails())[: len(await site.mails()) - before]
    told = sorted((m.template, m.recipients, tuple(m.context["changes"])) for m in new_mails)
    line = ("メールアドレス：-",)
    assert told == sorted(
        [("address_change_confirm", (NEW,), line), ("address_change_confirm", (SECOND,), line)]
    )
    record = site.library.patron_info(HANAKO)
    if SITES[name] == "library_system":
        assert (record.email, record.phone) == (None, "048-000-0001")
    else:
        assert record.email == OLD
    kept = await _settings(site, auth)
    assert (kept["email1"], kept["email2"]) == (None, None)


@pytest.mark.parametrize("name", SITES)
async def test_an_expired_link_writes_nothing(
    open_account_site: Any, clock: Any, name: str
) -> None:
    site, auth = await _open(open_account_site, name)
    assert (await _patch(site, auth, {"email1": NEW})).status == 202
    token = await _link(site, NEW)
    minutes = _config(site).policy.account.confirm_link_minutes
    clock.advance(minutes=minutes + 1)
    expired = await _confirm(site, token)
    assert expired.status == 410 and (await expired.json())["type"] == PROBLEM + "link-invalid"
    assert site.library.patron_info(HANAKO).email == OLD
    auth = await site.login(HANAKO, "hanako01")  # the session ended meanwhile
    assert (await _settings(site, auth))["email1"] is None
    bad = await _confirm(site, "not a token")
    assert bad.status == 400 and (await bad.json())["field"] == "token"


@pytest.mark.parametrize("name", SITES)
async def test_confirmation_mails_are_limited_per_card(open_account_site: Any, name: str) -> None:
    site, auth = await _open(open_account_site, name)
    allowed = _config(site).policy.account.reset_requests_per_card
    for n in range(allowed):
        response = await _patch(site, auth, {"email1": f"hanako{n}@example.jp"})
        assert response.status == 202, await response.text()
    mailed = len(await site.mails())
    limited = await _patch(site, auth, {"email1": "hanako.x@example.jp", "due_date_reminder": True})
    problem = await limited.json()
    assert limited.status == 429 and problem["type"] == PROBLEM + "account-requests-limited"
    assert len(await site.mails()) == mailed
    assert (await _settings(site, auth))["due_date_reminder"] is False  # nothing applied
    # Only the newest link for an address works: the older ones were voided.
    assert (await _confirm(site, await _link(site, "hanako0@example.jp"))).status == 410
    newest = await _confirm(site, await _link(site, f"hanako{allowed - 1}@example.jp"))
    assert newest.status == 200


async def test_bad_addresses_name_their_field_and_mail_nothing(open_account_site: Any) -> None:
    site, auth = await _open(open_account_site, "akiruno")  # Akiruno's address rules
    for body, field in (
        ({"email1": ".hanako@example.jp"}, "email1"),
        ({"email1": "hanako..x@example.jp", "due_date_reminder": True}, "email1"),
        ({"email1": "not an address"}, "email1"),
    ):
        response = await _patch(site, auth, body)
        problem = await response.json()
        assert response.status == 400 and problem["field"] == field, (body, problem)
    assert await site.mails() == []
    assert (await _settings(site, auth))["due_date_reminder"] is False


async def test_one_address_libraries_refuse_email2(open_account_site: Any) -> None:
    site = await open_account_site(
        "kanagawa", edit=lambda text: text + "\n[tenants.policy.email]\nmax_addresses = 1\n"
    )
    auth = await site.login(HANAKO, "hanako01")
    response = await _patch(site, auth, {"email2": SECOND})
    problem = await response.json()
    assert response.status == 400 and problem["field"] == "email2", problem


async def test_a_link_whose_card_now_names_another_patron_writes_nothing(
    open_account_site: Any,
) -> None:
    site, auth = await _open(open_account_site, "kanagawa")
    assert (await _patch(site, auth, {"email1": NEW})).status == 202
    token = await _link(site, NEW)
    # The card is reissued to someone else before the link is followed: Koha answers the
    # card's search with another patron, whom the link must not touch.
    patrons = {p.card_number: p for p in site.library.data.patrons}
    other = patrons["1000000002"]
    hanako = patrons[HANAKO]
    hanako.card_number, other.card_number = other.card_number, hanako.card_number
    site.library._reindex()  # the model's card index follows the records, as Koha's search does
    before = (site.library.patron_by_id(other.id).email, site.library.patron_by_id(hanako.id).email)
    refused = await _confirm(site, token)
    assert refused.status == 410, await refused.text()
    after = (site.library.patron_by_id(other.id).email, site.library.patron_by_id(hanako.id).email)
    assert after == before


async def test_a_write_whose_outcome_stays_unknown_uses_up_the_link(open_account_site: Any) -> None:
    site, auth = await _open(open_account_site, "folio-example")
    assert (await _patch(site, auth, {"email1": NEW})).status == 202
    token = await _link(site, NEW)
    _writes_refused(site)  # FOLIO answers 500 to every PUT /users/{id}
    failed = await _confirm(site, token)
    problem = await failed.json()
    assert (failed.status, problem["type"]) == (504, PROBLEM + "outcome-unknown"), problem
    assert site.library.patron_info(HANAKO).email == OLD
    assert (await _settings(site, auth))["email1"] is None
    _writes_allowed(site)
    # Read back, not done, maybe sent: the link is not tried again; the patron asks anew.
    assert (await _confirm(site, token)).status == 410
    assert (await _patch(site, auth, {"email1": NEW})).status == 202
    assert (await _confirm(site, await _link(site, NEW))).status == 200
    assert site.library.patron_info(HANAKO).email == NEW


async def test_the_link_mail_reaches_an_smtp_server_and_its_link_confirms(
    open_account_site: Any, clock: Any
) -> None:
    site, auth = await _open(open_account_site, "kanagawa")
    assert (
        await _patch(
            site,
            auth,
            {"email1": NEW},
        )
    ).status == 202
    catcher = Catcher()
    server, port = await start_smtpd(catcher)
    try:
        report = await drain_outbox(
            site.client.server.app[GATEWAY_KEY].outbox.repository,
            [_config(site)],
            clock=clock,
            default_server=SmtpServer("127.0.0.1", port, timeout=5.0),
        )
    finally:
        server.close()
        await server.wait_closed()
    assert (report.sent, report.failed) == (2, 0)
    by_rcpt = {tuple(r.rcpt_tos): r for r in catcher.received}
    assert set(by_rcpt) == {(NEW,), (OLD,)}
    link_mail = by_rcpt[(NEW,)]
    assert link_mail.message["To"] == NEW
    assert link_mail.mail_from == "noreply@library.example.jp"
    base = re.escape("https://library.example.jp/kanagawa/mylibrary/confirm?token=")
    [token] = re.findall(base + r"([A-Za-z0-9_-]+)", link_mail.text)
    assert token not in by_rcpt[(OLD,)].text  # the old address never sees the link
    assert "確認待ち" in by_rcpt[(OLD,)].text
    done = await _confirm(site, token)
    assert done.status == 200 and (await done.json())["email"] == NEW
    assert site.library.patron_info(HANAKO).email == NEW


@pytest.mark.parametrize("name", ["kanagawa", "folio-example"])
async def test_a_contact_change_moves_the_saved_email1_along(
    open_account_site: Any, name: str
) -> None:
    site, auth = await _open(open_account_site, name)
    await _email1_confirmed(site, auth, NEW)
    # The same patron changes the address through …/patron/contact: the library system gets
    # it, and the settings' copy (what notices read first) must not keep the replaced one.
    assert (await site.post("/patron/contact", {"email": SECOND}, auth)).status == 202
    done = await _confirm(site, await _link(site, SECOND))
    assert done.status == 200, await done.text()
    assert site.library.patron_info(HANAKO).email == SECOND
    assert (await _settings(site, auth))["email1"] == SECOND


@pytest.mark.parametrize("name", SITES)
async def test_a_changed_hold_contact_method_is_saved_and_confirmed_by_mail(
    open_account_site: Any, name: str
) -> None:
    """The hold contact method lives in the gateway on every backend kind (the API says so);
    a change is mailed to the address in use, so a session taken over cannot turn the
    patron's notices off unseen."""
    site, auth = await _open(open_account_site, name)
    offered = [m.value for m in _config(site).policy.holds.contact_methods]
    quieter = "phone" if "phone" in offered else "none"
    response = await _patch(site, auth, {"hold_contact_method": quieter})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["hold_contact_method"] == quieter
    assert body["stored_in"]["hold_contact_method"] == "gateway"
    [told] = await site.mails("address_change_confirm")
    assert told.recipients == (OLD,)
    label = {"phone": "電話", "none": "連絡不要"}[quieter]
    assert told.context["changes"] == [f"予約の連絡方法：図書館の登録どおり → {label}"]
    again = await _patch(site, auth, {"hold_contact_method": quieter})
    assert again.status == 200
    assert len(await site.mails("address_change_confirm")) == 1  # no change, no mail
