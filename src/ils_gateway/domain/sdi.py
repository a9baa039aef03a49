"""New-arrival alerts (新着図書お知らせ, SDI): saved conditions, arrivals and how they match.

A patron saves conditions (author, title words, subject, material type; several, up to the
tenant's limit). A run fetches the titles the library received since the previous run and
mails each patron the ones matching any of their conditions. Matching is insensitive to case,
to full-width/half-width forms and to katakana/hiragana: both sides are folded with NFKC, a
kana fold (katakana → hiragana) and ``casefold``, and spaces are ignored, so a condition typed
as ``なつめ`` finds ``ナツメ ソウセキ`` and ``ＰＹＴＨＯＮ`` finds ``Python``.

No I/O here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from ils_gateway.domain.vocab import MaterialType

__all__ = [
    "AUTHOR_MAX_CHARS",
    "NAME_MAX_CHARS",
    "SUBJECT_MAX_CHARS",
    "TITLE_WORDS_MAX_CHARS",
    "ArrivalWindow",
    "NewArrival",
    "SdiCondition",
    "SdiSchedule",
    "condition_matches",
    "fold",
    "matches_for",
    "run_is_due",
]

NAME_MAX_CHARS = 50
AUTHOR_MAX_CHARS = 100
TITLE_WORDS_MAX_CHARS = 200
SUBJECT_MAX_CHARS = 100

# Katakana ァ (U+30A1) … ヶ (U+30F6) sit 0x60 above their hiragana; ヽヾ (U+30FD-E) likewise.
_KANA_FOLD = {code: code - 0x60 for code in (*range(0x30A1, 0x30F7), 0x30FD, 0x30FE)}
_SPACES = re.compile(r"\s+")
# Punctuation that readings and titles spell differently (中黒, hyphens, dots, commas).
_IGNORED = re.compile(r"[\s・･·.,，、。\-‐－–—/]+")


def fold(text: str) -> str:
    """``text`` as matching compares it: NFKC, katakana → hiragana, casefolded, without spaces
    and the punctuation readings spell differently (``ナツメ・ソウセキ`` == ``なつめそうせき``)."""
    folded = unicodedata.normalize("NFKC", text).translate(_KANA_FOLD).casefold()
    return _IGNORED.sub("", folded)


def _words(text: str) -> tuple[str, ...]:
    """The folded words of a condition (split on any space, full-width included)."""
    spaced = unicodedata.normalize("NFKC", text)
    return tuple(w for w in (fold(part) for part in _SPACES.split(spaced)) if w)


@dataclass(frozen=True, slots=True)
class NewArrival:
    """A title the library received, as a feed reports it.

    ``readings`` are the kana readings (ヨミ) of the title and authors where the feed has them;
    ``acquired`` is the instant the record appeared (a date-only feed gives local midnight).
    """

    record_id: str
    title: str
    acquired: datetime
    authors: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    material_type: MaterialType | None = None
    readings: tuple[str, ...] = ()
    link: str | None = None


@dataclass(frozen=True, slots=True)
class SdiCondition:
    """One saved condition; every field given must match (an empty field matches anything)."""

    condition_id: str
    name: str
    created_at: datetime
    author: str | None = None
    title_words: str | None = None
    subject: str | None = None
    material_type: MaterialType | None = None

    @property
    def is_empty(self) -> bool:
        """True when no field is set (such a condition would match every arrival)."""
        return not any((self.author, self.title_words, self.subject, self.material_type))


def condition_matches(condition: SdiCondition, arrival: NewArrival) -> bool:
    """Whether ``arrival`` meets every field ``condition`` sets (never an empty condition)."""
    if condition.is_empty:
        return False
    if condition.material_type is not None and arrival.material_type != condition.material_type:
        return False
    if condition.author:
        wanted = fold(condition.author)
        names = [fold(a) for a in arrival.authors] + [fold(r) for r in arrival.readings]
        if not wanted or not any(wanted in name for name in names):
            return False
    if condition.title_words:
        words = _words(condition.title_words)
        haystacks = [fold(arrival.title)] + [fold(r) for r in arrival.readings]
        if not words or not all(any(w in h for h in haystacks) for w in words):
            return False
    if condition.subject:
        wanted = fold(condition.subject)
        if not wanted or not any(wanted in fold(s) for s in arrival.subjects):
            return False
    return True


def matches_for(
    conditions: Iterable[SdiCondition], arrivals: Sequence[NewArrival]
) -> list[NewArrival]:
    """The arrivals meeting at least one condition, each once, in the arrivals' order."""
    conditions = [c for c in conditions if not c.is_empty]
    return [a for a in arrivals if any(condition_matches(c, a) for c in conditions)]


