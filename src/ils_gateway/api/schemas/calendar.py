"""The library calendar a portal shows (``GET …/calendar``, issue 18)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.calendar import ClosedReason


class CalendarDayView(Body):
    """One day: open or closed, the hours, and why it is closed."""

    date: dt.date
    open: bool
    hours: str | None = Field(None, description="opening hours, HH:MM-HH:MM; null when closed")
    reason: ClosedReason | None = Field(None, description="why the library is closed; null if open")
    name: str | None = Field(
        None,
        description="the public holiday's or the closure's name in the answer's language"
        " (Accept-Language), on an open holiday too",
    )
    next_opening_day: dt.date | None = Field(
        description="the first opening day after this day (null: none within 400 days)"
    )


class CalendarView(Body):
    """The days from ``from`` to ``to``, both included."""

    timezone: str = Field(description="the library's time zone; every date is local to it")
    today: dt.date
    next_opening_day: dt.date | None = Field(
        description="today when the library opens today, else the next (null: none within 400 days)"
    )
    days: list[CalendarDayView]
