"""The outbox API the rest of the gateway calls to send a patron a mail.

Queue, don't send: a service that sees an event (a hold became ready, an address changed…)
calls ``enqueue`` with a dedup key naming the event; a drainer (``mail.drain.drain_outbox``,
run periodically by ``serve`` and by ``ils-gateway mail drain``) renders and sends it later,
with retries. The same dedup key twice for one tenant queues one mail, also from two processes
at once (the store's unique constraint decides), and also after the first was sent.

Getting one: inside the gateway, ``TenantRuntime.outbox`` (a ``TenantOutbox``, None without a
store) and ``Gateway.outbox`` (the ``Outbox`` for every tenant, None without a store); from a
store directly, ``Outbox(store.outbox)``.

Example::

    queued = await runtime.outbox.enqueue(
        f"hold_ready:{hold.id}:{hold.ready_at:%Y%m%d}",
        patron_email,
        "hold_ready",
        None,  # the tenant's default language
        {"patron_name": "山田太郎", "title": "坊っちゃん", "pickup_library": "中央図書館",
         "pickup_deadline": date(2026, 12, 11)},
    )

Dedup keys: name the event and what makes it distinct, e.g. ``hold_ready:<hold id>``,
``due_reminder:<loan id>:<due date>``, ``overdue:<loan id>:<due date>:<nth notice>``,
``password_reset:<token id>``. Never put a card number or password in a key or a context: the
outbox is readable by operators (``ils-gateway mail failed``). A reset link's token is fine in a
context (it is single-use and expires) but not in a key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ils_gateway.store.outbox import OutboxMail, OutboxRepository

#: The events the gateway mails about: one template (subject + body, ja and en) each.
TEMPLATES: frozenset[str] = frozenset(
    {
        "hold_ready",  # a reserved item is ready for pickup
        "due_reminder",  # a loan is due in N days (opt-in)
        "overdue",  # a loan is past its due date
        "ebook_hold_ready",  # a reserved e-book can be borrowed now
        "kiosk_child_entry",  # a child's card was used at a kiosk (to the guardian)
        "address_change_confirm",  # the patron's address/contact was changed
        "email_confirm",  # confirm a new e-mail address (link)
        "password_reset",  # reset a password (single-use link)
        "registration_confirm",  # first-time password registration done / to confirm
        "sdi_new_arrivals",  # new arrivals matching saved conditions (新着図書案内)
    }
)
LANGUAGES: frozenset[str] = frozenset({"ja", "en"})

#: The context keys each template needs (``enqueue`` refuses a context without them). Every
#: template also takes ``patron_name`` (the greeting; omitted: a neutral one) and the optional
#: keys listed in docs/mail.md ("Templates"); lists of items are lists of JSON objects.
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "hold_ready": frozenset({"title"}),  # + pickup_library, pickup_deadline (date)
    "due_reminder": frozenset({"items"}),  # [{title, due_date}], + days_before
    "overdue": frozenset({"items"}),  # [{title, due_date}]
    "ebook_hold_ready": frozenset({"title"}),  # + borrow_by (date), ebook_url
    "kiosk_child_entry": frozenset({"child_name", "at"}),  # at: datetime; + place
    "address_change_confirm": frozenset(),  # + changes [str], changed_at (datetime)
    "email_confirm": frozenset({"confirm_url"}),  # + expires_at (datetime)
    "password_reset": frozenset({"reset_url"}),  # + expires_at (datetime)
    "registration_confirm": frozenset(),  # + confirm_url, expires_at
    "sdi_new_arrivals": frozenset({"items"}),  # [{title, author, publisher, url, condition}]
}

#: Keys the renderer sets itself (the library's name, its portal, the mail's language).
RESERVED_FIELDS: frozenset[str] = frozenset({"library", "portal_url", "lang"})

__all__ = [
    "LANGUAGES",
    "RESERVED_FIELDS",
    "TEMPLATES",
    "TEMPLATE_FIELDS",
    "Outbox",
    "OutboxMail",
    "TenantOutbox",
]


class Outbox:
    """Queues mails for any tenant (rows in the store's ``mail_outbox``)."""

    def __init__(self, repository: OutboxRepository) -> None:
        self.repository = repository

    async def enqueue(
        self,
        tenant_id: str,
        dedup_key: str,
        to: str | Sequence[str],
        template: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue the mail of one event; True when queued, False when ``dedup_key`` was already
        queued for ``tenant_id`` (pending, sent or failed: the event is not mailed twice).

        - ``to``: one address or several (all in To:); must be non-empty, no line breaks.
        - ``template``: one of ``TEMPLATES`` (``ValueError`` otherwise); ``context`` must hold
          its ``TEMPLATE_FIELDS`` and none of ``RESERVED_FIELDS`` (``ValueError`` otherwise).
        - ``language``: ``"ja"``, ``"en"`` or None for the tenant's ``[tenants.mail] language``
          (else its ``[tenants.language] default``); ``ValueError`` for another.
        - ``context``: the template's variables, JSON-ready (dates/datetimes are kept as ISO
          strings and formatted by the template); a variable the template needs but the
          context lacks makes the send fail loudly (StrictUndefined), never a blank.
        - ``not_before``: send no earlier than this (timezone-aware); default now.

        Raises ``store.errors.InvalidValue`` (a ``ValueError``) for a bad key, recipient or
        context. Only the insert touches the database; nothing is sent here.
        """
        if template not in TEMPLATES:
            raise ValueError(f"unknown mail template {template!r}")
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"unknown mail language {language!r} (ja or en)")
        missing = sorted(TEMPLATE_FIELDS[template] - set(context))
        if missing:
            raise ValueError(f"mail template {template!r} needs {', '.join(missing)} in context")
        reserved = sorted(RESERVED_FIELDS & set(context))
        if reserved:
            raise ValueError(f"{', '.join(reserved)}: set by the renderer, not the context")
        recipients = [to] if isinstance(to, str) else list(to)
        return await self.repository.enqueue(
            tenant_id, dedup_key, recipients, template, language, context, not_before=not_before
        )

    def for_tenant(self, tenant_id: str) -> TenantOutbox:
        """The outbox bound to one tenant."""
        return TenantOutbox(self, tenant_id)


class TenantOutbox:
    """One tenant's outbox: ``enqueue`` without the tenant id."""

    def __init__(self, outbox: Outbox, tenant_id: str) -> None:
        self.outbox = outbox
        self.tenant_id = tenant_id

    async def enqueue(
        self,
        dedup_key: str,
        to: str | Sequence[str],
        template: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        not_before: datetime | None = None,
    ) -> bool:
        """``Outbox.enqueue`` for this tenant (same arguments and answer)."""
        return await self.outbox.enqueue(
            self.tenant_id, dedup_key, to, template, language, context, not_before=not_before
        )

    async def find(self, dedup_key: str) -> OutboxMail | None:
        """The mail queued under ``dedup_key`` for this tenant (its status), or None."""
        return await self.outbox.repository.find(self.tenant_id, dedup_key)
