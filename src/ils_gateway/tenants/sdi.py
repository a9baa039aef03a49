"""``[tenants.sdi]``: new-arrival alerts (新着図書お知らせ, SDI; issue 18).

```toml
[tenants.sdi]
enabled = true
schedule = "sat 15:30"        # in the tenant's timezone: <weekday[,weekday…]|daily> HH:MM
max_conditions = 10           # saved conditions per patron (None: unlimited)
first_run_days = 7            # the first run looks this many days back
max_arrivals = 2000           # at most this many arrivals per run (pages of page_size)
page_size = 100

[tenants.sdi.feed]            # SIP2 tenants (required there): the OPAC's new-arrival feed
url = "https://opac.example.jp/rss/newbooks.xml"
format = "rss"                # rss (RSS 2.0 / RSS 1.0 / Atom) or sru (SRU 1.2/2.0, Dublin Core)
```

Koha and FOLIO tenants need no feed: the run asks the library system (Koha: items by
``acquisition_date``; FOLIO: instances by ``metadata.createdDate``). A feed given for them is
used instead. No I/O.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from ils_gateway.domain.sdi import SdiSchedule

__all__ = ["SdiConfig", "SdiFeedConfig"]


class SdiFeedConfig(BaseModel):
    """A new-arrival feed the library publishes (its OPAC's RSS, or an SRU server)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: HttpUrl = Field(description="the feed; an SRU base URL for format = sru")
    format: Literal["rss", "sru"] = "rss"
    sru_query: str = Field(
        "dc.date>={since}",
        description="SRU only: the CQL query, {since} and {until} replaced by YYYY-MM-DD",
    )
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per request")


class SdiConfig(BaseModel):
    """A tenant's new-arrival alerts (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    schedule: str = Field(
        "sat 15:30", description="when the run is due, tenant-local: 'sat 15:30', 'daily 06:00'"
    )
    max_conditions: int | None = Field(10, ge=1, le=1000)
    first_run_days: int = Field(7, ge=1, le=366)
    max_arrivals: int = Field(2000, ge=1, le=100_000)
    page_size: int = Field(100, ge=1, le=1000)
    feed: SdiFeedConfig | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return SdiSchedule.parse(value).describe()

    @model_validator(mode="after")
    def _pages(self) -> Self:
        if self.page_size > self.max_arrivals:
            raise ValueError(f"page_size ({self.page_size}) exceeds max_arrivals")
        return self

    @property
    def parsed_schedule(self) -> SdiSchedule:
        """The schedule as the domain type."""
        return SdiSchedule.parse(self.schedule)

    def describe(self, backend_kind: str, timezone: str) -> str:
        """One line for ``config check``."""
        if not self.enabled:
            return "sdi: off"
        if self.feed is not None:
            source = f"feed {self.feed.format} {self.feed.url}"
        else:
            source = {
                "koha": "koha items by acquisition_date",
                "folio": "folio instances by metadata.createdDate",
            }.get(backend_kind, "NO FEED (a SIP2 tenant needs [tenants.sdi.feed])")
        limit = "unlimited" if self.max_conditions is None else str(self.max_conditions)
        return (
            f"sdi: {self.schedule} {timezone}, {limit} conditions per patron, {source}, "
            f"at most {self.max_arrivals} arrivals per run"
        )
