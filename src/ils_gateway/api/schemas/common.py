"""The base of every body, and the problem and health documents."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict


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
