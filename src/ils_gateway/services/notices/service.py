"""``NoticeService``: one tenant's notices, from what the gateway sees and from polling.

Every event has a dedup key ``<event>:<patron>:<what>`` (``<patron>``: the first 16 hex digits
of the patron's keyed hash, never the card). The ledger (``store.notice_ledger``) records it
first: only the process whose insert wins gives the notice, by the patron's channel:

- mail: queued in the outbox under a key built from the ledger keys it carries (due-date
  reminders and overdue notices list every new loan of the patron in one mail);
- phone (hold ready, when the patron's contact method is phone): a row on the staff's call
  list, what staff need sealed in the ledger;
- none (contact method none, no address, the event switched off): nothing, and nothing
  recorded, so a later change of mind still gets the notice while the event lasts.

A mail that cannot be queued drops its ledger rows again, so the next run tries again.

Polling (``poll(event)``) visits the enrolled patrons (the job roster) of the tenant, at most
``[tenants.notices] max_patrons_per_run`` a run (continuing where the last run stopped),
``concurrency`` library calls at a time, and stops at once when the library system is
unavailable (its circuit breaker open, or a call refused as unavailable).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from ils_gateway.adapters.base import Capability
from ils_gateway.domain.calendar import PickupCount
from ils_gateway.domain.ebooks import EbookHold
from ils_gateway.domain.errors import BackendUnavailable, BadRequest, GatewayError, NotFound
from ils_gateway.domain.models import Hold, Loan, Patron
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.mail.outbox import TenantOutbox
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.ebooks.service import EbookService
from ils_gateway.services.mylists.roster import PatronRoster
from ils_gateway.store.notices import LedgerEntry, NoticePreferences
from ils_gateway.store.records import (
    HoldContactMethod,
    HoldNoticeAddress,
    PatronRef,
    PatronSettings,
)
from ils_gateway.store.store import Store

log = structlog.get_logger(__name__)

#: The events polling knows.
POLLED = ("hold_ready", "ebook_hold_ready", "due_reminder", "overdue")


@dataclass(frozen=True)
class NoticeSettingsView:
    """A patron's notice preferences as the API shows them."""

    contact_method: str
    email: str | None
    due_reminder: bool
    due_reminder_days: int
    overdue_notice: bool
    child_entry_mail: bool
    due_reminder_days_min: int
    due_reminder_days_max: int


@dataclass
class PollReport:
    """What one polling run did for one tenant."""

    event: str
    patrons: int = 0
    enrolled: int = 0
    noticed: int = 0
    failed: int = 0
    stopped: str | None = None


