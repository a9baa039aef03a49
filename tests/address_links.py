"""Set a patron's settings address the way a patron does (issue 18): PATCH …/patron/settings
answers 202, the link goes to the new address, following it (POST …/account/contact/confirm
with the mailed token) saves the address."""

from __future__ import annotations

from typing import Any

from ils_gateway.runtime.keys import GATEWAY_KEY


async def confirmed_address(
    client: Any, base: str, auth: dict[str, str], address: str, field: str = "email1"
) -> dict[str, Any]:
    """PATCH ``field`` to ``address``, follow the mailed link; the confirmation's answer."""
    patched = await client.patch(f"{base}/patron/settings", json={field: address}, headers=auth)
    assert patched.status == 202, await patched.text()
    tenant = base.rstrip("/").rsplit("/", 1)[-1]
    outbox = client.server.app[GATEWAY_KEY].outbox
    rows = await outbox.repository.list(tenant_id=tenant)  # newest first
    [mail, *_] = [r for r in rows if r.template == "email_confirm" and r.recipients == (address,)]
    done = await client.post(
        f"{base}/account/contact/confirm", json={"token": mail.context["token"]}
    )
    assert done.status == 200, await done.text()
    return dict(await done.json())
