"""Registration, password reset and contact changes (issue 18)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryValue

StoredIn = Literal["library_system", "gateway"]


class IdentityProofs(Body):
    """What proves the patron's identity besides the card: the members the library asks for
    (``policy.account.registration_proofs``); another member is refused naming it."""

    birth_date: LibraryValue | None = Field(None, max_length=10, description="YYYY-MM-DD")
    phone: LibraryValue | None = Field(None, max_length=32, repr=False)
    name: LibraryValue | None = Field(None, max_length=100, repr=False)
    issued_code: LibraryValue | None = Field(
        None, max_length=128, repr=False, description="the code the library issued at the counter"
    )


class RegistrationRequest(Body):
    """Card, identity proofs and the first password (checked against the library's rules)."""

    card_number: LibraryValue = Field(min_length=1, max_length=64)
    proofs: IdentityProofs
    new_password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class PasswordStored(Body):
    """Where the password now lives: the library system, or the gateway (SIP2 cannot set one)."""

    stored_in: StoredIn


class ResetRequest(Body):
    """The card whose password is forgotten (and, where the library asks, the e-mail address
    registered with it)."""

    card_number: LibraryValue = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=254, repr=False)


class ResetAccepted(Body):
    """Always the same answer, whatever the card: a link is mailed when the card is known and
    has an e-mail address."""

    status: Literal["accepted"] = "accepted"


class ResetConfirmRequest(Body):
    """The mailed link's token and the new password."""

    token: str = Field(min_length=1, max_length=256, repr=False)
    new_password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class ContactChangeRequest(Body):
    """A new e-mail address and/or phone number ("" removes the phone)."""

    email: str | None = Field(None, max_length=254, repr=False)
    phone: str | None = Field(None, max_length=32, repr=False)


class ContactChangePendingView(Body):
    """The change waits for the link mailed to ``confirm_sent_to`` (masked) until
    ``expires_at``; where it will live once confirmed."""

    pending: Literal[True] = True
    confirm_sent_to: str
    expires_at: datetime
    stored_in: StoredIn


class ContactConfirmRequest(Body):
    """The mailed link's token."""

    token: str = Field(min_length=1, max_length=256, repr=False)


class ContactChangeDoneView(Body):
    """The change is made: where it lives, and the values as read back."""

    stored_in: StoredIn
    email: str | None = None
    phone: str | None = None
    field: Literal["email1", "email2"] | None = Field(
        None, description="the settings address confirmed (a link from PATCH …/patron/settings)"
    )
