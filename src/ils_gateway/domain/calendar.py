"""A library's calendar: which days it opens, its hours, and the dates counted from them (issue 18).

Public API (pure, no I/O; the tenant file's ``[tenants.calendar]`` builds one with
``CalendarConfig.build()`` in ``tenants/calendar.py``):

- ``LibraryCalendar(hours, …)``: one library's rules. Its methods, all on local ``date`` values:

  - ``day(d) -> CalendarDay``: open or not, hours, and why it is closed (``ClosedReason``
    plus the holiday's or closure's name in Japanese and English);
  - ``is_open(d) -> bool`` and ``opening_hours(d) -> OpeningHours | None``;
  - ``next_opening_day(d, *, include=False) -> date``: the first opening day after ``d``
    (``include=True``: ``d`` itself when open) — the "next opening day" of notices;
  - ``add_opening_days(d, n) -> date``: the ``n``-th opening day after ``d``;
  - ``due_date(d) -> date``: a due date moved to the next opening day when ``d`` is closed and
    the library moves due dates (``due_on_closed_day="next_opening_day"``), else ``d``;
  - ``pickup_deadline(ready, days, counted) -> date``: the 取置期限 of a hold made ready on
    ``ready``, ``days`` calendar days (``PickupCount.DAYS``, moved to an opening day) or
    opening days (``PickupCount.OPENING_DAYS``, 休館日を除く) later;
  - ``days(start, end) -> list[CalendarDay]``: each day of a range (``GET …/calendar``).

- ``OpeningHours``, ``MonthlyClosure`` (e.g. the 4th Thursday), ``Closure`` (a date range:
  蔵書点検, works), ``ClosedReason``, ``PickupCount``, ``CalendarDay``, ``HolidayRule``.

Japanese public holidays (振替休日 and 国民の休日 included) come from the ``holidays`` package
(python-holidays, country JP, names in ja and en_US), imported at the first holiday asked for
so a start that never asks pays nothing, and without the package's other countries
(``_japan``). A search never runs more than ``MAX_SEARCH_DAYS`` ahead: a calendar closed for
longer raises ``ValueError`` rather than looping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

__all__ = [
    "MAX_SEARCH_DAYS",
    "CalendarDay",
    "ClosedReason",
    "Closure",
    "HolidayRule",
    "LibraryCalendar",
    "MonthlyClosure",
    "OpeningHours",
    "PickupCount",
    "holiday_name",
]

MAX_SEARCH_DAYS = 400
"""How far ``next_opening_day`` / ``add_opening_days`` look before giving up."""


class ClosedReason(StrEnum):
    """Why a library is closed on a day (the first that applies, in this order)."""

    SPECIAL = "special_closure"  # a closure the library announced (蔵書点検, works)
    YEAR_END = "year_end"  # 年末年始
    HOLIDAY = "holiday"  # a public holiday the library closes on
    DAY_AFTER_HOLIDAY = "day_after_holiday"  # 休日の翌日 / 振替休館
    MONTHLY = "monthly_closed_day"  # e.g. 第4木曜日 (館内整理日)
    WEEKLY = "regular_closed_day"  # e.g. 月曜日


class PickupCount(StrEnum):
    """How a library counts its pickup days (取置期限)."""

    DAYS = "days"  # calendar days (a deadline on a closed day moves to the next opening day)
    OPENING_DAYS = "opening_days"  # 休館日を除く N 日間


class HolidayRule(StrEnum):
    """What a library does on public holidays."""

    OPEN = "open"  # opens (with holiday hours where given), even on a regular closed weekday
    CLOSED = "closed"  # closes
    OPEN_CLOSE_NEXT_DAY = "open_close_next_day"
    """opens; the day after a holiday closes unless it is a Saturday, Sunday or holiday
    (休日の翌日は休館、土日・休日にあたる場合は開館)"""
    OPEN_CLOSE_NEXT_WEEKDAY = "open_close_next_weekday"
    """opens; when the holiday falls on a regular closed weekday, the first following day that
    is neither a holiday nor a Saturday/Sunday closes instead (月曜が祝日なら翌平日休館)"""


@dataclass(frozen=True)
class OpeningHours:
    """Opening and closing time of one day (local time)."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError(f"closing time {self.closes:%H:%M} is not after {self.opens:%H:%M}")

    def text(self) -> str:
        """``09:00-19:00``."""
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class MonthlyClosure:
    """A weekday closed once a month: ``nth`` 1–5 (or -1 for the last) ``weekday`` (0 = Monday)."""

    nth: int
    weekday: int

    def matches(self, d: date) -> bool:
        """Whether ``d`` is that day of its month."""
        if d.weekday() != self.weekday:
            return False
        if self.nth == -1:
            return (d + timedelta(days=7)).month != d.month
        return (d.day - 1) // 7 + 1 == self.nth


