"""Where a tenant's catalogue is searched (``[tenants.catalog]``; issue 19).

Koha and FOLIO tenants are searched through their own APIs by default (Koha's ``GET
/biblios``, FOLIO's ``GET /inventory/instances``). SIP2 has no search message: a SIP2 tenant
names an SRU server (the library's OPAC or union catalogue) here, and without one the API
answers that search is unavailable for it. Any tenant may name SRU instead of its backend
(``source = "sru"``), e.g. because only its SRU index carries the readings (ヨミ).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ils_gateway.tenants.backends import Timeouts


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SruIndexes(_Config):
    """The CQL indexes this SRU server knows for each search field (its explain lists them)."""

    keyword: str = "cql.anywhere"
    title: str = "dc.title"
    author: str = "dc.creator"
    isbn: str = "bath.isbn"
    material_type: str | None = Field(
        "dc.type", description="index whose value is the material type; None: not searchable"
    )


class SruSource(_Config):
    """An SRU (Search/Retrieve via URL) server answering MARCXML records."""

    url: str = Field(pattern=r"^https?://", description="the searchRetrieve base URL")
    version: Literal["1.1", "1.2", "2.0"] = "1.2"
    record_schema: str = Field("marcxml", description="recordSchema asked for (MARCXML)")
    indexes: SruIndexes = SruIndexes()
    record_id_index: str = Field("rec.id", description="CQL index of a record's id (001)")
    timeouts: Timeouts = Timeouts()
    max_records: int = Field(50, ge=1, le=200, description="the server's maximumRecords cap")


class CatalogConfig(_Config):
    """The tenant's search source and how long search answers are kept."""

    source: Literal["backend", "sru", "none"] | None = Field(
        None,
        description="backend (Koha, FOLIO), sru, or none; default: sru when given, else the "
        "backend unless it is SIP2",
    )
    sru: SruSource | None = None
    cache_seconds: float = Field(
        60.0, ge=0, le=3600, description="how long a search answer is reused (0: never)"
    )
    cache_entries: int = Field(1024, ge=1, le=100_000)
    max_per_page: int = Field(50, ge=1, le=200)

    @model_validator(mode="after")
    def _sru_given_for_sru(self) -> Self:
        if self.source == "sru" and self.sru is None:
            raise ValueError("catalog source 'sru' needs [tenants.catalog.sru]")
        return self

    def resolved_source(self, backend_kind: str) -> Literal["backend", "sru", "none"]:
        """The source used for a tenant whose backend is ``backend_kind``."""
        if self.source is not None:
            return self.source
        if self.sru is not None:
            return "sru"
        return "none" if backend_kind == "sip2" else "backend"
