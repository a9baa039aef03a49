"""New-arrival alerts (新着図書お知らせ, SDI): the patron's saved conditions and the run.

Conditions (``SdiService``): list, create, update, delete, for the logged-in patron only
(rows filed under the keyed patron hash); the tenant's ``[tenants.sdi]`` must be on and the
channel must offer ``new_arrival_alerts`` (Nishinomiya: web only); at most
``sdi.max_conditions`` per patron (``ListLimitReached``, 422).

The run (``run_sdi``), at the tenant's schedule (``sdi.schedule``, tenant-local):

1. ``until`` is the latest scheduled instant at or before now; ``since`` is the tenant's run
   mark (the previous run's ``until``), or ``until - first_run_days`` the first time. Nothing
   is due while the mark is at or past ``until``.
2. The feed (``adapters.arrivals``) gives the arrivals of ``[since, until)``, paged, at most
   ``sdi.max_arrivals``.
3. Each patron with conditions gets one mail listing every arrival matching any of them
   (``domain.sdi``: case, width and kana insensitive), through the outbox with the dedup key
   ``sdi:<tenant>:<patron key>:<run date>``; nothing when nothing matched.
4. Only when every mail is enqueued does the mark move to ``until``. A run that fails midway
   leaves the mark, so the next attempt covers the same window; its mails already enqueued
   carry the same dedup keys, so the outbox takes none of them twice.

The address is the one the patron registered with the gateway (settings ``email1``/``email2``;
``hold_notice_to`` picks which when both are set). A patron with conditions and no address is
counted (``no_address``) and skipped.
"""

from __future__ import annotations

import builtins  # annotations after a method named ``list`` need the builtin by name
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.sdi import (
    ArrivalWindow,
    NewArrival,
    SdiCondition,
    condition_matches,
    matches_for,
)
from ils_gateway.domain.vocab import Feature, MaterialType
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.store.records import UNSET, HoldNoticeAddress, PatronRef, PatronSettings, Unset
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

__all__ = [
    "TEMPLATE",
    "FeedFactory",
    "MailOutbox",
    "SdiRunReport",
    "SdiService",
    "dedup_key",
    "mail_address",
    "run_sdi",
]

log = structlog.get_logger(__name__)

#: The outbox template of the new-arrival mail (the mail package renders it).
TEMPLATE = "sdi_new_arrivals"


class MailOutbox(Protocol):
    """Where the run puts its mails (``ils_gateway.mail.Outbox``): False when a mail with the
    same dedup key is already there (nothing is added then)."""

    async def enqueue(
        self,
        tenant_id: str,
        dedup_key: str,
        to: str,
        template: str,
        language: str | None,
        context: Mapping[str, Any],
    ) -> bool:
        """Add one mail unless its dedup key is known (language None: the tenant's)."""
        ...


if TYPE_CHECKING:
    from ils_gateway.adapters.arrivals import ArrivalFeed

FeedFactory = Callable[[TenantConfig], "ArrivalFeed | None"]


def open_feed(tenant: TenantConfig) -> ArrivalFeed | None:
    """``adapters.arrivals.open_feed``, imported at the first run: the feeds' module brings the
    Koha and FOLIO clients and their schemas, which a start need not load (issue 17)."""
    from ils_gateway.adapters.arrivals import open_feed as open_arrivals_feed

    return open_arrivals_feed(tenant)


class SdiService:
    """The patron's saved new-arrival conditions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def _require(ctx: PatronContext) -> None:
        if not ctx.tenant.sdi.enabled:
            raise FeatureDisabled(
                Feature.NEW_ARRIVAL_ALERTS,
                detail="This library sends no new-arrival mail",
                operator_detail="[tenants.sdi] enabled = false",
            )
        ctx.require(Feature.NEW_ARRIVAL_ALERTS)

    async def list(self, ctx: PatronContext) -> builtins.list[SdiCondition]:
        """The patron's conditions in the order they were saved."""
        self._require(ctx)
        return await self._store.sdi.list(ctx.owner)

    async def create(
        self,
        ctx: PatronContext,
        name: str,
        *,
        author: str | None = None,
        title_words: str | None = None,
        subject: str | None = None,
        material_type: MaterialType | None = None,
    ) -> SdiCondition:
        """Save a condition; ``ListLimitReached`` (422) past the tenant's limit."""
        self._require(ctx)
        with store_errors():
            return await self._store.sdi.create(
                ctx.owner,
                name,
                author=author,
                title_words=title_words,
                subject=subject,
                material_type=material_type,
                max_conditions=ctx.tenant.sdi.max_conditions,
            )

    async def update(
        self,
        ctx: PatronContext,
        condition_id: str,
        *,
        name: str | Unset = UNSET,
        author: str | Unset | None = UNSET,
        title_words: str | Unset | None = UNSET,
        subject: str | Unset | None = UNSET,
        material_type: MaterialType | Unset | None = UNSET,
    ) -> SdiCondition:
        """Change a condition (None clears a field; one must stay set)."""
        self._require(ctx)
        with store_errors():
            return await self._store.sdi.update(
                ctx.owner,
                condition_id,
                name=name,
                author=author,
                title_words=title_words,
                subject=subject,
                material_type=material_type,
            )

    async def delete(self, ctx: PatronContext, condition_id: str) -> None:
        """Delete a condition."""
        self._require(ctx)
        with store_errors():
            await self._store.sdi.delete(ctx.owner, condition_id)


