"""``[tenants.calendar]``: a library's opening hours, closed days and closures (issue 18).

```toml
[tenants.calendar]
hours = { tue = "09:00-19:00", wed = "09:00-19:00", thu = "09:00-19:00", fri = "09:00-19:00",
          sat = "09:00-17:00", sun = "09:00-17:00" }
closed_weekdays = ["mon"]
monthly_closed = ["4th thu"]         # 1st..5th or last, then a weekday
holidays = "open_close_next_weekday" # open | closed | open_close_next_day | open_close_next_weekday
holiday_hours = "09:00-17:00"        # hours on an open holiday (default: that weekday's)
year_end = ["12-28", "01-04"]        # 年末年始, month-day, both included
due_on_closed_day = "next_opening_day"  # default "keep": the ILS's due date stands

[[tenants.calendar.closures]]        # 特別整理期間 (蔵書点検) and other announced closures
start = 2027-02-08
end = 2027-02-15
reason = "蔵書点検"
reason_en = "Stocktaking"
```

Errors name the field: a bad time or weekday, hours that end before they start, a weekday with
both hours and a closure (or neither), overlapping closures. No I/O.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, time
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ils_gateway.domain.calendar import (
    Closure,
    HolidayRule,
    LibraryCalendar,
    MonthlyClosure,
    OpeningHours,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NTH = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1}
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")

__all__ = ["WEEKDAYS", "CalendarConfig", "ClosureConfig", "parse_hours"]


def _weekday(name: str) -> int:
    try:
        return WEEKDAYS.index(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown weekday {name!r} (use one of {', '.join(WEEKDAYS)})") from None


def parse_hours(text: str) -> OpeningHours:
    """``"09:00-19:00"`` as ``OpeningHours``; ``ValueError`` saying what is wrong."""
    match = _HOURS.match(text.strip())
    if match is None:
        raise ValueError(f"hours {text!r} are not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        opens, closes = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"hours {text!r} name a time that does not exist") from None
    if closes <= opens:
        raise ValueError(f"hours {text!r} end before they start")
    return OpeningHours(opens, closes)


def _month_day(text: str) -> tuple[int, int]:
    match = _MONTH_DAY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not MM-DD")
    month, day = int(match[1]), int(match[2])
    try:
        date(2000, month, day)  # a leap year: 02-29 is a day
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the year") from None
    return month, day


class ClosureConfig(BaseModel):
    """One announced closure: ``start`` to ``end`` (TOML dates, both included)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date
    reason: str = Field("臨時休館", min_length=1)
    reason_en: str = Field("Special closure", min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class CalendarConfig(BaseModel):
    """A tenant's calendar (see the module docstring); ``build()`` gives the domain object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hours: dict[str, str] = Field(
        description="opening hours by weekday (mon…sun): HH:MM-HH:MM; every weekday not in"
        " closed_weekdays needs them"
    )
    closed_weekdays: tuple[str, ...] = ()
    monthly_closed: tuple[str, ...] = Field(
        (), description='weekdays closed once a month: "4th thu", "last mon"'
    )
    holidays: HolidayRule = HolidayRule.OPEN
    holiday_hours: str | None = None
    year_end: tuple[str, str] | None = Field(
        None, description="年末年始 closure: first and last day as MM-DD, across the new year"
    )
    closures: tuple[ClosureConfig, ...] = ()
    due_on_closed_day: Literal["next_opening_day", "keep"] = Field(
        "keep",
        description="a loan due on a closed day: keep the ILS's date, or show (and count"
        " overdue days from) the next opening day",
    )

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            _weekday(name)
            try:
                parse_hours(text)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @field_validator("closed_weekdays")
    @classmethod
    def _closed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            _weekday(name)
        return value

    @field_validator("monthly_closed")
    @classmethod
    def _monthly(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            _monthly_closure(text)
        return value

    @field_validator("holiday_hours")
    @classmethod
    def _holiday_hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value

    @field_validator("year_end")
    @classmethod
    def _year_end(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            for text in value:
                _month_day(text)
        return value

    @field_validator("closures")
    @classmethod
    def _no_overlap(cls, value: tuple[ClosureConfig, ...]) -> tuple[ClosureConfig, ...]:
        ordered = sorted(value, key=lambda c: c.start)
        for before, after in itertools.pairwise(ordered):
            if after.start <= before.end:
                raise ValueError(
                    f"closures {before.start}..{before.end} and {after.start}..{after.end} overlap"
                )
        return value

    @model_validator(mode="after")
    def _every_weekday_once(self) -> Self:
        given = {_weekday(n) for n in self.hours}
        closed = {_weekday(n) for n in self.closed_weekdays}
        both = given & closed
        if both:
            names = ", ".join(WEEKDAYS[d] for d in sorted(both))
            raise ValueError(f"hours and closed_weekdays both name {names}")
        missing = set(range(7)) - given - closed
        if missing:
            names = ", ".join(WEEKDAYS[d] for d in sorted(missing))
            raise ValueError(f"hours: no hours for {names} (or list it in closed_weekdays)")
        return self

    def build(self) -> LibraryCalendar:
        """The domain calendar these settings describe."""
        year_end = None
        if self.year_end is not None:
            year_end = (_month_day(self.year_end[0]), _month_day(self.year_end[1]))
        return LibraryCalendar(
            {_weekday(n): parse_hours(t) for n, t in self.hours.items()},
            closed_weekdays=frozenset(_weekday(n) for n in self.closed_weekdays),
            monthly_closures=tuple(_monthly_closure(t) for t in self.monthly_closed),
            holidays=self.holidays,
            holiday_hours=None if self.holiday_hours is None else parse_hours(self.holiday_hours),
            year_end=year_end,
            closures=tuple(Closure(c.start, c.end, c.reason, c.reason_en) for c in self.closures),
            due_on_closed_day=self.due_on_closed_day == "next_opening_day",
        )


def _monthly_closure(text: str) -> MonthlyClosure:
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0] not in _NTH:
        raise ValueError(f'{text!r} is not like "4th thu" (1st…5th or last, then a weekday)')
    return MonthlyClosure(_NTH[parts[0]], _weekday(parts[1]))
