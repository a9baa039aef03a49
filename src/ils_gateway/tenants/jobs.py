"""When the periodic jobs run, as a tenant file writes it (``[tenants.jobs]``).

A schedule is one of:

- ``"every 15m"`` (also ``30s``, ``2h``, ``1d``): on that interval, counted from a fixed
  instant so every gateway process computes the same run times;
- ``"cron 30 15 * * sat"``: a crontab line (minute hour day month weekday) in the tenant's
  time zone, e.g. Akiruno's new-arrival mail on Saturdays at 15:30;
- ``"off"``: never on its own (``ils-gateway jobs run`` still runs it).

``[tenants.jobs]`` maps a job name to its schedule for that tenant; a name that is not one of
``JOB_NAMES`` (the per-tenant jobs of ``ils_gateway.jobs.registry``, which a test keeps in step)
is refused like any unknown key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

_EVERY = re.compile(r"every\s+(\d{1,6})\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The per-tenant jobs a tenant file may schedule (``jobs.registry.JOBS``, per-tenant entries).
JOB_NAMES = frozenset(
    {
        "capture_reading_history",
        "enforce_hold_sequences",
        "send_new_arrival_alerts",
        "notices_hold_ready",
        "notices_ebook_hold_ready",
        "notices_due_reminder",
        "notices_overdue",
    }
)
#: Interval runs are counted from here (any fixed instant would do: all processes agree).
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How far back ``Cron.previous`` looks for the latest run time.
_LOOKBACK = timedelta(days=8)


@dataclass(frozen=True)
class Every:
    """Every ``seconds``, aligned on ``EPOCH``."""

    seconds: int

    def describe(self) -> str:
        for unit in ("d", "h", "m"):
            if self.seconds % _UNITS[unit] == 0:
                return f"every {self.seconds // _UNITS[unit]}{unit}"
        return f"every {self.seconds}s"

    def previous(self, now: datetime, tz: tzinfo) -> datetime:
        """The latest run time at or before ``now``."""
        slots = int((now - EPOCH).total_seconds()) // self.seconds
        return EPOCH + timedelta(seconds=slots * self.seconds)

    def following(self, now: datetime, tz: tzinfo) -> datetime:
        """The first run time after ``now``."""
        return self.previous(now, tz) + timedelta(seconds=self.seconds)

    def apscheduler(self, tz: tzinfo) -> Any:
        """The APScheduler trigger."""
        from apscheduler.triggers.interval import IntervalTrigger

        return IntervalTrigger(seconds=self.seconds, start_date=EPOCH, timezone=UTC)


@dataclass(frozen=True)
class Cron:
    """A crontab line (minute hour day month weekday) in the tenant's time zone."""

    expression: str

    def describe(self) -> str:
        return f"cron {self.expression}"

    def apscheduler(self, tz: tzinfo) -> Any:
        """The APScheduler trigger, in ``tz``."""
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.expression, timezone=tz)

    def previous(self, now: datetime, tz: tzinfo) -> datetime | None:
        """The latest run time at or before ``now`` (None when none in the last 8 days)."""
        trigger = self.apscheduler(tz)
        found: datetime | None = None
        fire: datetime | None = trigger.get_next_fire_time(None, now - _LOOKBACK)
        while fire is not None and fire <= now:
            found = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return found

    def following(self, now: datetime, tz: tzinfo) -> datetime | None:
        """The first run time after ``now``."""
        fire: datetime | None = self.apscheduler(tz).get_next_fire_time(
            None, now + timedelta(seconds=1)
        )
        return fire


Schedule = Every | Cron | None


def parse_schedule(text: str) -> Schedule:
    """``"every 15m"`` / ``"cron 30 15 * * sat"`` / ``"off"`` (None); ``ValueError`` else."""
    value = " ".join(text.strip().lower().split())
    if value == "off":
        return None
    every = _EVERY.fullmatch(value)
    if every:
        seconds = int(every.group(1)) * _UNITS[every.group(2)]
        if not 10 <= seconds <= 7 * 86400:
            raise ValueError(f"{text!r}: an interval from 10s to 7d")
        return Every(seconds)
    if value.startswith("cron "):
        expression = value[5:]
        if len(expression.split()) != 5:
            raise ValueError(f"{text!r}: cron takes 5 fields (minute hour day month weekday)")
        try:
            Cron(expression).apscheduler(UTC)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
        return Cron(expression)
    raise ValueError(f"{text!r}: 'every N[s|m|h|d]', 'cron M H DOM MON DOW' or 'off'")


def check_schedules(value: dict[str, str]) -> dict[str, str]:
    """A ``[tenants.jobs]`` table of known job names whose schedules all parse."""
    for name, text in value.items():
        if name not in JOB_NAMES:
            known = ", ".join(sorted(JOB_NAMES))
            raise ValueError(f"{name!r}: not a job a tenant schedules ({known})")
        try:
            parse_schedule(text)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return value
