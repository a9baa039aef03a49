"""Reading history: status, entries, the password that opens it."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryValue


class PasswordRequest(Body):
    """The patron's library password (opens or protects the reading-history key)."""

    password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class HistoryStatus(Body):
    """Whether reading history is on, since when, and whether this session has it open."""

    enabled: bool
    since: datetime | None
    unlocked: bool
    key_reset: bool = Field(
        False,
        description="the library reset the password: entries recorded before are unreadable",
    )


class HistoryEntryView(Body):
    """One loan in the reading history."""

    entry_id: str
    item_id: str
    title: str
    author: str | None
    loaned_at: datetime


class HistoryPageView(Body):
    """Reading history, newest first; ``unreadable_entries`` counts entries recorded under a key
    the library's password reset made unreadable (they can only be deleted)."""

    status: HistoryStatus
    entries: list[HistoryEntryView]
    unreadable_entries: int
    total_entries: int


class HistoryDeleted(Body):
    """How many entries were deleted."""

    deleted: int
