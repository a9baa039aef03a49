"""The library's day (``TenantContext.today``): from the injected clock as it moves, and by the
system clock through ``SystemDays`` (worked out once a day on the hot path)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ils_gateway.domain.clock import ManualClock, system_clock
from ils_gateway.services.context import TenantContext
from ils_gateway.tenants.demo import demo_tenant


def test_an_injected_clock_gives_the_day_where_the_library_is_as_it_moves() -> None:
    clock = ManualClock(datetime(2025, 4, 1, 14, 59, tzinfo=UTC))  # 23:59 in Tokyo
    context = TenantContext(config=demo_tenant(1), backend=None, clock=clock)  # type: ignore[arg-type]
    assert context.today().isoformat() == "2025-04-01"
    clock.advance(minutes=1)  # midnight in Tokyo, the 1st still in UTC
    assert context.today().isoformat() == "2025-04-02"
    clock.advance(days=-3)
    assert context.today().isoformat() == "2025-03-30"


def test_the_system_clock_s_day_is_the_library_s_date_now() -> None:
    context = TenantContext(config=demo_tenant(1), backend=None, clock=system_clock)  # type: ignore[arg-type]
    zone = ZoneInfo(context.config.timezone)
    before = datetime.now(zone).date()
    today = context.today()
    assert today == context.today()  # the second from the day worked out
    assert before <= today <= datetime.now(zone).date()
