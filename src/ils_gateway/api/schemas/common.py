"""The base of every body, and the problem and health documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Self, get_args, get_origin

from pydantic import BaseModel, ConfigDict, StringConstraints

# A value the library system receives as one field. SIP2 cannot carry `|` (the field
# separator, no escape), CR or LF (they end the frame) nor NUL, and writes at most 255
# characters a field (sip2/fields.py MAX_FIELD_CHARS); refused for every tenant, so the API
# document states one rule and nothing reaches a backend that cannot take it.
LIBRARY_VALUE_PATTERN = r"^[^|\r\n\x00]*$"
LIBRARY_VALUE_MAX = 255


class _SentToLibrary:
    """Marks a ``LibraryValue`` (pydantic ignores it) so ``library_values`` can find them."""


SENT_TO_LIBRARY = _SentToLibrary()
# Each field gives its own max_length (at most LIBRARY_VALUE_MAX): a bound here would win
# over the field's in validation and in the schema.
LibraryValue = Annotated[str, StringConstraints(pattern=LIBRARY_VALUE_PATTERN), SENT_TO_LIBRARY]
LibraryId = Annotated[LibraryValue, StringConstraints(min_length=1, max_length=LIBRARY_VALUE_MAX)]
"""A member of a list of ids sent to the library system."""


def _marked(annotation: object) -> bool:
    if get_origin(annotation) is Annotated:
        return SENT_TO_LIBRARY in get_args(annotation)[1:]
    return any(_marked(arg) for arg in get_args(annotation))


def library_values(body: BaseModel) -> Iterator[tuple[str, str]]:
    """(field name, value) of each ``LibraryValue`` in ``body`` (list members named
    ``field[i]``)."""
    for name, info in type(body).model_fields.items():
        if SENT_TO_LIBRARY not in info.metadata and not _marked(info.annotation):
            continue
        value = getattr(body, name)
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            yield from ((f"{name}[{i}]", v) for i, v in enumerate(value) if isinstance(v, str))


class Body(BaseModel):
    """A request or response body: unknown members refused, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
