"""``[tenants.calendar]`` (issue 18): parsed, refused with the field named, and every example."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ils_gateway.domain.calendar import ClosedReason, HolidayRule
from ils_gateway.tenants.demo import demo_tenant
from ils_gateway.tenants.loader import TenantConfigError, load_tenants, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
D = date.fromisoformat

HEAD = """
[[tenants]]
id = "cal"
name = "カレンダー図書館"
[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:1"
client_id = "x"
client_secret = "y"
"""
GOOD = """
[tenants.calendar]
closed_weekdays = ["mon"]
monthly_closed = ["4th thu"]
holidays = "open_close_next_weekday"
year_end = ["12-28", "01-04"]
due_on_closed_day = "next_opening_day"
[tenants.calendar.hours]
tue = "09:00-19:00"
wed = "09:00-19:00"
thu = "09:00-19:00"
fri = "09:00-19:00"
sat = "09:00-17:00"
sun = "09:00-17:00"
[[tenants.calendar.closures]]
start = 2027-02-08
end = 2027-02-14
reason = "蔵書点検"
reason_en = "Stocktaking"
"""


def problems(calendar_toml: str) -> str:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenants(HEAD + calendar_toml, "cal.toml")
    return "\n".join(caught.value.problems)


def test_a_calendar_builds() -> None:
    tenant = parse_tenants(HEAD + GOOD).tenants[0]
    assert tenant.calendar is not None
    cal = tenant.calendar.build()
    assert cal.holidays is HolidayRule.OPEN_CLOSE_NEXT_WEEKDAY
    assert cal.day(D("2026-12-24")).reason is ClosedReason.MONTHLY
    assert cal.day(D("2027-02-10")).name == "蔵書点検"
    assert cal.due_date(D("2026-12-30")) == D("2027-01-05")


def test_without_a_calendar_there_is_none() -> None:
    assert parse_tenants(HEAD).tenants[0].calendar is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('tue = "09:00-19:00"', 'tue = "19:00-09:00"'),
            "calendar.hours: tue: hours '19:00-09:00' end before",
        ),
        (('tue = "09:00-19:00"', 'tue = "9-19"'), "not HH:MM-HH:MM"),
        (('tue = "09:00-19:00"', 'tue = "09:00-25:00"'), "does not exist"),
        (('tue = "09:00-19:00"', 'tuesday = "09:00-19:00"'), "unknown weekday 'tuesday'"),
        (('closed_weekdays = ["mon"]', 'closed_weekdays = ["monday"]'), "closed_weekdays"),
        (('closed_weekdays = ["mon"]', "closed_weekdays = []"), "no hours for mon"),
        (('closed_weekdays = ["mon"]', 'closed_weekdays = ["mon", "tue"]'), "both name tue"),
        (('"4th thu"', '"9th thu"'), "calendar.monthly_closed"),
        (('"12-28"', '"13-28"'), "calendar.year_end"),
        (('"open_close_next_weekday"', '"sometimes"'), "calendar.holidays"),
        (
            ("end = 2027-02-14", "end = 2027-02-01"),
            "calendar.closures[0]: end (2027-02-01) is before",
        ),
        (("start = 2027-02-08", 'start = "next week"'), "calendar.closures[0].start"),
        (('"next_opening_day"', '"later"'), "calendar.due_on_closed_day"),
        (("reason_en", "reason_fr"), "calendar.closures[0].reason_fr: unknown key"),
    ],
)
def test_errors_name_the_field(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    assert expected in problems(GOOD.replace(old, new, 1))


def test_overlapping_closures_are_refused() -> None:
    second = "\n[[tenants.calendar.closures]]\nstart = 2027-02-14\nend = 2027-02-20\n"
    found = problems(GOOD + second)
    assert "tenants[0].calendar.closures" in found
    assert "2027-02-08..2027-02-14 and 2027-02-14..2027-02-20 overlap" in found


def test_every_example_tenant_has_its_calendar() -> None:
    registry = load_tenants(EXAMPLES)
    calendars = {t.id: t.calendar.build() for t in registry if t.calendar is not None}
    assert set(calendars) == {"akiruno", "ibaraki", "kanagawa", "nishinomiya", "saitama"}
    for cal in calendars.values():
        assert not cal.is_open(D("2026-12-07"))  # a Monday
        assert not cal.is_open(D("2027-01-01"))  # 元日, within the year-end closure
    # a Monday holiday (成人の日 2027-01-11): open where the library opens on holidays
    for tenant in ("saitama", "kanagawa", "nishinomiya", "ibaraki", "akiruno"):
        assert calendars[tenant].is_open(D("2027-01-11")), tenant
    # …then the Tuesday closes where the closure moves (振替休館), opens where it does not
    for tenant in ("saitama", "kanagawa", "nishinomiya"):
        assert calendars[tenant].day(D("2027-01-12")).reason is ClosedReason.DAY_AFTER_HOLIDAY
    assert calendars["ibaraki"].is_open(D("2027-01-12"))
    # Akiruno: the day after every weekday holiday closes (Wednesday after 文化の日, a Tuesday)
    assert calendars["akiruno"].day(D("2026-11-04")).reason is ClosedReason.DAY_AFTER_HOLIDAY
    assert calendars["saitama"].day(D("2026-12-17")).reason is ClosedReason.MONTHLY  # 3rd Thu
    assert calendars["kanagawa"].day(D("2026-12-10")).reason is ClosedReason.MONTHLY  # 2nd Thu
    # Saitama and Ibaraki show a loan due on a closed day as due the next opening day
    assert calendars["saitama"].due_date(D("2026-12-07")) == D("2026-12-08")
    assert calendars["ibaraki"].due_date(D("2026-12-07")) == D("2026-12-08")
    assert calendars["kanagawa"].due_date(D("2026-12-07")) == D("2026-12-07")


def test_the_demo_tenant_has_a_calendar() -> None:
    settings = demo_tenant(6001).calendar
    assert settings is not None
    cal = settings.build()
    assert cal.day(D("2027-02-10")).reason is ClosedReason.SPECIAL
    assert cal.next_opening_day(D("2026-12-27")) == D("2027-01-05")
