"""First-password registration (issue 18) per backend kind: the tenant's proofs, checked
against the library system's record; the password set in the library system where it can be
(Koha, FOLIO) and kept by the gateway otherwise (SIP2)."""

from __future__ import annotations

HANAKO = "1000000001"  # 山田 花子, hanako@example.jp, 048-000-0001, password hanako01
MISAKI = "1000000004"  # 高橋 美咲: the temporary 10-digit password 4825170396


def _born(site, card: str) -> str:
    return site.library.patron_info(card).birth_date.isoformat()


async def test_saitama_registers_by_phone_and_birth_date_and_the_gateway_keeps_it(
    open_account_site,
):
    site = await open_account_site("saitama")
    body = {
        "card_number": "1000-000-001",  # hyphens stripped as at login
        "proofs": {"phone": "０４８-000-0001", "birth_date": _born(site, HANAKO)},
        "new_password": "mori2025",
    }
    response = await site.post("/account/registration", body)
    assert response.status == 201, await response.text()
    assert await response.json() == {"stored_in": "gateway"}
    # The gateway checks the password now; the ACS's old one no longer opens a session.
    auth = await site.login(HANAKO, "mori2025")
    assert (await site.client.get(site.base + "/patron", headers=auth)).status == 200
    assert await site.login_status(HANAKO, "hanako01") == 401
    [mail] = await site.mails("registration_confirm")
    assert mail.recipients == ("hanako@example.jp",)
    assert "1000000001" not in str(mail.context)
    # A password the gateway keeps is changed in the gateway (the current one checked).
    change = {"old_password": "mori2025", "new_password": "kawa2026"}
    answer = await site.post("/patron/password", change, auth)
    assert answer.status == 204, await answer.text()
    assert await site.login_status(HANAKO, "kawa2026") == 201
    wrong = await site.post(
        "/patron/password", {"old_password": "nope", "new_password": "umi2027"}, auth
    )
    problem = await wrong.json()
    assert wrong.status == 400 and problem["field"] == "old_password"


async def test_wrong_proofs_are_one_answer_naming_no_field(open_account_site):
    site = await open_account_site("saitama")
    born = _born(site, HANAKO)
    answers = []
    for card, phone, birth in (
        (HANAKO, "048-000-0009", born),  # wrong phone
        (HANAKO, "048-000-0001", "1900-01-01"),  # wrong birth date
        ("1999999999", "048-000-0001", born),  # unknown card
    ):
        body = {"card_number": card, "proofs": {"phone": phone, "birth_date": birth}}
        response = await site.post("/account/registration", {**body, "new_password": "abcd1234"})
        problem = await response.json()
        answers.append((response.status, problem["type"], problem.get("field")))
    assert answers == [(401, "https://ils-gateway.dev/problems/identity-not-proven", None)] * 3
    assert await site.login_status(HANAKO, "hanako01") == 201  # nothing changed


async def test_bad_registration_inputs_name_the_field_before_any_io(open_account_site):
    site = await open_account_site("saitama")
    base = {"card_number": HANAKO, "new_password": "abcd1234"}
    cases = {
        "proofs.birth_date": {"phone": "048-000-0001"},
        "proofs.issued_code": {"phone": "1", "birth_date": "2000-01-01", "issued_code": "x"},
        "proofs.phone": {"phone": "call me", "birth_date": "2000-01-01"},
    }
    for field, proofs in cases.items():
        response = await site.post("/account/registration", {**base, "proofs": proofs})
        problem = await response.json()
        assert response.status == 400 and problem["field"] == field, problem
    bad_date = {"phone": "048-000-0001", "birth_date": "2000-13-40"}
    response = await site.post("/account/registration", {**base, "proofs": bad_date})
    assert (await response.json())["field"] == "proofs.birth_date"
    proofs = {"phone": "048-000-0001", "birth_date": "2000-01-01"}
    card = {**base, "card_number": "12", "proofs": proofs}
    response = await site.post("/account/registration", card)
    assert (await response.json())["field"] == "card_number"