@dataclass
class _Channel:
    kind: str  # mail, phone, none
    address: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class NoticeService:
    """One tenant's notices (see the module docstring)."""

    def __init__(
        self,
        tenant: TenantContext,
        store: Store,
        roster: PatronRoster,
        outbox: TenantOutbox,
        ebooks: EbookService | None = None,
    ) -> None:
        self._tenant = tenant
        self._store = store
        self._roster = roster
        self._outbox = outbox
        self._ebooks = ebooks

    @property
    def _config(self) -> Any:
        return self._tenant.config.notices

    def _owner(self, patron: Patron) -> PatronRef:
        return self._store.patron(self._tenant.id, patron.card_number)

    def _key(self, event: str, owner: PatronRef, what: str) -> str:
        return f"{event}:{owner.patron_key[:16]}:{what}"[:255]

    # --- preferences ----------------------------------------------------------------------

    async def preferences(self, patron: Patron) -> NoticeSettingsView:
        """The patron's notice preferences (the tenant's defaults where never set)."""
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        prefs = await self._store.notice_preferences.get(owner)
        return self._view(patron, settings, prefs)

    def _view(self, patron: Patron, settings: Any, prefs: NoticePreferences) -> NoticeSettingsView:
        config = self._config
        contact = settings.hold_contact_method
        return NoticeSettingsView(
            contact_method="mail" if contact is None else _api_contact(contact),
            email=_address(patron, settings),
            due_reminder=bool(settings.due_date_reminder) and config.due_reminder,
            due_reminder_days=(
                prefs.due_reminder_days
                if prefs.due_reminder_days is not None
                else config.due_reminder_days
            ),
            overdue_notice=prefs.overdue_notice,
            child_entry_mail=prefs.child_entry_mail and config.child_entry_mail,
            due_reminder_days_min=config.due_reminder_days_min,
            due_reminder_days_max=config.due_reminder_days_max,
        )

    async def update_preferences(self, patron: Patron, **changes: Any) -> NoticeSettingsView:
        """Change the given preferences; ``BadRequest`` naming each bad field, before any write.

        ``contact_method``: mail, phone or none (one the library offers); ``due_reminder``,
        ``overdue_notice``, ``child_entry_mail``: booleans; ``due_reminder_days``: within the
        library's limits. Opting in to a polled notice enrols the patron for the jobs.
        """
        config = self._config
        problems: list[str] = []
        offered = {m.value for m in self._tenant.policy.holds.contact_methods}
        contact = changes.get("contact_method")
        if "contact_method" in changes:
            wanted = {"mail": "email", "phone": "phone", "none": "none"}.get(str(contact))
            if wanted is None:
                problems.append("contact_method: mail, phone or none")
            elif wanted not in offered and wanted != "none":
                problems.append(f"contact_method: this library offers {', '.join(sorted(offered))}")
        days = changes.get("due_reminder_days")
        if days is not None and not (
            config.due_reminder_days_min <= days <= config.due_reminder_days_max
        ):
            problems.append(
                f"due_reminder_days: {config.due_reminder_days_min} to "
                f"{config.due_reminder_days_max}"
            )
        if changes.get("due_reminder") and not config.due_reminder:
            problems.append("due_reminder: this library sends no due-date reminders")
        if changes.get("child_entry_mail") and not config.child_entry_mail:
            problems.append("child_entry_mail: this library sends no child entry mail")
        if problems:
            raise BadRequest("; ".join(problems))
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        prefs = await self._store.notice_preferences.get(owner)
        before = settings.hold_contact_method

        if "contact_method" in changes or "due_reminder" in changes:
            update: dict[str, Any] = {}
            if "contact_method" in changes:
                update["hold_contact_method"] = HoldContactMethod(
                    {"mail": "email", "phone": "phone", "none": "none"}[str(contact)]
                )
            if "due_reminder" in changes:
                update["due_date_reminder"] = bool(changes["due_reminder"])
            settings = await self._store.settings.save(owner, replace(settings, **update))
        pref_update = {
            name: changes[name]
            for name in ("due_reminder_days", "overdue_notice", "child_entry_mail")
            if name in changes
        }
        if pref_update:
            prefs = await self._store.notice_preferences.save(owner, replace(prefs, **pref_update))
        if wants_polling(settings):
            await self._enrol(patron)
        await self.contact_method_changed(patron, before, settings)
        return self._view(patron, settings, prefs)

    async def _full(self, patron: Patron) -> Patron:
        """The patron with name and contact data: a session's patron carries neither, so the
        library system's record is read (once per notice); unchanged when it cannot be."""
        if patron.name and (patron.email or patron.phone):
            return patron
        try:
            full = await self._tenant.backend.patron_summary(patron)
        except GatewayError as exc:
            log.info("patron record not read for a notice", error=exc.type_slug)
            return patron
        return full if full.card_number == patron.card_number else patron

    async def _enrol(self, patron: Patron) -> None:
        """Enrol for polling with the library system's full record (a session's patron has
        no name or contact data); when it cannot be read, the next login enrols them."""
        try:
            full = await self._tenant.backend.patron_summary(patron)
        except GatewayError as exc:
            log.info("notice enrolment waits for a login", error=exc.type_slug)
            return
        if full.card_number != patron.card_number:  # checked against the request
            log.warning("patron summary for another card; not enrolled")
            return
        await self._roster.enrol(self._tenant.id, full)

    # --- events ---------------------------------------------------------------------------

    async def holds_seen(self, patron: Patron, holds: Sequence[Hold]) -> int:
        """Notice every ready hold of ``patron`` not noticed yet; how many were noticed."""
        if not self._config.hold_ready:
            return 0
        ready = [h for h in holds if h.status is HoldStatus.READY]
        if not ready:
            return 0
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        noticed = 0
        for hold in ready:
            channel = self._hold_channel(patron, settings, hold)
            key = self._key("hold_ready", owner, _hold_what(hold))
            if channel.kind == "none" or await self._store.notice_ledger.seen(self._tenant.id, key):
                continue
            incomplete = channel.address is None if channel.kind == "mail" else not patron.phone
            if incomplete or not patron.name:  # a session's patron: no name or contact data
                patron = await self._full(patron)
                channel = self._hold_channel(patron, settings, hold)
            if channel.kind == "mail" and channel.address is None:
                continue  # no address anywhere: nothing to send, nothing recorded
            context = self._hold_context(patron, hold)
            if channel.kind == "phone":
                details = {**context, "phone": patron.phone, "hold_id": hold.id}
                if await self._store.notice_ledger.record(
                    owner, key, "hold_ready", "phone", details
                ):
                    noticed += 1
                continue
            assert channel.address is not None
            if await self._mail(owner, "hold_ready", [key], channel.address, context):
                noticed += 1
        return noticed

    async def loans_seen(self, patron: Patron, loans: Sequence[Loan]) -> int:
        """Queue the due-date reminder (opted in, due within N days) and the overdue notice
        (past due by the tenant's days) for loans not noticed yet; how many mails."""
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        prefs = await self._store.notice_preferences.get(owner)
        if not (settings.due_date_reminder or prefs.overdue_notice):
            return 0
        address = _address(patron, settings)
        if address is None or not patron.name:
            patron = await self._full(patron)
            address = _address(patron, settings)
        if address is None:
            return 0
        today = self._tenant.today()
        config = self._config
        mails = 0
        if config.due_reminder and settings.due_date_reminder:
            days = (
                prefs.due_reminder_days
                if prefs.due_reminder_days is not None
                else config.due_reminder_days
            )
            due = [loan for loan in loans if 0 <= (loan.due_date - today).days <= days]
            mails += await self._loan_mail(owner, "due_reminder", patron, due, address)
        if config.overdue and prefs.overdue_notice:
            late = [
                loan for loan in loans if (today - loan.due_date).days >= config.overdue_after_days
            ]
            mails += await self._loan_mail(owner, "overdue", patron, late, address)
        return mails

    async def ebook_holds_seen(self, patron: Patron, holds: Sequence[EbookHold]) -> int:
        """Mail every ready e-book hold not mailed yet to the registered address."""
        if not self._config.ebook_hold_ready:
            return 0
        ready = [h for h in holds if h.status is HoldStatus.READY]
        if not ready:
            return 0
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        address = _address(patron, settings)
        if address is None or settings.hold_contact_method is HoldContactMethod.NONE:
            return 0
        zone = self._tenant.now().tzinfo
        noticed = 0
        for hold in ready:
            since = hold.ready_since or hold.ready_until
            assert since is not None
            key = self._key("ebook_hold_ready", owner, f"{hold.title.id}:{since:%Y%m%dT%H%M}")
            context: dict[str, Any] = {"title": hold.title.title, **_named(patron)}
            if hold.ready_until is not None:
                context["borrow_by"] = hold.ready_until.astimezone(zone).date().isoformat()
            if await self._mail(owner, "ebook_hold_ready", [key], address, context):
                noticed += 1
        return noticed

    async def child_entered(self, patron: Patron, place: str | None = None) -> bool:
        """A child logged in at a kiosk: mail the guardian (the child's registered address)
        when the library offers it and it is switched on; True when queued."""
        if not (self._config.child_entry_mail and patron.is_child):
            return False
        owner = self._owner(patron)
        prefs = await self._store.notice_preferences.get(owner)
        if not prefs.child_entry_mail:
            return False
        address = _address(patron, await self._store.settings.get(owner))
        if address is None:
            return False
        now = self._tenant.now()
        # One mail per child per half hour: several kiosk logins in a visit are one entry.
        window = f"{now:%Y%m%dT%H}{now.minute // 30 * 30:02d}"
        key = self._key("kiosk_child_entry", owner, window)
        context: dict[str, Any] = {"child_name": patron.name, "at": now.isoformat()}
        if place:
            context["place"] = place
        return await self._mail(owner, "kiosk_child_entry", [key], address, context)

    async def kiosk_login(self, patron: Patron, place: str | None = None) -> bool:
        """A patron logged in at a kiosk (an OPAC on the kiosk channel, or a self-check on
        the SIP2 face): the child entry mail when it applies. Never fails the login: a
        problem is logged and False returned."""
        try:
            return await self.child_entered(patron, place)
        except Exception:
            log.exception("child entry mail not queued", tenant=self._tenant.id)
            return False

    async def address_changed(
        self,
        patron: Patron,
        new_address: str,
        changes: Sequence[str] = (),
        *,
        old_address: str | None = None,
    ) -> bool:
        """Confirm a change of the patron's address or contact data by mail to the new
        address (and the old one, where it differs). For the account helper; True when
        queued (a second call for the same change within the minute queues nothing)."""
        owner = self._owner(patron)
        now = self._tenant.now()
        digest = hashlib.sha256(new_address.encode()).hexdigest()[:12]
        key = self._key("address_change_confirm", owner, f"{digest}:{now:%Y%m%dT%H%M}")
        recipients = [new_address]
        if old_address and old_address != new_address:
            recipients.append(old_address)
        context: dict[str, Any] = {
            **_named(patron),
            "changes": list(changes),
            "changed_at": now.isoformat(),
        }
        return await self._mail(owner, "address_change_confirm", [key], recipients, context)

    async def contact_method_changed(
        self, patron: Patron, before: HoldContactMethod | None, settings: PatronSettings
    ) -> bool:
        """Confirm a changed hold contact method by mail (``address_change_confirm``) to the
        address notices go to (``settings``: the patron's settings as saved with the new
        method): a session taken over must not silence a patron's notices unseen (switching
        to phone or none included). Nothing when the method did not change or the patron has
        no address; True when queued (the same change within the minute queues nothing
        more). A first choice of mail is no change to tell (mail is what an unset method
        means where the library has none)."""
        after = settings.hold_contact_method
        if before == after or (before is None and after is HoldContactMethod.EMAIL):
            return False
        owner = self._owner(patron)
        full = await self._full(patron)
        address = _address(full, settings)
        if address is None:
            return False
        now = self._tenant.now()
        what = f"{before or 'default'}-{after or 'default'}:{now:%Y%m%dT%H%M}"
        key = self._key("contact_method_changed", owner, what)
        context: dict[str, Any] = {
            **_named(full),
            "changes": [self._contact_line(before, after)],
            "changed_at": now.isoformat(),
        }
        return await self._mail(owner, "address_change_confirm", [key], address, context)

    def _contact_line(
        self, before: HoldContactMethod | None, after: HoldContactMethod | None
    ) -> str:
        """``予約の連絡方法：メール → 電話`` in the tenant's language (the mail's)."""
        english = self._tenant.config.language.default == "en"
        names = _CONTACT_EN if english else _CONTACT_JA
        head = "Hold notices by: " if english else "予約の連絡方法："
        return f"{head}{names[before]} → {names[after]}"

    # --- the call list --------------------------------------------------------------------

    async def calls(self, *, include_done: bool = False) -> list[LedgerEntry]:
        """The staff's phone call list (calls still to make, unless ``include_done``)."""
        return await self._store.notice_ledger.calls(self._tenant.id, include_done=include_done)

    async def call_done(self, entry_id: int, by: str) -> LedgerEntry:
        """Mark one call made; ``NotFound`` when the tenant has no such call."""
        entry = await self._store.notice_ledger.mark_done(self._tenant.id, entry_id, by)
        if entry is None:
            raise NotFound("No such call")
        return entry

    # --- polling --------------------------------------------------------------------------

    async def poll(self, event: str) -> PollReport:
        """One bounded polling run for ``event`` (one of ``POLLED``) over enrolled patrons."""
        if event not in POLLED:
            raise ValueError(f"unknown notice event {event!r}")
        report = PollReport(event)
        if not self._event_on(event):
            report.stopped = "switched off"
            return report
        backend = self._tenant.backend
        breaker = getattr(backend, "breaker", None)
        if breaker is not None and str(getattr(breaker, "state", "closed")) != "closed":
            report.stopped = "library system unavailable (breaker open)"
            return report
        if event == "ebook_hold_ready" and self._ebooks is None:
            report.stopped = "no e-library"
            return report
        needed = (
            Capability.LIST_LOANS
            if event in ("due_reminder", "overdue")
            else (Capability.LIST_HOLDS)
        )
        if event != "ebook_hold_ready" and not backend.capabilities.supports(needed):
            report.stopped = f"backend cannot {needed.value}"
            return report
        enrolled = await self._roster.patrons(self._tenant.id)
        report.enrolled = len(enrolled)
        if not enrolled:
            return report
        config = self._config
        start = await self._store.notice_cursors.get(self._tenant.id, event) % len(enrolled)
        count = min(config.max_patrons_per_run, len(enrolled))
        batch = [enrolled[(start + i) % len(enrolled)] for i in range(count)]
        slots = asyncio.Semaphore(config.concurrency)
        stop = asyncio.Event()

        async def visit(patron: Patron) -> None:
            async with slots:
                if stop.is_set():
                    return
                report.patrons += 1
                try:
                    noticed = await self._poll_one(event, patron)
                    report.noticed += noticed  # after the await: visits run interleaved
                except BackendUnavailable:
                    stop.set()
                    report.stopped = "library system unavailable"
                except GatewayError as exc:
                    report.failed += 1
                    log.warning(
                        "notice polling failed",
                        tenant=self._tenant.id,
                        card=patron.masked_card,
                        error=exc.type_slug,
                    )

        await asyncio.gather(*(visit(p) for p in batch))
        await self._store.notice_cursors.set(
            self._tenant.id, event, (start + report.patrons) % len(enrolled)
        )
        return report

    def _event_on(self, event: str) -> bool:
        config = self._config
        return bool(
            {
                "hold_ready": config.hold_ready,
                "ebook_hold_ready": config.ebook_hold_ready,
                "due_reminder": config.due_reminder,
                "overdue": config.overdue,
            }[event]
        )

    async def _poll_one(self, event: str, patron: Patron) -> int:
        backend = self._tenant.backend
        if event == "hold_ready":
            holds = await backend.list_holds(patron)
            return await self.holds_seen(patron, holds)
        if event == "ebook_hold_ready":
            assert self._ebooks is not None
            return await self.ebook_holds_seen(patron, await self._ebooks.holds(Caller(patron)))
        owner = self._owner(patron)
        settings = await self._store.settings.get(owner)
        if event == "due_reminder" and not settings.due_date_reminder:
            return 0  # nothing to ask the library for
        if event == "overdue":
            prefs = await self._store.notice_preferences.get(owner)
            if not prefs.overdue_notice:
                return 0
        loans = await backend.list_loans(patron)
        today = self._tenant.today()
        if event == "due_reminder":
            loans = [loan for loan in loans if loan.due_date >= today]
        else:
            loans = [loan for loan in loans if loan.due_date < today]
        return await self.loans_seen(patron, loans)

    # --- helpers --------------------------------------------------------------------------

    def _hold_channel(self, patron: Patron, settings: Any, hold: Hold) -> _Channel:
        method = settings.hold_contact_method
        if method is None and hold.contact_method is not None:
            kind = hold.contact_method.value
            method = {
                "email": HoldContactMethod.EMAIL,
                "email2": HoldContactMethod.EMAIL,
                "phone": HoldContactMethod.PHONE,
            }.get(kind, HoldContactMethod.NONE)
        if method is HoldContactMethod.NONE:
            return _Channel("none")
        if method is HoldContactMethod.PHONE:
            return _Channel("phone")
        return _Channel("mail", _address(patron, settings))

    def _hold_context(self, patron: Patron, hold: Hold) -> dict[str, Any]:
        context: dict[str, Any] = {"title": hold.item.title, **_named(patron)}
        if hold.pickup_library:
            context["pickup_library"] = self._library_name(hold.pickup_library)
        deadline = hold.pickup_deadline
        calendar = self._tenant.calendar
        today = self._tenant.today()
        config = self._config
        if deadline is None and calendar is not None and config.pickup_days is not None:
            try:
                deadline = calendar.pickup_deadline(
                    today, config.pickup_days, PickupCount(config.pickup_counted)
                )
            except ValueError:
                deadline = None
        if deadline is not None:
            context["pickup_deadline"] = deadline.isoformat()
        opening = hold.next_opening_day
        if opening is None and calendar is not None:
            try:
                opening = calendar.next_opening_day(today, include=True)
            except ValueError:
                opening = None
        if opening is not None:
            context["next_opening_day"] = opening.isoformat()
        return context

    def _library_name(self, code: str) -> str:
        for library in self._tenant.config.pickup_libraries:
            if library.code == code:
                return library.name
        return code

    async def _loan_mail(
        self, owner: PatronRef, event: str, patron: Patron, loans: Sequence[Loan], address: str
    ) -> int:
        new: list[tuple[str, Loan]] = []
        for loan in loans:
            key = self._key(event, owner, f"{loan.id}:{loan.due_date.isoformat()}")
            if not await self._store.notice_ledger.seen(self._tenant.id, key):
                new.append((key, loan))
        if not new:
            return 0
        context = {
            **_named(patron),
            "items": [
                {"title": loan.item.title, "due_date": loan.due_date.isoformat()} for _, loan in new
            ],
        }
        queued = await self._mail(owner, event, [k for k, _ in new], address, context)
        return 1 if queued else 0

    async def _mail(
        self,
        owner: PatronRef,
        event: str,
        keys: Sequence[str],
        to: str | Sequence[str],
        context: Mapping[str, Any],
    ) -> bool:
        """Record ``keys`` in the ledger; queue one mail for those this process won."""
        ledger = self._store.notice_ledger
        won = [k for k in keys if await ledger.record(owner, k, event, "mail")]
        if not won:
            return False
        outbox_key = won[0] if len(won) == 1 else _joined(event, owner, won)
        try:
            await self._outbox.enqueue(outbox_key, to, event, None, dict(context))
        except Exception:
            for key in won:
                await ledger.forget(self._tenant.id, key)
            raise
        return True


