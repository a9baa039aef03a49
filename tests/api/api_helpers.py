"""Helpers of the API tests: the demo patron and logging in."""

from __future__ import annotations

from pathlib import Path

KOHA_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "koha-demo.toml"

CARD, PASSWORD = "1000000001", "hanako01"


async def login(client, card: str = CARD, password: str = PASSWORD, **headers: str) -> dict:
    response = await client.post(
        "/v1/tenants/koha-demo/sessions",
        json={"card_number": card, "password": password},
        headers=headers,
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    return {"Authorization": f"Bearer {body['token']}"}


def tenant_toml(url: str, extra: str = "", fields: str = "") -> str:
    """The koha-demo example tenant pointed at ``url``, with ``extra`` TOML appended and
    ``fields`` (keys of the ``[[tenants]]`` table itself, e.g. ``kiosk_keys``) added."""
    text = KOHA_EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", url)
    text = text.replace('id = "koha-demo"\n', f'id = "koha-demo"\n{fields}\n', 1)
    return text + "\n" + extra
