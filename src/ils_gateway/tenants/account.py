"""Tenant settings for the patron's account face: where a password is changed when the
library system cannot change it through the gateway, and the language answers default to.

``[tenants.password_change] url = "https://…"`` names the library's own password page (a SIP2
library: SIP2 has no password change). A temporary-password session is then answered with that
link (``change_url`` in the ``password-change-required`` problem, ``password_change_url`` in the
login answer), and ``POST …/patron/password`` answers ``password-change-elsewhere`` with it,
instead of refusing for ever.

``[tenants.language] default = "ja"`` is the language of problem ``detail``/``title`` and of
labels when a request's ``Accept-Language`` names neither Japanese nor English.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

__all__ = ["LanguageConfig", "PasswordChangeConfig"]


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


class LanguageConfig(_Config):
    """The language answers use when the request does not choose one (``Accept-Language``)."""

    default: Literal["ja", "en"] = "ja"
