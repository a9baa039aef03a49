"""The library calendar (issue 18): open days, holiday rules, counting in opening days."""

from __future__ import annotations

from datetime import date, time

import pytest

from ils_gateway.domain.calendar import (
    ClosedReason,
    Closure,
    HolidayRule,
    LibraryCalendar,
    MonthlyClosure,
    OpeningHours,
    PickupCount,
    holiday_name,
)

D = date.fromisoformat
DAY = OpeningHours(time(9), time(19))
WEEKEND = OpeningHours(time(9), time(17))
HOURS = {1: DAY, 2: DAY, 3: DAY, 4: DAY, 5: WEEKEND, 6: WEEKEND}  # Monday closed


def calendar(**kwargs: object) -> LibraryCalendar:
    options: dict[str, object] = {"closed_weekdays": frozenset({0})}
    options.update(kwargs)
    return LibraryCalendar(HOURS, **options)  # type: ignore[arg-type]


def test_japanese_holidays_2026_2027() -> None:
    assert holiday_name(D("2027-01-01")) == "元日"
    assert holiday_name(D("2027-01-01"), "en") == "New Year's Day"
    assert holiday_name(D("2027-01-11")) == "成人の日"  # second Monday of January
    assert holiday_name(D("2026-05-06")) == "振替休日"  # 憲法記念日 2026-05-03 was a Sunday
    assert holiday_name(D("2027-03-22")) == "振替休日"  # 春分の日 2027-03-21 is a Sunday
    assert holiday_name(D("2026-09-22")) == "国民の休日"
    assert holiday_name(D("2026-12-31")) is None


def test_weekly_closed_day_and_hours() -> None:
    cal = calendar()
    monday, tuesday, saturday = D("2026-12-07"), D("2026-12-08"), D("2026-12-12")
    assert not cal.is_open(monday)
    assert cal.day(monday).reason is ClosedReason.WEEKLY
    assert cal.opening_hours(tuesday) == DAY
    assert cal.opening_hours(saturday) == WEEKEND
    assert cal.next_opening_day(D("2026-12-06")) == tuesday  # Sunday -> (Monday closed) Tuesday
    assert cal.next_opening_day(tuesday, include=True) == tuesday


def test_year_end_closure_across_the_new_year() -> None:
    cal = calendar(year_end=((12, 28), (1, 4)))
    for text in ("2026-12-28", "2026-12-31", "2027-01-01", "2027-01-04"):
        assert cal.day(D(text)).reason is ClosedReason.YEAR_END, text
    assert cal.day(D("2027-01-01")).name == "年末年始"
    # Saturday 12-26 open; then closed to Monday 01-04; Tuesday 01-05 is the next opening day
    assert cal.is_open(D("2026-12-26"))
    assert cal.next_opening_day(D("2026-12-26")) == D("2026-12-27")
    assert cal.next_opening_day(D("2026-12-27")) == D("2027-01-05")


def test_open_on_holidays_even_on_a_closed_monday() -> None:
    cal = calendar(holidays=HolidayRule.OPEN, holiday_hours=WEEKEND)
    day = cal.day(D("2027-01-11"))  # 成人の日, a Monday
    assert day.open and day.hours == WEEKEND and day.name == "成人の日"
    assert day.name_en == "Coming of Age Day"
    assert cal.is_open(D("2027-01-12"))


def test_closed_on_holidays() -> None:
    cal = calendar(holidays=HolidayRule.CLOSED)
    day = cal.day(D("2026-05-06"))  # 振替休日, a Wednesday
    assert not day.open and day.reason is ClosedReason.HOLIDAY and day.name == "振替休日"
    assert cal.is_open(D("2026-05-07"))  # and the day after opens
    assert not cal.is_open(D("2027-01-11"))  # 成人の日


def test_holiday_on_closed_monday_moves_the_closure_to_the_next_weekday() -> None:
    cal = calendar(holidays=HolidayRule.OPEN_CLOSE_NEXT_WEEKDAY)
    assert cal.is_open(D("2027-01-11"))  # 成人の日 (Monday): open
    assert cal.day(D("2027-01-12")).reason is ClosedReason.DAY_AFTER_HOLIDAY  # Tuesday closed
    assert cal.is_open(D("2027-01-13"))
    # 2026-09-21 敬老の日 (Mon), 22 国民の休日, 23 秋分の日: all open, Thursday the 24th closed
    for text in ("2026-09-21", "2026-09-22", "2026-09-23"):
        assert cal.is_open(D(text)), text
    assert cal.day(D("2026-09-24")).reason is ClosedReason.DAY_AFTER_HOLIDAY
    assert cal.is_open(D("2026-09-25"))
    # Golden Week 2026: みどりの日 on Monday 05-04, 05-05, 振替休日 05-06 open; Thursday closed
    assert all(cal.is_open(D(f"2026-05-0{d}")) for d in (4, 5, 6))
    assert cal.day(D("2026-05-07")).reason is ClosedReason.DAY_AFTER_HOLIDAY
    assert cal.is_open(D("2026-05-08"))
    # a holiday on another weekday moves nothing: 2026-11-03 文化の日 (Tue), Wednesday opens
    assert cal.is_open(D("2026-11-03")) and cal.is_open(D("2026-11-04"))
    # 2027-03-22 振替休日 (Monday): open, Tuesday closed
    assert cal.is_open(D("2027-03-22"))
    assert not cal.is_open(D("2027-03-23"))