@dataclass(frozen=True)
class Closure:
    """Closed from ``start`` to ``end`` (both included), with the library's reason."""

    start: date
    end: date
    reason: str = "臨時休館"
    reason_en: str = "Special closure"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"closure ends ({self.end}) before it starts ({self.start})")

    def covers(self, d: date) -> bool:
        """Whether ``d`` is within the closure."""
        return self.start <= d <= self.end


@dataclass(frozen=True)
class CalendarDay:
    """One day of a library's calendar."""

    date: date
    open: bool
    hours: OpeningHours | None
    reason: ClosedReason | None
    """None on an opening day."""
    name: str | None
    """the holiday's (or closure's) Japanese name; on an open holiday too"""
    name_en: str | None

    def label(self, language: str) -> str | None:
        """The name in ``language`` ("ja" or "en")."""
        return self.name_en if language == "en" else self.name


_JAPAN = "holidays.countries.japan"


@lru_cache(maxsize=1)
def _japan() -> Any:
    """python-holidays' ``Japan`` class, imported at the first use.

    Its package ``holidays.countries`` imports every country (about 280 modules, ~8 MB held
    for good: issue 17, one process's memory), so ``japan.py`` is run on its own, with a bare
    stand-in for the package while it runs, and neither is left in ``sys.modules``: a later
    ``import holidays.countries`` (if anything asks) is the ordinary one. Already imported in
    full, or should a future release make this fail: the ordinary import.
    """
    import sys

    if "holidays.countries" not in sys.modules:
        try:
            return _japan_alone(sys.modules)
        except Exception:  # pragma: no cover - a holidays release laid out otherwise
            pass
    from holidays.countries.japan import Japan

    return Japan


def _japan_alone(modules: Any) -> Any:
    import importlib.util
    import types
    from pathlib import Path

    import holidays  # its own __init__ loads the countries lazily

    folder = Path(holidays.__file__).parent / "countries"
    spec = importlib.util.spec_from_file_location(_JAPAN, folder / "japan.py")
    if spec is None or spec.loader is None:
        raise ImportError(_JAPAN)
    stand_in = types.ModuleType("holidays.countries")
    stand_in.__path__ = [str(folder)]
    module = importlib.util.module_from_spec(spec)
    modules["holidays.countries"], modules[_JAPAN] = stand_in, module
    try:
        spec.loader.exec_module(module)
    finally:
        del modules["holidays.countries"], modules[_JAPAN]
    return module.Japan


@lru_cache(maxsize=64)
def _holidays(year: int, language: str) -> Mapping[date, str]:
    table: Any = _japan()(years=year, language=language)
    return {day: str(name) for day, name in table.items()}


def holiday_name(d: date, language: str = "ja") -> str | None:
    """The Japanese public holiday on ``d`` (振替休日 included), in "ja" or "en"; None if none."""
    return _holidays(d.year, "en_US" if language == "en" else "ja").get(d)


_WEEKDAY_NAMES_JA = ("月", "火", "水", "木", "金", "土", "日")
_YEAR_END = ("年末年始", "Year-end and New Year holidays")


