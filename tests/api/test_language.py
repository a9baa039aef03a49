"""Answers in the tenant's words and the request's language over the Koha simulator (issue 16):
label overrides in English too, the tenant's default language, password problems in Japanese,
and the OpenAPI document's Accept-Language parameter."""

from __future__ import annotations

from api_helpers import login

from ils_gateway.api.language import negotiate

T = "/v1/tenants/koha-demo"

EN_WORDS = """
[tenants.labels.en.hold_status]
waiting = "In the queue"
[tenants.labels.ja.hold_status]
waiting = "予約中です"
"""


def test_accept_language_negotiation() -> None:
    assert negotiate(None, "ja") == "ja"
    assert negotiate("", "en") == "en"
    assert negotiate("en", "ja") == "en"
    assert negotiate("en-GB,en;q=0.9", "ja") == "en"
    assert negotiate("fr, de;q=0.5", "ja") == "ja"  # neither offered: the tenant's default
    assert negotiate("fr, *;q=0.1", "en") == "en"
    assert negotiate("en;q=0.2, ja;q=0.9", "en") == "ja"
    assert negotiate("ja;q=0, en;q=0.1", "ja") == "en"  # q=0 means "not this"
    assert negotiate("en;q=bogus, ja", "en") == "ja"


async def test_labels_use_the_tenants_words_in_both_languages(make_client) -> None:
    client = await make_client(EN_WORDS)
    auth = await login(client)
    for lang, word in (("ja", "予約中です"), ("en", "In the queue")):
        response = await client.get(f"{T}/holds", headers={**auth, "Accept-Language": lang})
        holds = (await response.json())["holds"]
        assert response.headers["Content-Language"] == lang
        assert {h["status_label"] for h in holds if h["status"] == "waiting"} == {word}


async def test_a_tenant_may_default_to_english(make_client) -> None:
    client = await make_client('\n[tenants.language]\ndefault = "en"\n')
    response = await client.post(
        f"{T}/sessions", json={"card_number": "1000000001", "password": "wrong"}
    )
    assert response.headers["Content-Language"] == "en"
    assert (await response.json())["title"] == "Card number or password is incorrect"


async def test_password_rules_are_explained_in_japanese_by_default(make_client) -> None:
    client = await make_client(
        "\n[tenants.policy.password]\nmin_length = 10\nrequire_symbol = true\n"
    )
    auth = await login(client)
    weak = await client.post(
        f"{T}/patron/password",
        headers=auth,
        json={"old_password": "hanako01", "new_password": "short"},
    )
    problem = await weak.json()
    assert weak.status == 400 and problem["type"].endswith("/password-rejected")
    assert problem["problems"][0].startswith("length must be 10-")
    assert "10〜" in problem["detail"] and "記号" in problem["detail"]
    english = await client.post(
        f"{T}/patron/password",
        headers={**auth, "Accept-Language": "en"},
        json={"old_password": "hanako01", "new_password": "short"},
    )
    assert "length must be 10-" in (await english.json())["detail"]
    wrong_old = await client.post(
        f"{T}/patron/password",
        headers=auth,
        json={"old_password": "not-it", "new_password": "Long#enough-1"},
    )
    problem = await wrong_old.json()
    assert wrong_old.status == 400 and problem["type"].endswith("/password-rejected")
    assert problem["detail"].endswith("現在のパスワードが正しくありません")


async def test_every_answer_varies_by_accept_language(client) -> None:
    for path in ("/healthz", f"{T}/libraries", "/v1/tenants/nowhere/sessions"):
        response = await client.get(path)
        assert "Accept-Language" in response.headers["Vary"], path
        assert response.headers["Content-Language"] in ("ja", "en"), path


async def test_openapi_documents_accept_language(client) -> None:
    doc = await (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/v1/tenants/{tenant}/holds"]["get"]
    names = {p.get("name") for p in operation.get("parameters", [])}
    refs = {p.get("$ref") for p in operation.get("parameters", [])}
    assert "Accept-Language" in names or "#/components/parameters/AcceptLanguage" in refs


async def test_the_patrons_blocks_are_labelled_even_when_there_are_none(client) -> None:
    auth = await login(client)
    patron = (await (await client.get(f"{T}/patron", headers=auth)).json())["patron"]
    assert len(patron["blocks_labels"]) == len(patron["blocks"])