def test_day_after_every_holiday_closes_unless_weekend_or_holiday() -> None:
    cal = calendar(holidays=HolidayRule.OPEN_CLOSE_NEXT_DAY)
    assert cal.day(D("2026-05-07")).reason is ClosedReason.DAY_AFTER_HOLIDAY  # after 振替休日
    assert cal.is_open(D("2026-09-22"))  # the day after 敬老の日 is itself a holiday
    assert cal.day(D("2026-09-24")).reason is ClosedReason.DAY_AFTER_HOLIDAY
    assert cal.is_open(D("2027-03-21"))  # 春分の日, a Sunday: open
    assert cal.is_open(D("2027-03-22"))  # 振替休日: open
    assert not cal.is_open(D("2027-03-23"))


def test_monthly_closed_day() -> None:
    cal = calendar(monthly_closures=(MonthlyClosure(4, 3), MonthlyClosure(-1, 4)))
    assert cal.day(D("2026-12-24")).reason is ClosedReason.MONTHLY  # 4th Thursday
    assert cal.is_open(D("2026-12-17"))  # 3rd Thursday
    assert cal.day(D("2027-01-29")).reason is ClosedReason.MONTHLY  # last Friday
    assert cal.is_open(D("2027-01-22"))


def test_special_closure_wins_with_its_reason() -> None:
    closure = Closure(D("2027-02-08"), D("2027-02-14"), "蔵書点検", "Stocktaking")
    cal = calendar(closures=(closure,), holidays=HolidayRule.OPEN)
    day = cal.day(D("2027-02-11"))  # 建国記念の日 within the closure
    assert not day.open and day.reason is ClosedReason.SPECIAL
    assert day.label("ja") == "蔵書点検" and day.label("en") == "Stocktaking"
    assert cal.next_opening_day(D("2027-02-07")) == D("2027-02-16")  # 15th is a Monday


def test_add_opening_days_skips_closed_days() -> None:
    cal = calendar(year_end=((12, 28), (1, 4)), holidays=HolidayRule.OPEN_CLOSE_NEXT_WEEKDAY)
    # from Saturday 2026-12-26: 27 (Sun), then 01-05 … 01-10 are the opening days
    assert cal.add_opening_days(D("2026-12-26"), 1) == D("2026-12-27")
    assert cal.add_opening_days(D("2026-12-26"), 2) == D("2027-01-05")
    assert cal.add_opening_days(D("2026-12-26"), 7) == D("2027-01-10")
    # 01-11 成人の日 open, 01-12 closed instead of the Monday
    assert cal.add_opening_days(D("2027-01-10"), 2) == D("2027-01-13")
    assert cal.add_opening_days(D("2027-01-04"), 0) == D("2027-01-05")
    with pytest.raises(ValueError):
        cal.add_opening_days(D("2027-01-04"), -1)


def test_pickup_deadline_in_days_and_in_opening_days() -> None:
    cal = calendar(year_end=((12, 28), (1, 4)))
    ready = D("2026-12-20")  # a Sunday
    # 10 calendar days: 12-30, closed for the year end -> 01-05
    assert cal.pickup_deadline(ready, 10, PickupCount.DAYS) == D("2027-01-05")
    # 10 opening days (休館日を除く10日間): 22-27 (6), 01-05..01-08 (4)
    assert cal.pickup_deadline(ready, 10, PickupCount.OPENING_DAYS) == D("2027-01-08")
    assert cal.pickup_deadline(D("2026-12-01"), 7, PickupCount.DAYS) == D("2026-12-08")
    with pytest.raises(ValueError):
        cal.pickup_deadline(ready, 0, PickupCount.DAYS)


def test_due_date_on_a_closed_day() -> None:
    moves = calendar(due_on_closed_day=True, year_end=((12, 28), (1, 4)))
    keeps = calendar(year_end=((12, 28), (1, 4)))
    assert moves.due_date(D("2026-12-31")) == D("2027-01-05")
    assert moves.due_date(D("2026-12-07")) == D("2026-12-08")  # a Monday
    assert moves.due_date(D("2026-12-08")) == D("2026-12-08")
    assert keeps.due_date(D("2026-12-31")) == D("2026-12-31")


def test_days_lists_each_day_of_the_range() -> None:
    days = calendar().days(D("2026-12-30"), D("2027-01-02"))
    assert [d.date for d in days] == [
        D("2026-12-30"),
        D("2026-12-31"),
        D("2027-01-01"),
        D("2027-01-02"),
    ]
    assert days[2].name == "元日" and days[2].open  # open on holidays by default


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="no hours and not closed"):
        LibraryCalendar({1: DAY})
    with pytest.raises(ValueError, match="not after"):
        OpeningHours(time(19), time(9))
    with pytest.raises(ValueError, match="before it starts"):
        Closure(D("2027-02-10"), D("2027-02-01"))


def test_a_calendar_closed_for_ever_raises_instead_of_looping() -> None:
    closure = Closure(D("2026-01-01"), D("2030-12-31"))
    cal = calendar(closures=(closure,))
    with pytest.raises(ValueError, match="no opening day"):
        cal.next_opening_day(D("2027-01-01"))
