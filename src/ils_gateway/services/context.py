"""What every service call needs: the tenant (config + backend + clock) and the caller.

``TenantContext`` is built once per tenant by ``ils_gateway.runtime``; ``Caller`` once per
request from the patron's session. The clock is injected so rules that depend on the day or
the hour (renewal windows, maintenance) are tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.domain.calendar import LibraryCalendar
from ils_gateway.domain.clock import Clock, SystemDays, system_clock
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.labels import Labels
from ils_gateway.domain.models import Library, Patron
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.tenants.models import TenantConfig
from ils_gateway.tenants.policy import Policy


@dataclass(frozen=True)
class TenantContext:
    """One library as the services see it: its configuration, its backend and a clock."""

    config: TenantConfig
    backend: ILSBackend
    clock: Clock = system_clock

    @property
    def id(self) -> str:
        """The tenant id."""
        return self.config.id

    @property
    def policy(self) -> Policy:
        """The tenant's house rules."""
        return self.config.policy

    @cached_property
    def labels(self) -> Labels:
        """The tenant's label catalogue (Japanese overrides applied); built once (every labelled
        answer reads it)."""
        return self.config.labels.build()

    @cached_property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone."""
        return ZoneInfo(self.config.timezone)

    @property
    def calendar(self) -> LibraryCalendar | None:
        """The library's calendar (``[tenants.calendar]``); None when the file gives none."""
        settings = self.config.calendar
        return None if settings is None else settings.build()

    def now(self) -> datetime:
        """The current instant in the tenant's time zone."""
        return self.clock().astimezone(self.zone)

    @cached_property
    def _system_days(self) -> SystemDays | None:
        return SystemDays(self.zone) if self.clock is system_clock else None

    def today(self) -> date:
        """Today's date where the library is (library rules are per local day)."""
        days = self._system_days
        return days.today() if days is not None else self.now().date()

    async def pickup_libraries(self) -> list[Library]:
        """Where holds can be collected: the tenant's list if it gives one, else the backend's.

        SIP2 has no message listing pickup locations, so SIP2 tenants list them in their file.
        """
        if self.config.pickup_libraries:
            return list(self.config.pickup_libraries)
        return await self.backend.list_pickup_libraries()

    def require_feature(self, feature: Feature, channel: Channel) -> None:
        """Raise ``FeatureDisabled`` when the tenant switched ``feature`` off on ``channel``."""
        if not self.policy.feature_enabled(feature, channel):
            raise FeatureDisabled(feature, channel)


@dataclass(frozen=True)
class Caller:
    """The logged-in patron behind a request, and where the request comes from."""

    patron: Patron
    channel: Channel = Channel.WEB