@dataclass(frozen=True, slots=True)
class ArrivalWindow:
    """What one run covers: records that appeared in ``[since, until)``.

    A feed that dates records by day only (Koha's ``acquisition_date``) asks for the local days
    ``[first_day, end_day)``: the run's own day is left to the next run, so a record catalogued
    on the afternoon of a run day is neither missed nor sent twice.
    """

    since: datetime
    until: datetime
    timezone: tzinfo = field(repr=False)

    @property
    def first_day(self) -> date:
        """The first local day a date-only feed asks for."""
        return self.since.astimezone(self.timezone).date()

    @property
    def end_day(self) -> date:
        """The local day after the last one a date-only feed asks for."""
        return self.until.astimezone(self.timezone).date()

    def contains(self, moment: datetime) -> bool:
        """Whether an instant falls in the window."""
        return self.since <= moment < self.until

    def contains_day(self, day: date) -> bool:
        """Whether a local day falls in the date-only window."""
        return self.first_day <= day < self.end_day

    def midnight(self, day: date) -> datetime:
        """Local midnight of ``day``: the instant a date-only record is given."""
        return datetime.combine(day, time(0), self.timezone)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE = re.compile(r"^\s*(?P<days>[a-z,]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class SdiSchedule:
    """When a tenant's run is due: weekdays (0 = Monday) at a local time of day.

    Written ``"sat 15:30"`` (Akiruno: 毎週土曜日午後3時30分), ``"mon,thu 06:00"`` or
    ``"daily 06:00"``; ``parse`` raises ``ValueError`` saying what is wrong.
    """

    weekdays: frozenset[int]
    at: time

    @classmethod
    def parse(cls, text: str) -> SdiSchedule:
        """The schedule written in ``text``."""
        match = _SCHEDULE.match(text.lower())
        if match is None:
            raise ValueError(f"schedule {text!r} is not '<weekday[,weekday…]|daily> HH:MM'")
        names = [n for n in match["days"].split(",") if n]
        if names == ["daily"]:
            days = frozenset(range(7))
        else:
            unknown = [n for n in names if n not in _WEEKDAYS]
            if unknown or not names:
                raise ValueError(
                    f"schedule {text!r}: unknown weekday {', '.join(unknown) or '(none)'} "
                    f"(use {', '.join(_WEEKDAYS)} or daily)"
                )
            days = frozenset(_WEEKDAYS.index(n) for n in names)
        try:
            at = time(int(match["h"]), int(match["m"]))
        except ValueError:
            raise ValueError(f"schedule {text!r} names a time that does not exist") from None
        return cls(days, at)

    def latest(self, now: datetime, timezone: tzinfo) -> datetime:
        """The latest scheduled instant at or before ``now`` (aware, in ``timezone``)."""
        local = now.astimezone(timezone)
        for back in range(8):
            day = local.date().toordinal() - back
            candidate = datetime.combine(date.fromordinal(day), self.at, timezone)
            if candidate.weekday() in self.weekdays and candidate <= local:
                return candidate
        raise AssertionError("a schedule has at least one weekday")  # pragma: no cover

    def describe(self) -> str:
        """The schedule as written back (``sat 15:30``)."""
        days = (
            "daily"
            if len(self.weekdays) == 7
            else ",".join(_WEEKDAYS[d] for d in sorted(self.weekdays))
        )
        return f"{days} {self.at:%H:%M}"


def run_is_due(
    schedule: SdiSchedule, mark: datetime | None, now: datetime, timezone: tzinfo
) -> bool:
    """Whether a run is due: a scheduled instant has passed since the last run ended
    (``mark``); before the first run, once the first scheduled instant has come."""
    latest = schedule.latest(now, timezone)
    return mark is None or latest > mark
