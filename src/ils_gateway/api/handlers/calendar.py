"""The library calendar (no patron session needed; issue 18)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from aiohttp import web

from ils_gateway.api.bodies import json_response
from ils_gateway.api.handlers.common import runtime
from ils_gateway.api.language import current
from ils_gateway.api.schemas.calendar import CalendarDayView, CalendarView
from ils_gateway.domain.calendar import LibraryCalendar
from ils_gateway.domain.errors import BadRequest, NotFound

MAX_DAYS = 366
"""The longest range one request may ask for (``to`` - ``from`` + 1)."""
DEFAULT_DAYS = 31
"""Days answered when ``to`` is not given."""
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
"""The dates one may ask for (the holiday package knows Japan's holidays up to 2099)."""
CACHE_SECONDS = 3600
"""How long a browser or proxy may keep an answer (a calendar changes with the tenant file)."""


def _date(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        if _ISO_DATE.match(text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: not a date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"{name}: from {FIRST_DAY} to {LAST_DAY}")
    return day


def _next(calendar: LibraryCalendar, day: date, *, include: bool = False) -> date | None:
    try:
        return calendar.next_opening_day(day, include=include)
    except ValueError:  # closed for longer than the calendar looks ahead
        return None


async def library_calendar(request: web.Request) -> web.Response:
    """GET …/calendar?from=&to=: each day open or not, its hours and the next opening day."""
    start, end = _date(request, "from"), _date(request, "to")
    tenant = runtime(request).context
    calendar = tenant.calendar
    if calendar is None:
        raise NotFound("This library publishes no calendar", operator_detail=tenant.id)
    today = tenant.today()
    start = start or today
    end = end or min(start + timedelta(days=DEFAULT_DAYS - 1), LAST_DAY)
    if end < start:
        raise BadRequest("to: before from")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"to: at most {MAX_DAYS} days after from")
    answer = current()
    lang = answer.lang if answer is not None else "ja"
    days = []
    for day in calendar.days(start, end):
        days.append(
            CalendarDayView(
                date=day.date,
                open=day.open,
                hours=day.hours.text() if day.hours is not None else None,
                reason=day.reason,
                name=day.label(lang),
                next_opening_day=_next(calendar, day.date),
            )
        )
    body = CalendarView(
        timezone=tenant.config.timezone,
        today=today,
        next_opening_day=_next(calendar, today, include=True),
        days=days,
    )
    response = json_response(body)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
