"""Where a loan was made and what the backend says about its renewals (issue 16).

- ``[tenants.policy.loans]`` (``LoanPolicy``): the tenant's bookmobiles with the codes of their
  stations, so a loan lent at a station (or by the vehicle) counts as a bookmobile loan for the
  renewal rules (``excluded_loan_branches``, ``branch_period_days``). There the keyword
  ``"bookmobile"`` means any of them; a bookmobile's own code means that one.
- ``[tenants.backend.loan_fields]`` (``Sip2LoanFields``, SIP2 only): which 18 field names the
  lending branch (AP, the item's current location, by default), and the vendor fields, if any,
  that carry the renewal count and limit. SIP2 2.00 has no renewal count: without such a field
  a loan's renewability is reported as unknown rather than guessed.

Pure data and helpers: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The keyword that stands for every bookmobile in excluded_loan_branches / branch_period_days.
ANY_BOOKMOBILE = "bookmobile"

_FIELD_ID = r"^[A-Z0-9]{2}$"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bookmobile(_Config):
    """A bookmobile (移動図書館): its code as a branch, and the codes of its stations."""

    code: str = Field(min_length=1, description="the vehicle's branch code in the ILS")
    name: str = ""
    stations: tuple[str, ...] = Field(
        (), description="codes of its stops, as the ILS names a loan made there"
    )


class LoanPolicy(_Config):
    """Branch facts the loan rules need (``[tenants.policy.loans]``)."""

    bookmobiles: tuple[Bookmobile, ...] = ()

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        seen: set[str] = set()
        for mobile in self.bookmobiles:
            for code in (mobile.code, *mobile.stations):
                if code in seen or code == ANY_BOOKMOBILE:
                    raise ValueError(f"bookmobile code {code!r} is used twice or reserved")
                seen.add(code)
        return self

    def bookmobile_of(self, branch: str | None, extra: Iterable[Bookmobile] = ()) -> str | None:
        """The code of the bookmobile ``branch`` belongs to (the vehicle or a station), or None."""
        if branch is None:
            return None
        for mobile in (*self.bookmobiles, *extra):
            if branch == mobile.code or branch in mobile.stations:
                return mobile.code
        return None


def branch_keys(loan_branch: str | None, bookmobile: str | None) -> tuple[str, ...]:
    """The names a renewal rule may use for a loan's branch, most specific first."""
    keys: list[str] = []
    if loan_branch is not None:
        keys.append(loan_branch)
    if bookmobile is not None:
        keys += [k for k in (bookmobile, ANY_BOOKMOBILE) if k not in keys]
    return tuple(keys)


class Sip2LoanFields(_Config):
    """Which fields of an 18 (item information) describe a loan (``[tenants.backend.loan_fields]``).

    SIP2 2.00 (see docs/sip2.md): AQ permanent location, AP current location, BG owner; no
    lending branch and no renewal count as such. A charged item's current location is where it
    was lent on most ACSs (Koha sets it to the issuing branch); some send a vendor field instead.
    """

    branch: str | None = Field(
        "AP",
        pattern=_FIELD_ID,
        description="field with the lending branch code: AP (default), AQ, BG or a vendor"
        " field; None: this ACS does not say",
    )
    renewals_used: str | None = Field(
        None,
        pattern=_FIELD_ID,
        description="vendor field with the renewals made so far (digits); None: not sent, and"
        " the gateway says it does not know whether a loan can be renewed",
    )
    renewals_allowed: str | None = Field(
        None,
        pattern=_FIELD_ID,
        description="vendor field with the renewals allowed in all (digits); None: the tenant's"
        " max_renewals stands",
    )
