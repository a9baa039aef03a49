"""Log in, patron summary, password change."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryValue
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, Channel


class LoginRequest(Body):
    """Card number (as the patron typed it) and password."""

    card_number: LibraryValue = Field(min_length=1, max_length=64)
    password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class PasswordChangeRequest(Body):
    """The current password and the new one (checked against the library's password rules)."""

    old_password: LibraryValue = Field(min_length=1, max_length=128, repr=False)
    new_password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class PatronView(Body):
    """The logged-in patron as the portal shows them (card masked)."""

    masked_card: str
    name: str
    category: str | None = None
    blocks: list[BlockReason] = []  # noqa: RUF012 (a pydantic field; copied per instance)
    card_expires: date | None = None
    loans_count: int = 0
    overdue_count: int = 0
    holds_count: int = 0
    holds_ready_count: int = 0
    fees_owed: int | None = Field(
        None, description="yen owed, where the library system's summary says (else null)"
    )

    @classmethod
    def of(cls, patron: Patron) -> PatronView:
        """The view of ``patron``."""
        return cls.copied_from(patron)


class SessionCreated(Body):
    """A new session: send ``token`` as ``Authorization: Bearer <token>`` from now on."""

    token: str = Field(repr=False)
    channel: Channel
    idle_timeout_minutes: int | None
    password_change_required: bool
    password_change_url: str | None = Field(
        None,
        description="with password_change_required: the library's own page where the password "
        "is changed, when its system cannot change it through this API (SIP2)",
    )
    patron: PatronView


class PatronSummary(Body):
    """The patron's summary; ``stale`` when served from the last good data."""

    patron: PatronView
    stale: bool = False
    as_of: datetime | None = None
