"""Who is asking: the tenant, the logged-in patron, where their rows are filed, and the channel."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.store.records import PatronRef
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig
from ils_gateway.tenants.policy import Policy


@dataclass(frozen=True, slots=True)
class PatronContext:
    """One patron of one tenant on one channel; every list service call is made for one."""

    tenant: TenantConfig
    patron: Patron
    owner: PatronRef
    channel: Channel = Channel.WEB

    @classmethod
    def of(
        cls, store: Store, tenant: TenantConfig, patron: Patron, channel: Channel = Channel.WEB
    ) -> PatronContext:
        """The context for ``patron`` (whose card is already normalised) at ``tenant``."""
        return cls(tenant, patron, store.patron(tenant.id, patron.card_number), channel)

    @property
    def policy(self) -> Policy:
        """The tenant's house rules."""
        return self.tenant.policy

    @property
    def timezone(self) -> ZoneInfo:
        """The library's local time zone (library rules count local days)."""
        return ZoneInfo(self.tenant.timezone)

    def require(self, feature: Feature) -> None:
        """Raise ``FeatureDisabled`` unless the tenant offers ``feature`` on this channel."""
        if not self.policy.feature_enabled(feature, self.channel):
            raise FeatureDisabled(feature, self.channel)
