"""The part of CQL (Contextual Query Language) FOLIO's collection queries use, over JSON records.

FOLIO's storage modules translate CQL to SQL (RMB's CQL2PgJSON); the simulator evaluates the
same queries on the records' JSON instead. Supported: ``index==value`` (exact; an unescaped
``*`` at the end is a prefix), ``index=value`` (every word of the value is in the field),
``index<>value``, the ordering relations ``<``, ``<=``, ``>``, ``>=`` (compared as text,
which orders FOLIO's ISO 8601 timestamps such as ``metadata.createdDate``), ``and``, ``or``,
``not``, parentheses, ``cql.allRecords=1`` and a trailing ``sortby index[/sort.descending]``.
Values are quoted (``"..."`` with ``\\`` escapes) or bare.
Indexes are dotted paths into the record (``status.name``). Anything else is a
``CqlError``, which FOLIO answers with an error status, never with a silent match-all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ils_gateway.simulators.cql_parser import CqlParser

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<rel>==|<>|<=|>=|<|>|=)|"(?P<q>(?:[^"\\]|\\.)*)"|(?P<w>[^\s()="<>]+))'
)


class CqlError(ValueError):
    """A query outside the supported CQL."""


def _tokens(text: str) -> list[tuple[str, str]]:
    return CqlParser.tokenize(text, _TOKEN, lambda rest: CqlError(f"cannot parse CQL at {rest!r}"))


def _field(record: Record, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _values(record: Record, path: str) -> list[Any]:
    """Every value at ``path``, through arrays (``contributors.name`` of each contributor), as
    CQL2PgJSON searches array fields of a record's JSON."""
    values: list[Any] = [record]
    for part in path.split("."):
        found: list[Any] = []
        for value in values:
            got = value.get(part) if isinstance(value, dict) else None
            if isinstance(got, list):
                found.extend(got)
            elif got is not None:
                found.append(got)
        values = found
    return values


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _exact(term: str) -> Callable[[str], bool]:
    prefix = term.endswith("*") and not term.endswith("\\*")
    body = term[:-1] if prefix else term
    literal = re.sub(r"\\(.)", r"\1", body)
    if prefix:
        return lambda v: v.startswith(literal)
    return lambda v: v == literal


def _word_pattern(word: str) -> re.Pattern[str]:
    """One word of a term; an unescaped ``*`` masks any characters (CQL masking, which
    CQL2PgJSON supports in full-text ``=`` terms), ``\\x`` is the character x."""
    parts = re.findall(r"\\.|\*|[^\\*]+", word)
    body = "".join(
        ".*" if p == "*" else re.escape(p[1:] if p.startswith("\\") else p) for p in parts
    )
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _words(term: str) -> Callable[[str], bool]:
    patterns = [_word_pattern(w) for w in term.split()]
    return lambda v: all(any(p.fullmatch(x) for x in v.split()) for p in patterns)


_ORDERING: dict[str, Callable[[str, str], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class _Parser(CqlParser):
    end_of_query = "unexpected end of CQL"

    def error(self, detail: str) -> Exception:
        return CqlError(detail)

    def clause(self, kind: str, value: str) -> Predicate:
        if kind != "w":
            raise CqlError(f"expected an index, got {value!r}")
        index = value
        rel_kind, relation = self.take()
        if rel_kind != "rel":
            raise CqlError(f"expected a relation after {index!r}")
        term_kind, term = self.take()
        if term_kind not in ("q", "w"):
            raise CqlError(f"expected a value after {index}{relation}")
        if index == "cql.allRecords":
            return lambda r: True
        if relation in _ORDERING:
            literal = re.sub(r"\\(.)", r"\1", term)
            compare = _ORDERING[relation]

            def ordered(record: Record) -> bool:
                found = _text(_field(record, index))
                return found is not None and compare(found, literal)

            return ordered
        match = _exact(term) if relation in ("==", "<>") else _words(term)

        def test(record: Record) -> bool:
            texts = [_text(v) for v in _values(record, index)]
            hit = any(t is not None and match(t) for t in texts)
            return not hit if relation == "<>" else hit

        return test


def parse(query: str) -> tuple[Predicate, tuple[str, bool] | None]:
    """A predicate for ``query`` and its sort (index, descending), if any."""
    parts = re.split(r"(?i)\ssortby\s", query, maxsplit=1)
    parser = _Parser(_tokens(parts[0]))
    predicate = parser.query()
    left = parser.peek()
    if left is not None:
        raise CqlError(f"unexpected {left[1]!r}")
    order: tuple[str, bool] | None = None
    if len(parts) == 2:
        sort = parts[1].strip()
        index, _, modifier = sort.partition("/")
        if not index or modifier not in ("", "sort.ascending", "sort.descending"):
            raise CqlError(f"unsupported sortby {sort!r}")
        order = (index, modifier == "sort.descending")
    return predicate, order


def select(records: list[Record], query: str | None) -> list[Record]:
    """The records matching ``query`` (all when None), sorted as it says."""
    if query is None or not query.strip():
        return list(records)
    predicate, order = parse(query)
    found = [r for r in records if predicate(r)]
    if order is not None:
        index, descending = order
        found.sort(key=lambda r: _text(_field(r, index)) or "", reverse=descending)
    return found