async def test_akiruno_asks_name_too(open_account_site):
    site = await open_account_site("akiruno")
    proofs = {"name": "山田　花子", "birth_date": _born(site, HANAKO), "phone": "048-000-0001"}
    body = {"card_number": HANAKO, "proofs": proofs, "new_password": "tosho2025"}
    response = await site.post("/account/registration", body)
    assert response.status == 201, await response.text()
    assert (await response.json())["stored_in"] == "gateway"
    wrong = {**body, "proofs": {**proofs, "name": "山田太郎"}}
    assert (await site.post("/account/registration", wrong)).status == 401


async def test_kanagawa_registers_with_the_counter_code_in_koha(open_account_site):
    site = await open_account_site("kanagawa")
    weak = {"card_number": MISAKI, "proofs": {"issued_code": "4825170396"}, "new_password": "short"}
    response = await site.post("/account/registration", weak)
    problem = await response.json()
    assert response.status == 400 and problem["field"] == "new_password"
    assert "must contain a digit" in problem["problems"]
    body = {**weak, "new_password": "Midori#2025"}
    response = await site.post("/account/registration", body)
    assert response.status == 201, await response.text()
    assert await response.json() == {"stored_in": "library_system"}
    assert site.library.authenticate(MISAKI, "Midori#2025").ok  # Koha holds it
    assert await site.login_status(MISAKI, "Midori#2025") == 201
    # The counter code no longer proves anything.
    again = await site.post("/account/registration", {**body, "new_password": "Midori#2026"})
    assert again.status == 401


async def test_folio_registers_by_birth_date_through_patron_pin(open_account_site):
    site = await open_account_site(
        "folio-example",
        edit=lambda text: (
            text + '\n[tenants.policy.account]\nregistration_proofs = ["birth_date"]\n'
        ),
    )
    body = {
        "card_number": HANAKO,
        "proofs": {"birth_date": _born(site, HANAKO)},
        "new_password": "folio1234",
    }
    response = await site.post("/account/registration", body)
    assert response.status == 201, await response.text()
    assert await response.json() == {"stored_in": "library_system"}
    assert site.library.authenticate(HANAKO, "folio1234").ok
    assert await site.login_status(HANAKO, "folio1234") == 201


async def test_a_library_without_registration_says_so(open_account_site):
    site = await open_account_site("nishinomiya")
    body = {"card_number": HANAKO, "proofs": {}, "new_password": "abcd1234"}
    response = await site.post("/account/registration", body)
    problem = await response.json()
    assert response.status == 403 and problem["feature"] == "registration"


async def test_the_account_routes_are_in_the_openapi_document(open_account_site):
    site = await open_account_site("nishinomiya")
    document = await (await site.client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, method in (
        ("/account/registration", "post"),
        ("/account/password-reset", "post"),
        ("/account/password-reset/confirm", "post"),
        ("/patron/contact", "post"),
        ("/account/contact/confirm", "post"),
    ):
        [found] = [p for p in paths if p.endswith(path)]
        assert method in paths[found], path
    stored = document["components"]["schemas"]["PasswordStored"]
    assert stored["properties"]["stored_in"]["enum"] == ["library_system", "gateway"]


async def test_a_proof_the_acs_cannot_receive_is_refused_naming_it(open_account_site):
    site = await open_account_site(
        "nishinomiya",  # SIP2 in Shift_JIS
        edit=lambda t: t + '\n[tenants.policy.account]\nregistration_proofs = ["issued_code"]\n',
    )
    body = {"card_number": HANAKO, "proofs": {"issued_code": "code🙂"}, "new_password": "abcd1234"}
    response = await site.post("/account/registration", body)
    problem = await response.json()
    assert response.status == 400 and "proofs.issued_code" in problem["detail"]
