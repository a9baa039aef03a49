"""KohaBackend.change_password over a fake Koha held against Koha's definition
(``POST /patrons/{patron_id}/password``, Patrons::Password#set; issue 16)."""

from __future__ import annotations

import json

import pytest
from koha_fake import Answer, FakeKoha
from test_koha_backend import PATRON, PATRON_ROW, backend

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.domain.errors import OutcomeUnknown, PasswordRejected

__all__ = ["backend"]  # the fixture, shared with test_koha_backend


async def test_the_old_password_is_checked_then_the_new_one_set(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons/7", Answer(json=PATRON_ROW))
    check = fake_koha.on("POST", "/auth/password/validation", Answer(204))
    change = fake_koha.on("POST", "/patrons/7/password", Answer(200, json=""))
    await backend.change_password(PATRON, "old-pw-1", "New#pw-2025")
    assert json.loads(check.calls.last.request.read()) == {
        "userid": "yamada",
        "password": "old-pw-1",
    }
    # The definition's body: password and password_2, nothing else (additionalProperties).
    assert json.loads(change.calls.last.request.read()) == {
        "password": "New#pw-2025",
        "password_2": "New#pw-2025",
    }


async def test_a_wrong_old_password_is_refused_before_koha_is_asked_to_change(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons/7", Answer(json=PATRON_ROW))
    fake_koha.on("POST", "/auth/password/validation", Answer(400, {"error": "Validation failed"}))
    change = fake_koha.on("POST", "/patrons/7/password", Answer(200, json=""))
    with pytest.raises(PasswordRejected) as info:
        await backend.change_password(PATRON, "wrong", "New#pw-2025")
    assert info.value.problems == ["current password is not correct"]
    assert not change.called


async def test_a_password_koha_refuses_is_rejected_with_its_reason(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons/7", Answer(json=PATRON_ROW))
    fake_koha.on("POST", "/auth/password/validation", Answer(204))
    message = "Password length (3) is shorter than required (8)"
    fake_koha.on("POST", "/patrons/7/password", Answer(400, {"error": message}))
    with pytest.raises(PasswordRejected) as info:
        await backend.change_password(PATRON, "old-pw-1", "abc")
    assert info.value.detail == message


async def test_a_change_koha_fails_on_is_unknown(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/patrons/7", Answer(json=PATRON_ROW))
    fake_koha.on("POST", "/auth/password/validation", Answer(204))
    fake_koha.on(
        "POST",
        "/patrons/7/password",
        Answer(500, {"error": "Something went wrong, check Koha logs for details."}),
    )
    with pytest.raises(OutcomeUnknown):
        await backend.change_password(PATRON, "old-pw-1", "New#pw-2025")
