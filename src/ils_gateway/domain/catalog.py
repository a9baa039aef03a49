"""The catalogue: a search, the records it finds, and a record's copies (issue 19).

A search is a ``CatalogQuery`` (keyword, title, author, ISBN, material type; page and sort);
the answer a ``SearchPage`` of ``CatalogRecord`` with an availability summary. A record's view
adds its ``Copy`` list (branch, shelf location, call number, status, due date, hold queue).
No personal data appears in any of them: search answers may be cached and shared.

Text is prepared the way Japanese catalogues compare it: ``normalise`` applies NFKC (full-width
Latin and digits, half-width kana become ordinary forms) and folds case, so 'ﾑﾗｶﾐ' is
'ムラカミ'; ``variants`` adds the form with hiragana as katakana, so 'むらかみ' also matches a
reading (ヨミ) recorded in katakana while 走れメロス still matches its title as written.
Pure functions and values only: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.domain.vocab import CopyStatus, MaterialType

# Hiragana ぁ (U+3041) to ゖ (U+3096) and their katakana, U+60 further on; ゝゞ → ヽヾ.
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)} | {
    0x309D: 0x30FD,
    0x309E: 0x30FE,
}
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` as a search sends it: NFKC (half-width kana and full-width Latin become the
    ordinary forms), case-folded, runs of white space (the ideographic space included) as
    one space, trimmed. Kana are kept as typed: 走れメロス must still find 走れメロス."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", folded).strip()


def fold_kana(text: str) -> str:
    """``text`` with hiragana written as katakana, the script readings (ヨミ) are recorded in."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def variants(text: str) -> tuple[str, ...]:
    """The forms a search term is sent in: as typed (normalised) and, when it differs, with
    hiragana as katakana, so a reading matches and a kanji-kana title still does."""
    folded = fold_kana(text)
    return (text,) if folded == text else (text, folded)


def isbn_digits(text: str) -> str:
    """An ISBN as digits only (hyphens and spaces dropped, a final x as X)."""
    return re.sub(r"[^0-9X]", "", normalise(text).upper())


_ISBN_QUERY = re.compile(r"[0-9]{1,13}|[0-9]{9}X")


def isbn_query(text: str) -> str | None:
    """An ISBN (or its start) as a search asks for it: digits, hyphens and spaces, an ISBN-10's
    final check digit X (either case; full-width forms too); its digits, or None when it is
    not one (another character is an error, never dropped)."""
    compact = re.sub(r"[- ]", "", normalise(text)).upper()
    return compact if _ISBN_QUERY.fullmatch(compact) else None


class SearchSort(StrEnum):
    """The orders a search can ask for."""

    RELEVANCE = "relevance"  # the source's own order
    TITLE = "title"
    AUTHOR = "author"
    YEAR_NEWEST = "year_desc"
    YEAR_OLDEST = "year_asc"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CatalogQuery(_Frozen):
    """One search, already checked and normalised (see ``normalise``)."""

    keyword: str | None = None
    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    material_type: MaterialType | None = None
    page: int = Field(1, ge=1)
    per_page: int = Field(20, ge=1)
    sort: SearchSort = SearchSort.RELEVANCE

    @property
    def offset(self) -> int:
        """Records before this page."""
        return (self.page - 1) * self.per_page

    def cache_key(self) -> str:
        """One string per distinct search (every field; the text fields normalised already)."""
        parts = [
            self.keyword or "",
            self.title or "",
            self.author or "",
            self.isbn or "",
            self.material_type.value if self.material_type else "",
            str(self.page),
            str(self.per_page),
            self.sort.value,
        ]
        return "\x1f".join(parts)


class Availability(_Frozen):
    """How many copies a record has and how many are on the shelf to borrow now."""

    total: int = Field(ge=0)
    available: int = Field(ge=0)


class CatalogRecord(_Frozen):
    """A title as a search lists it."""

    id: str = Field(description="the record id in the library system (biblio, instance, 001)")
    title: str
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    year: int | None = None
    isbn: str | None = None
    material_type: MaterialType = MaterialType.BOOK
    title_reading: str | None = Field(None, description="読み (katakana), when recorded")
    availability: Availability | None = Field(
        None, description="copies total / on the shelf; None when the source does not say"
    )


class Copy(_Frozen):
    """One copy of a record, as the library system reports it (no patron data)."""

    barcode: str
    item_id: str | None = Field(
        None, description="the library system's own id of the copy, where not the barcode"
    )
    branch: str | None = Field(None, description="the library (code) where the copy is kept")
    shelf_location: str | None = None
    call_number: str | None = None
    status: CopyStatus
    due_date: date | None = Field(None, description="when on loan")
    hold_queue_length: int | None = Field(None, ge=0, description="None: not reported")
    reference_only: bool = False


class RecordWithCopies(_Frozen):
    """A record and every copy the library system lists for it."""

    record: CatalogRecord
    copies: tuple[Copy, ...] = ()


class SearchPage(_Frozen):
    """One page of a search's answer."""

    total: int = Field(ge=0)
    records: tuple[CatalogRecord, ...] = ()


def availability_of(copies: tuple[Copy, ...] | list[Copy]) -> Availability:
    """The summary of ``copies``: all of them, and those on the shelf to borrow."""
    return Availability(
        total=len(copies),
        available=sum(1 for c in copies if c.status is CopyStatus.AVAILABLE),
    )
