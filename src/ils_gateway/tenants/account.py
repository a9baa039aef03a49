"""Tenant settings for the patron's account face: where a password is changed when the
library system cannot change it through the gateway, and the language answers default to.

``[tenants.password_change] url = "https://…"`` names the library's own password page (a SIP2
library: SIP2 has no password change). A temporary-password session is then answered with that
link (``change_url`` in the ``password-change-required`` problem, ``password_change_url`` in the
login answer), and ``POST …/patron/password`` answers ``password-change-elsewhere`` with it,
instead of refusing for ever.

``[tenants.account_links] reset_url / confirm_url`` are the portal's pages that mailed account
links open (issue 18, ``services.account_lifecycle``).

``[tenants.language] default = "ja"`` is the language of problem ``detail``/``title`` and of
labels when a request's ``Accept-Language`` names neither Japanese nor English.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

__all__ = [
    "AccountLinksConfig",
    "LanguageConfig",
    "PasswordChangeConfig",
    "password_way_out_problem",
]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PasswordChangeConfig(_Config):
    """Where the patron changes a password the library system cannot change for the gateway."""

    url: HttpUrl | None = Field(
        None, description="the library's own password page (for backends without a change)"
    )

    @property
    def link(self) -> str | None:
        """The page as a string (None when the tenant names none)."""
        return str(self.url) if self.url is not None else None


class AccountLinksConfig(_Config):
    """The portal's pages a mailed account link opens (issue 18): the link is the page with
    ``token=<token>`` added to its query; the page then calls the gateway's confirm endpoint.
    Unset: the mail carries the token alone."""

    reset_url: HttpUrl | None = Field(None, description="the portal's password-reset page")
    confirm_url: HttpUrl | None = Field(
        None, description="the portal's page confirming a new e-mail address or phone"
    )

    @property
    def reset(self) -> str | None:
        """The reset page as a string (None when unset)."""
        return str(self.reset_url) if self.reset_url is not None else None

    @property
    def confirm(self) -> str | None:
        """The confirmation page as a string (None when unset)."""
        return str(self.confirm_url) if self.confirm_url is not None else None


class LanguageConfig(_Config):
    """The language answers use when the request does not choose one (``Accept-Language``)."""

    default: Literal["ja", "en"] = "ja"


def password_way_out_problem(
    gate: bool, backend_kind: str, verify_patron_pin: bool, page: PasswordChangeConfig
) -> str | None:
    """Why a temporary-password gate would lock patrons out for good (None when it would not):
    the gate is on, the library system cannot change passwords through the gateway (SIP2; a
    FOLIO that checks no patron PIN) and the tenant names no page of its own."""
    if not gate or page.url is not None:
        return None
    if backend_kind == "sip2":
        why = "SIP2 has no password change"
    elif backend_kind == "folio" and not verify_patron_pin:
        why = "this FOLIO checks no patron PIN (backend.verify_patron_pin = false)"
    else:
        return None
    return (
        "policy.account.temporary_password_gate: a temporary password could never be changed "
        f"({why}); name the library's own page in [tenants.password_change] url"
    )
