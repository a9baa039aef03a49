"""The patron settings the gateway keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ils_gateway.api.schemas.account import StoredIn
from ils_gateway.api.schemas.common import Body
from ils_gateway.services.mylists.records import (
    EmailKind,
    HoldContactMethod,
    HoldNoticeAddress,
    PatronSettings,
)


class SettingsView(Body):
    """The patron's settings the gateway keeps."""

    email1: str | None
    email1_kind: EmailKind | None
    email2: str | None
    email2_kind: EmailKind | None
    hold_notice_to: HoldNoticeAddress | None
    default_pickup_library: str | None
    hold_contact_method: HoldContactMethod | None
    due_date_reminder: bool
    reading_history_enabled: bool

    @classmethod
    def of(cls, settings: PatronSettings) -> SettingsView:
        """The API view of stored settings (without the moment history was switched on)."""
        return cls.copied_from(settings)


class SettingsUpdateRequest(Body):
    """Fields to change (omit to keep, null to clear); the history switch has its own routes."""

    email1: str | None = Field(None, max_length=254)
    email1_kind: EmailKind | None = None
    email2: str | None = Field(None, max_length=254)
    email2_kind: EmailKind | None = None
    hold_notice_to: HoldNoticeAddress | None = None
    default_pickup_library: str | None = Field(None, max_length=128)
    hold_contact_method: HoldContactMethod | None = None
    due_date_reminder: bool | None = None


class PendingAddressView(Body):
    """A new address waiting for the link mailed to it (masked) until ``expires_at``; where
    it will live once confirmed."""

    field: Literal["email1", "email2"]
    confirm_sent_to: str
    expires_at: datetime
    stored_in: StoredIn


class AddressStoredIn(Body):
    """Where each address lives once confirmed: ``email1`` in the library system where it
    keeps the patron's address (Koha, FOLIO), else in the gateway; ``email2`` in the gateway;
    the hold contact method in the gateway (a change is confirmed by mail to the patron)."""

    email1: StoredIn
    email2: StoredIn
    hold_contact_method: StoredIn


class SettingsUpdateView(SettingsView):
    """The settings as saved (200), or (202) with new addresses waiting for their links: a new
    ``email1``/``email2`` is not saved until confirmed."""

    pending_confirmation: list[PendingAddressView]
    stored_in: AddressStoredIn