_CONTACT_JA: dict[HoldContactMethod | None, str] = {
    HoldContactMethod.EMAIL: "メール",
    HoldContactMethod.PHONE: "電話",
    HoldContactMethod.NONE: "連絡不要",
    None: "図書館の登録どおり",
}
_CONTACT_EN: dict[HoldContactMethod | None, str] = {
    HoldContactMethod.EMAIL: "e-mail",
    HoldContactMethod.PHONE: "phone",
    HoldContactMethod.NONE: "no notice",
    None: "as the library has it",
}


def _named(patron: Patron) -> dict[str, str]:
    """The template's ``patron_name`` when the name is known (templates test ``is defined``)."""
    return {"patron_name": patron.name} if patron.name else {}


def _hold_what(hold: Hold) -> str:
    return f"{hold.id}:{hold.pickup_deadline or 'ready'}"


def _joined(event: str, owner: PatronRef, keys: Sequence[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:24]
    return f"{event}:{owner.patron_key[:16]}:batch:{digest}"


def _api_contact(method: HoldContactMethod) -> str:
    return "mail" if method is HoldContactMethod.EMAIL else method.value


def _address(patron: Patron, settings: Any) -> str | None:
    """Where notices go: the address the patron chose for hold notices, else their first,
    else the library system's."""
    if settings.hold_notice_to is HoldNoticeAddress.EMAIL2 and settings.email2:
        return str(settings.email2)
    if settings.email1:
        return str(settings.email1)
    return patron.email or patron.email2


def wants_polling(settings: Any) -> bool:
    """Whether the patron opted in to a notice the jobs poll the library for: a due-date
    reminder, or a hold contact method by mail or phone."""
    return bool(settings.due_date_reminder) or settings.hold_contact_method in (
        HoldContactMethod.EMAIL,
        HoldContactMethod.PHONE,
    )


__all__ = [
    "POLLED",
    "NoticeService",
    "NoticeSettingsView",
    "PollReport",
    "wants_polling",
]
