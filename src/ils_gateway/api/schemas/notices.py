"""Notice preferences (patron) and the phone call list (operators); issue 18."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from ils_gateway.api.schemas.common import Body


class NoticePreferencesView(Body):
    """How and of what the library tells the patron."""

    contact_method: Literal["mail", "phone", "none"] = Field(
        description="how hold-ready notices reach the patron (phone: staff call)"
    )
    email: str | None = Field(description="where notice mails go (null: no address known)")
    due_reminder: bool = Field(description="a mail N days before a loan is due (opt-in)")
    due_reminder_days: int = Field(description="N, within the library's limits")
    overdue_notice: bool
    child_entry_mail: bool = Field(
        description="a mail to the guardian when this (child's) card logs in at a kiosk"
    )
    due_reminder_days_min: int
    due_reminder_days_max: int


class NoticePreferencesUpdate(Body):
    """Preferences to change (omit to keep)."""

    contact_method: Literal["mail", "phone", "none"] | None = None
    due_reminder: bool | None = None
    due_reminder_days: int | None = Field(None, ge=0, le=60)
    overdue_notice: bool | None = None
    child_entry_mail: bool | None = None


class CallView(Body):
    """One phone notice for staff to make (or made)."""

    id: int
    event: str
    created_at: dt.datetime
    patron_name: str | None = None
    phone: str | None = None
    title: str | None = None
    pickup_library: str | None = None
    pickup_deadline: dt.date | None = None
    next_opening_day: dt.date | None = None
    done_at: dt.datetime | None = None
    done_by: str | None = None


class CallList(Body):
    """The tenant's phone call list, oldest first."""

    calls: list[CallView]


class CallDoneRequest(Body):
    """Who made the call (a staff name or id, kept with the call)."""

    by: str = Field(min_length=1, max_length=64)
