"""New-arrival alerts (新着図書お知らせ, SDI): the patron's saved conditions."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.sdi import (
    AUTHOR_MAX_CHARS,
    NAME_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    TITLE_WORDS_MAX_CHARS,
    SdiCondition,
)
from ils_gateway.domain.vocab import MaterialType


class SdiConditionCreateRequest(Body):
    """A new condition: a name and at least one of author, title_words, subject,
    material_type (all given must match; matching ignores case, full/half width and
    katakana/hiragana)."""

    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS)
    author: str | None = Field(None, max_length=AUTHOR_MAX_CHARS)
    title_words: str | None = Field(
        None, max_length=TITLE_WORDS_MAX_CHARS, description="words that must all be in the title"
    )
    subject: str | None = Field(None, max_length=SUBJECT_MAX_CHARS)
    material_type: MaterialType | None = None


class SdiConditionUpdateRequest(Body):
    """Fields to change: omit to keep, null to clear (one of the four must stay set)."""

    name: str | None = Field(None, min_length=1, max_length=NAME_MAX_CHARS)
    author: str | None = Field(None, max_length=AUTHOR_MAX_CHARS)
    title_words: str | None = Field(None, max_length=TITLE_WORDS_MAX_CHARS)
    subject: str | None = Field(None, max_length=SUBJECT_MAX_CHARS)
    material_type: MaterialType | None = None


class SdiConditionView(Body):
    """A saved new-arrival condition."""

    condition_id: str
    name: str
    author: str | None
    title_words: str | None
    subject: str | None
    material_type: MaterialType | None
    created_at: datetime

    @classmethod
    def of(cls, condition: SdiCondition) -> SdiConditionView:
        """The API view of a saved condition."""
        return cls.copied_from(condition)


class SdiConditionList(Body):
    """The patron's conditions in the order they were saved, the library's limit and when the
    mail goes out (tenant-local schedule, e.g. ``sat 15:30``)."""

    conditions: list[SdiConditionView]
    max_conditions: int | None
    schedule: str