# --- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SdiRunReport:
    """What one run did (no personal data: counts only)."""

    tenant_id: str
    due: bool
    since: datetime | None = None
    until: datetime | None = None
    arrivals: int = 0
    truncated: bool = False
    patrons: int = 0
    matched: int = 0
    enqueued: int = 0
    already_enqueued: int = 0
    no_address: int = 0
    mark_advanced: bool = False
    source: str = ""
    notes: tuple[str, ...] = field(default=())


def dedup_key(
    tenant_id: str, patron_key: str, until: datetime, timezone: ZoneInfo, *, forced: bool = False
) -> str:
    """The outbox key of a patron's mail of one run: tenant, patron and the run's local date
    (a forced run, which may follow a scheduled one the same day, adds its minute)."""
    local = until.astimezone(timezone)
    stamp = local.strftime("%Y-%m-%dT%H%M") if forced else local.date().isoformat()
    return f"sdi:{tenant_id}:{patron_key}:{stamp}"


def mail_address(settings: PatronSettings) -> str | None:
    """The address the new-arrival mail goes to (None: the patron registered none)."""
    if settings.hold_notice_to is HoldNoticeAddress.EMAIL2 and settings.email2:
        return settings.email2
    return settings.email1 or settings.email2


def _item(
    arrival: NewArrival, conditions: Sequence[SdiCondition], timezone: ZoneInfo
) -> dict[str, Any]:
    """One title of the mail (``sdi_new_arrivals``: title, author, url, condition; a key the
    arrival has no value for is left out, so the template shows no empty line)."""
    item: dict[str, Any] = {
        "title": arrival.title,
        "record_id": arrival.record_id,
        "acquired": arrival.acquired.astimezone(timezone).date().isoformat(),
        "condition": "、".join(c.name for c in conditions if condition_matches(c, arrival)),
    }
    if arrival.authors:
        item["author"] = "、".join(arrival.authors)
    if arrival.link:
        item["url"] = arrival.link
    if arrival.material_type is not None:
        item["material_type"] = arrival.material_type.value
    return item


async def run_sdi(
    tenant: TenantConfig,
    now: datetime,
    *,
    store: Store,
    outbox: MailOutbox,
    feed_factory: FeedFactory = open_feed,
    force: bool = False,
) -> SdiRunReport:
    """One new-arrival run of ``tenant`` as of ``now`` (see the module docstring).

    ``force`` runs even when no scheduled instant has passed since the last run (an operator's
    ``jobs run``): the window then ends at ``now``.
    """
    sdi = tenant.sdi
    if not sdi.enabled:
        return SdiRunReport(tenant.id, due=False, notes=("sdi disabled",))
    timezone = ZoneInfo(tenant.timezone)
    mark = await store.sdi.run_mark(tenant.id)
    until = sdi.parsed_schedule.latest(now, timezone)
    forced = False
    if mark is not None and mark >= until:
        if not force:
            return SdiRunReport(tenant.id, due=False, since=mark)
        until, forced = now.replace(second=0, microsecond=0), True
        if mark >= until:
            return SdiRunReport(tenant.id, due=False, since=mark)
    since = mark if mark is not None else until - timedelta(days=sdi.first_run_days)
    window = ArrivalWindow(since, until, timezone)
    conditions = await store.sdi.by_patron(tenant.id)
    if not conditions:
        advanced = await store.sdi.advance(tenant.id, expected=mark, to=until)
        return SdiRunReport(tenant.id, due=True, since=since, until=until, mark_advanced=advanced)
    feed = feed_factory(tenant)
    if feed is None:
        return SdiRunReport(
            tenant.id, due=True, since=since, until=until, notes=("no feed configured",)
        )
    try:
        batch = await feed.arrivals(window, max_arrivals=sdi.max_arrivals, page_size=sdi.page_size)
    finally:
        await feed.aclose()
    if batch.truncated:
        log.warning(
            "sdi: more new arrivals than max_arrivals; the rest are not announced",
            tenant=tenant.id,
            max_arrivals=sdi.max_arrivals,
        )
    matched = enqueued = already = no_address = 0
    run_date = until.astimezone(timezone).date().isoformat()
    for patron_key, patron_conditions in conditions.items():
        found = matches_for(patron_conditions, batch.arrivals)
        if not found:
            continue
        matched += 1
        settings = await store.settings.get(PatronRef(tenant.id, patron_key))
        to = mail_address(settings)
        if to is None:
            no_address += 1
            continue
        context = {
            "items": [_item(a, patron_conditions, timezone) for a in found],
            "conditions": [c.name for c in patron_conditions],
            "run_date": run_date,
            "since": since.astimezone(timezone).date().isoformat(),
        }
        added = await outbox.enqueue(
            tenant.id,
            dedup_key(tenant.id, patron_key, until, timezone, forced=forced),
            to,
            TEMPLATE,
            None,  # the tenant's mail language ([tenants.mail], else [tenants.language])
            context,
        )
        if added:
            enqueued += 1
        else:
            already += 1
    advanced = await store.sdi.advance(tenant.id, expected=mark, to=until)
    report = SdiRunReport(
        tenant.id,
        due=True,
        since=since,
        until=until,
        arrivals=len(batch.arrivals),
        truncated=batch.truncated,
        patrons=len(conditions),
        matched=matched,
        enqueued=enqueued,
        already_enqueued=already,
        no_address=no_address,
        mark_advanced=advanced,
        source=batch.source,
    )
    log.info("sdi run", **{k: v for k, v in report.__dict__.items() if k != "notes"})
    return report
