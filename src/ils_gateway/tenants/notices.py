"""Notices to patrons (issue 18), as a tenant file writes them (``[tenants.notices]``).

Which events the library sends, the due-date reminder's lead time (the patron's choice within
the library's limits; Akiruno: 3 days before), when a loan counts as overdue for the notice,
the child entry mail (こどもメールサービス, Akiruno), how hard the polling jobs may press the
library system (patrons per run, calls at once), and the keys of the staff tools that read the
phone call list (``Authorization: Bearer <key>`` on ``…/operator/calls``).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class NoticeConfig(BaseModel):
    """``[tenants.notices]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hold_ready: bool = Field(True, description="notice a hold ready for pickup")
    ebook_hold_ready: bool = Field(True, description="notice an e-book hold ready to borrow")
    due_reminder: bool = Field(True, description="offer the opt-in due-date reminder")
    due_reminder_days: int = Field(3, ge=0, le=30, description="default days before due")
    due_reminder_days_min: int = Field(1, ge=0, le=30)
    due_reminder_days_max: int = Field(7, ge=0, le=30)
    overdue: bool = Field(True, description="notice a loan past its due date")
    overdue_after_days: int = Field(
        1, ge=1, le=60, description="days past the due date before the overdue notice"
    )
    pickup_days: int | None = Field(
        None,
        ge=1,
        le=60,
        description="days a ready hold is kept, for a hold whose deadline the library system"
        " does not give (counted on the calendar; Saitama 10 opening days)",
    )
    pickup_counted: Literal["days", "opening_days"] = Field(
        "days", description="pickup_days in calendar days or opening days (休館日を除く)"
    )
    child_entry_mail: bool = Field(
        False, description="offer the child entry mail to the guardian (kiosk logins)"
    )
    max_patrons_per_run: int = Field(
        200, ge=1, le=100_000, description="patrons one polling run asks the library about"
    )
    concurrency: int = Field(4, ge=1, le=64, description="library calls at once when polling")
    operator_keys: tuple[SecretStr, ...] = Field(
        (), description="keys of staff tools reading the phone call list"
    )

    @model_validator(mode="after")
    def _default_within_limits(self) -> Self:
        low, high = self.due_reminder_days_min, self.due_reminder_days_max
        if low > high:
            raise ValueError("due_reminder_days_min is above due_reminder_days_max")
        if not low <= self.due_reminder_days <= high:
            raise ValueError(f"due_reminder_days must be within {low} to {high}")
        return self
