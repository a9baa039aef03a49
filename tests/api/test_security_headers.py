"""Response headers every client relies on (issue 15, HTTP): personal answers are never stored
by a browser or proxy, no content sniffing, no server version, and a challenge on every 401."""

from __future__ import annotations

from api_helpers import CARD, PASSWORD, login

T = "/v1/tenants/koha-demo"


def _common(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    server = response.headers.get("Server", "")
    assert "aiohttp" not in server.lower() and "python" not in server.lower()
    assert not any(ch.isdigit() for ch in server), server


async def test_personal_responses_and_login_are_no_store(client):
    login_response = await client.post(
        f"{T}/sessions", json={"card_number": CARD, "password": PASSWORD}
    )
    assert login_response.status == 201
    assert "no-store" in login_response.headers["Cache-Control"]
    _common(login_response)
    headers = {"Authorization": f"Bearer {(await login_response.json())['token']}"}
    for path in ("/loans", "/loans", "/holds", "/patron", "/patron/card.svg"):
        response = await client.get(T + path, headers=headers)
        assert response.status == 200, (path, await response.text())
        assert "no-store" in response.headers["Cache-Control"], path
        _common(response)


async def test_errors_and_public_answers_carry_nosniff_and_no_server_version(client):
    for path in (f"{T}/libraries", "/healthz", "/openapi.json", f"{T}/no-such-thing"):
        response = await client.get(path)
        _common(response)
    wrong = await client.post(f"{T}/sessions", json={"card_number": CARD, "password": "x-Nope1"})
    assert wrong.status == 401
    assert "no-store" in wrong.headers["Cache-Control"]
    _common(wrong)


async def test_every_401_carries_a_bearer_challenge(client):
    no_token = await client.get(f"{T}/loans")
    bad_token = await client.get(f"{T}/loans", headers={"Authorization": "Bearer nope"})
    wrong_password = await client.post(
        f"{T}/sessions", json={"card_number": CARD, "password": "x-Nope1"}
    )
    for response in (no_token, bad_token, wrong_password):
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and 'realm="' in challenge
        _common(response)
    headers = await login(client)
    ok = await client.get(f"{T}/loans", headers=headers)
    assert "WWW-Authenticate" not in ok.headers
