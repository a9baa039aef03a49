"""The base of every body, and the problem and health documents."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, StringConstraints

# A value the library system receives as one field. SIP2 cannot carry `|` (the field
# separator, no escape), CR or LF (they end the frame) nor NUL, and writes at most 255
# characters a field (sip2/fields.py MAX_FIELD_CHARS); refused for every tenant, so the API
# document states one rule and nothing reaches a backend that cannot take it.
LIBRARY_VALUE_PATTERN = r"^[^|\r\n\x00]*$"
LIBRARY_VALUE_MAX = 255
LibraryValue = Annotated[
    str, StringConstraints(pattern=LIBRARY_VALUE_PATTERN, max_length=LIBRARY_VALUE_MAX)
]


class Body(BaseModel):
    """A request or response body: unknown members refused, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def copied_from(cls, record: object) -> Self:
        """The view of ``record``: each field of this body from its attribute of that name."""
        return cls.model_validate(record, from_attributes=True)


class Problem(BaseModel):
    """An RFC 9457 problem document (extension members vary by ``type``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class Health(Body):
    """Liveness or readiness, with each tenant's backend state for readiness."""

    status: str
    tenants: dict[str, str] = {}