class LibraryCalendar:
    """One library's opening days (see the module docstring for the methods)."""

    def __init__(
        self,
        hours: Mapping[int, OpeningHours],
        *,
        closed_weekdays: frozenset[int] = frozenset(),
        monthly_closures: tuple[MonthlyClosure, ...] = (),
        holidays: HolidayRule = HolidayRule.OPEN,
        holiday_hours: OpeningHours | None = None,
        year_end: tuple[tuple[int, int], tuple[int, int]] | None = None,
        closures: tuple[Closure, ...] = (),
        due_on_closed_day: bool = False,
    ) -> None:
        """``hours`` by weekday (0 = Monday) for every weekday not in ``closed_weekdays``;
        ``year_end`` as ((month, day), (month, day)) e.g. ((12, 28), (1, 4)), across the new
        year when the end is before the start; ``due_on_closed_day``: move a due date that
        falls on a closed day to the next opening day."""
        missing = set(range(7)) - set(hours) - set(closed_weekdays)
        if missing:
            names = ", ".join(_WEEKDAY_NAMES_JA[d] for d in sorted(missing))
            raise ValueError(f"no hours and not closed: {names}")
        if len(closed_weekdays) == 7 and holidays is HolidayRule.CLOSED:
            raise ValueError("every day is closed")
        self.hours = dict(hours)
        self.closed_weekdays = frozenset(closed_weekdays)
        self.monthly_closures = monthly_closures
        self.holidays = holidays
        self.holiday_hours = holiday_hours
        self.year_end = year_end
        self.closures = tuple(sorted(closures, key=lambda c: c.start))
        self.due_on_closed_day = due_on_closed_day

    # -- one day ---------------------------------------------------------------------------

    def _in_year_end(self, d: date) -> bool:
        if self.year_end is None:
            return False
        start, end = self.year_end
        key = (d.month, d.day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end

    def _weekday_hours(self, d: date) -> OpeningHours | None:
        """Hours of an ordinary day: None on a regular (weekly or monthly) closed day."""
        if d.weekday() in self.closed_weekdays:
            return None
        if any(m.matches(d) for m in self.monthly_closures):
            return None
        return self.hours.get(d.weekday())

    def _regular_reason(self, d: date) -> ClosedReason | None:
        if d.weekday() in self.closed_weekdays:
            return ClosedReason.WEEKLY
        if any(m.matches(d) for m in self.monthly_closures):
            return ClosedReason.MONTHLY
        return None

    def _closed_after_holiday(self, d: date) -> bool:
        if holiday_name(d) is not None:
            return False
        if self.holidays is HolidayRule.OPEN_CLOSE_NEXT_DAY:
            return d.weekday() < 5 and holiday_name(d - timedelta(days=1)) is not None
        if self.holidays is not HolidayRule.OPEN_CLOSE_NEXT_WEEKDAY:
            return False
        if d.weekday() >= 5 or self._regular_reason(d) is not None:
            return False
        # walk back over the weekend / holidays / regular closed days before d: a holiday
        # that fell on a regular closed weekday moves that closure to d
        back = d - timedelta(days=1)
        for _ in range(14):
            is_holiday = holiday_name(back) is not None
            if is_holiday and self._regular_reason(back) is ClosedReason.WEEKLY:
                return True
            if not (is_holiday or back.weekday() >= 5 or self._regular_reason(back)):
                return False
            back -= timedelta(days=1)
        return False

    def day(self, d: date) -> CalendarDay:
        """Whether the library opens on ``d``, its hours, and why not."""
        name, name_en = holiday_name(d, "ja"), holiday_name(d, "en")
        for closure in self.closures:
            if closure.covers(d):
                return CalendarDay(
                    d, False, None, ClosedReason.SPECIAL, closure.reason, closure.reason_en
                )
        if self._in_year_end(d):
            return CalendarDay(d, False, None, ClosedReason.YEAR_END, *_YEAR_END)
        if name is not None:
            if self.holidays is HolidayRule.CLOSED:
                return CalendarDay(d, False, None, ClosedReason.HOLIDAY, name, name_en)
            hours = self.holiday_hours or self.hours.get(d.weekday()) or self._any_hours(d)
            return CalendarDay(d, True, hours, None, name, name_en)
        if self._closed_after_holiday(d):
            return CalendarDay(d, False, None, ClosedReason.DAY_AFTER_HOLIDAY, None, None)
        reason = self._regular_reason(d)
        if reason is not None:
            return CalendarDay(d, False, None, reason, None, None)
        return CalendarDay(d, True, self.hours[d.weekday()], None, None, None)

    def _any_hours(self, d: date) -> OpeningHours:
        """Hours for a holiday opening on a weekday with none: Sunday's, else the first given."""
        return self.hours.get(6) or next(iter(self.hours.values()))

    def is_open(self, d: date) -> bool:
        """Whether the library opens on ``d``."""
        return self.day(d).open

    def opening_hours(self, d: date) -> OpeningHours | None:
        """The hours on ``d``; None when closed."""
        return self.day(d).hours

    def days(self, start: date, end: date) -> list[CalendarDay]:
        """Every day from ``start`` to ``end`` (both included)."""
        return [self.day(start + timedelta(days=i)) for i in range((end - start).days + 1)]

    # -- counting --------------------------------------------------------------------------

    def next_opening_day(self, d: date, *, include: bool = False) -> date:
        """The first opening day after ``d`` (``include``: ``d`` itself when open)."""
        probe = d if include else d + timedelta(days=1)
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_open(probe):
                return probe
            probe += timedelta(days=1)
        raise ValueError(f"no opening day within {MAX_SEARCH_DAYS} days of {d}")

    def add_opening_days(self, d: date, n: int) -> date:
        """The ``n``-th opening day after ``d`` (``n`` ≥ 0; 0 is the next opening day from
        ``d`` on, ``d`` included)."""
        if n < 0:
            raise ValueError("n must be 0 or more")
        probe = self.next_opening_day(d, include=True) if n == 0 else d
        for _ in range(n):
            probe = self.next_opening_day(probe)
        return probe

    def due_date(self, d: date) -> date:
        """``d`` as a due date: the next opening day when ``d`` is closed and the library moves
        due dates so, else ``d``."""
        if not self.due_on_closed_day:
            return d
        return self.next_opening_day(d, include=True)

    def pickup_deadline(self, ready: date, days: int, counted: PickupCount) -> date:
        """The last day to collect a hold made ready on ``ready``, kept ``days`` days.

        ``DAYS``: ``ready + days``, moved to the next opening day when closed;
        ``OPENING_DAYS``: the ``days``-th opening day after ``ready``.
        """
        if days < 1:
            raise ValueError("days must be 1 or more")
        if counted is PickupCount.OPENING_DAYS:
            return self.add_opening_days(ready, days)
        return self.next_opening_day(ready + timedelta(days=days), include=True)
