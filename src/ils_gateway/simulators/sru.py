"""An SRU 1.2 server over ``SimulatedLibrary``'s catalogue: the search a SIP2 library's OPAC or
union catalogue offers beside its ACS (issue 19).

It follows the Library of Congress's SRU 1.2 specification (www.loc.gov/standards/sru):
``GET ?operation=searchRetrieve&version=1.2&query=<CQL>&startRecord=&maximumRecords=
&recordSchema=marcxml&recordPacking=xml`` answers a ``searchRetrieveResponse`` in the
``http://www.loc.gov/zing/srw/`` namespace with ``numberOfRecords``, the records as MARCXML
(``http://www.loc.gov/MARC21/slim``), ``nextRecordPosition`` and the
``echoedSearchRetrieveRequest``; ``operation=explain`` (or none) answers an ``explainResponse``
listing the indexes. Errors are SRU diagnostics (``info:srw/diagnostic/1/N``: 4 unsupported
operation, 5 unsupported version, 7 mandatory parameter missing, 10 query syntax error, 16
unsupported index, 19 unsupported relation, 61 first record out of range, 66 unknown schema),
with HTTP 200 as the specification has it.

CQL subset: ``index relation "term"`` with ``=`` (and ``all``/``any``/``adj``, treated as
``=``) and ``==`` (exact), ``and``/``or``/``not``, parentheses, ``cql.allRecords=1`` and a
trailing ``sortBy index[/sort.descending]``. Indexes, with or without their context set:
``dc.title``/``title`` (title and its reading), ``dc.creator``/``author`` (author and
reading), ``cql.anywhere``/``cql.serverChoice``/``any`` (every field), ``bath.isbn``/``isbn``,
``dc.type`` (material type) and ``rec.id`` (the record id, 001). Matching is what Japanese
OPACs do: a term matches where it occurs in the field after NFKC, case folding, hiragana as
katakana and spaces dropped, so 'むらかみ' finds 村上誠一 through its reading ムラカミ セイイチ.

Records carry 001, 020, 100, 245, 264, 655 (絵本, 紙芝居), 880 (readings linked by $6 to
245/100) and one 852 per copy ($b branch, $c shelf, $h call number, $p barcode, $z 禁帯出).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from aiohttp import web
from lxml import etree

from ils_gateway.simulators.cql_parser import CqlParser
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import Biblio, Item

SRU_LIBRARY = web.AppKey("sru_library", SimulatedLibrary)
SRW = "http://www.loc.gov/zing/srw/"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
MARC = "http://www.loc.gov/MARC21/slim"
EXPLAIN = "http://explain.z3950.org/dtd/2.0/"
SCHEMAS = {"marcxml": "info:srw/schema/1/marcxml-v1.1", "info:srw/schema/1/marcxml-v1.1": ""}
DEFAULT_MAXIMUM = 10
MAXIMUM = 200

# The canonical material type names dc.type answers to, per item type.
DC_TYPE: dict[ItemType, str] = {
    ItemType.BOOK: "book",
    ItemType.PICTURE_BOOK: "picture_book",
    ItemType.MAGAZINE: "magazine",
    ItemType.KAMISHIBAI: "kamishibai",
    ItemType.CD: "cd",
    ItemType.DVD: "dvd",
    ItemType.CASSETTE: "cassette",
    ItemType.ART: "art_reproduction",
}
# Leader/06 (type of record) and /07 (bibliographic level) per item type.
_LEADER: dict[ItemType, str] = {
    ItemType.BOOK: "am",
    ItemType.PICTURE_BOOK: "am",
    ItemType.KAMISHIBAI: "km",
    ItemType.MAGAZINE: "as",
    ItemType.CD: "jm",
    ItemType.DVD: "gm",
    ItemType.CASSETTE: "im",
    ItemType.ART: "km",
}
_GENRE = {ItemType.PICTURE_BOOK: "絵本", ItemType.KAMISHIBAI: "紙芝居"}
_SHELF = {
    ItemType.PICTURE_BOOK: "児童 絵本コーナー",
    ItemType.KAMISHIBAI: "児童 紙芝居",
    ItemType.MAGAZINE: "雑誌コーナー",
    ItemType.CD: "視聴覚",
    ItemType.DVD: "視聴覚",
    ItemType.CASSETTE: "視聴覚",
    ItemType.ART: "複製絵画",
}
_HIRAGANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def fold(text: str) -> str:
    """How the server compares text: NFKC, case folded, hiragana as katakana, no spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_HIRAGANA)
    return re.sub(r"\s+", "", folded)


class Diagnostic(Exception):
    """An SRU diagnostic: ``info:srw/diagnostic/1/<number>``."""

    def __init__(self, number: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.number = number
        self.message = message
        self.details = details


# -- CQL --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<rel>==|<>|=)|"(?P<q>(?:[^"\\]|\\.)*)"|(?P<w>[^\s()="<>]+))'
)
Record = dict[str, Any]
Predicate = Callable[[Record], bool]
_INDEXES: dict[str, tuple[str, ...]] = {
    "title": ("title", "title_reading"),
    "creator": ("author", "author_reading"),
    "author": ("author", "author_reading"),
    "anywhere": ("title", "title_reading", "author", "author_reading", "publisher", "isbn"),
    "serverchoice": ("title", "title_reading", "author", "author_reading", "publisher", "isbn"),
    "any": ("title", "title_reading", "author", "author_reading", "publisher", "isbn"),
    "isbn": ("isbn",),
    "identifier": ("isbn",),
    "type": ("type",),
    "id": ("id",),
}
_WORD_RELATIONS = {"=", "all", "any", "adj"}


def _tokens(text: str) -> list[tuple[str, str]]:
    return CqlParser.tokenize(text, _TOKEN, lambda rest: Diagnostic(10, "Query syntax error", rest))


def _term_matches(term: str, exact: bool) -> Callable[[str], bool]:
    literal = re.sub(r"\\(.)", r"\1", term)
    wanted = fold(literal)
    if exact:
        return lambda value: fold(value) == wanted
    return lambda value: wanted in fold(value)


class _Parser(CqlParser):
    def error(self, detail: str) -> Exception:
        return Diagnostic(10, "Query syntax error", detail)

    def clause(self, kind: str, value: str) -> Predicate:
        if kind not in ("w", "q"):
            raise Diagnostic(10, "Query syntax error", value)
        nxt = self.peek()
        if (
            kind == "q"
            or nxt is None
            or nxt[0] not in ("rel", "w")
            or nxt[1].lower()
            in (
                "and",
                "or",
                "not",
            )
        ):
            # a bare term searches cql.serverChoice
            match = _term_matches(value, exact=False)
            fields = _INDEXES["serverchoice"]
            return lambda r: any(match(str(r.get(f) or "")) for f in fields)
        index = value
        _rel_kind, relation = self.take()
        if relation.lower() not in _WORD_RELATIONS | {"=="}:
            raise Diagnostic(19, "Unsupported relation", relation)
        term_kind, term = self.take()
        if term_kind not in ("q", "w"):
            raise Diagnostic(10, "Query syntax error", f"no term after {index}")
        name = index.lower().rpartition(".")[2]
        if index.lower() == "cql.allrecords":
            return lambda r: True
        indexed = _INDEXES.get(name)
        if indexed is None:
            raise Diagnostic(16, "Unsupported index", index)
        exact = _term_matches(term, exact=relation == "==" or name in ("id", "type"))
        return lambda r: any(exact(str(r.get(f) or "")) for f in indexed)


_SORT_FIELDS = {"title": "title_reading", "creator": "author_reading", "author": "author_reading"}


def select(rows: list[Record], query: str) -> list[Record]:
    """The rows ``query`` matches, in the order its ``sortBy`` asks (else by record id)."""
    parts = re.split(r"(?i)\ssortby\s", query, maxsplit=1)
    parser = _Parser(_tokens(parts[0]))
    predicate = parser.query()
    left = parser.peek()
    if left is not None:
        raise Diagnostic(10, "Query syntax error", left[1])
    found = [r for r in rows if predicate(r)]
    if len(parts) == 2:
        index, _, modifier = parts[1].strip().partition("/")
        name = index.lower().rpartition(".")[2]
        field = _SORT_FIELDS.get(name, "year" if name == "date" else None)
        if field is None:
            raise Diagnostic(16, "Unsupported index", index)
        found.sort(
            key=lambda r: str(r.get(field) or "").zfill(4 if field == "year" else 0),
            reverse=modifier == "sort.descending",
        )
    return found


# -- records ----------------------------------------------------------------------------------


def _row(biblio: Biblio) -> Record:
    return {
        "id": str(biblio.id),
        "title": biblio.title,
        "title_reading": biblio.title_reading,
        "author": biblio.author,
        "author_reading": biblio.author_reading,
        "publisher": biblio.publisher,
        "isbn": biblio.isbn or "",
        "type": DC_TYPE[biblio.item_type],
        "year": biblio.year or "",
        "biblio": biblio,
    }


def _field(parent: etree._Element, tag: str, *subfields: tuple[str, str]) -> None:
    field = etree.SubElement(parent, f"{{{MARC}}}datafield", tag=tag, ind1=" ", ind2=" ")
    for code, value in subfields:
        etree.SubElement(field, f"{{{MARC}}}subfield", code=code).text = value


def marc_record(biblio: Biblio, copies: list[Item]) -> etree._Element:
    """One record as MARCXML (see the module docstring for the fields)."""
    record = etree.Element(f"{{{MARC}}}record", nsmap={None: MARC})  # type: ignore[dict-item]  # lxml-stubs: lxml takes None as the default namespace
    leader = _LEADER[biblio.item_type]
    etree.SubElement(record, f"{{{MARC}}}leader").text = f"00000n{leader}a22000003i 4500"
    etree.SubElement(record, f"{{{MARC}}}controlfield", tag="001").text = str(biblio.id)
    if biblio.isbn:
        _field(record, "020", ("a", biblio.isbn))
    if biblio.author:
        _field(record, "100", ("6", "880-02"), ("a", biblio.author))
    _field(record, "245", ("6", "880-01"), ("a", biblio.title))
    imprint = [("b", biblio.publisher)] if biblio.publisher else []
    if biblio.year:
        imprint.append(("c", str(biblio.year)))
    if imprint:
        _field(record, "264", *imprint)
    if biblio.item_type in _GENRE:
        _field(record, "655", ("a", _GENRE[biblio.item_type]))
    if biblio.title_reading:
        _field(record, "880", ("6", "245-01"), ("a", biblio.title_reading))
    if biblio.author_reading:
        _field(record, "880", ("6", "100-02"), ("a", biblio.author_reading))
    for copy in copies:
        holding = [
            ("b", copy.home_branch),
            ("c", _SHELF.get(biblio.item_type, "一般書架")),
            ("h", copy.call_number),
            ("p", copy.barcode),
        ]
        if copy.not_for_loan:
            holding.append(("z", "禁帯出"))
        _field(record, "852", *holding)
    return record


# -- the endpoint ---------------------------------------------------------------------------


def _response(root: etree._Element) -> web.Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


def _diagnostic_response(version: str, diagnostic: Diagnostic) -> web.Response:
    root = etree.Element(f"{{{SRW}}}searchRetrieveResponse", nsmap={"zs": SRW})
    etree.SubElement(root, f"{{{SRW}}}version").text = version
    etree.SubElement(root, f"{{{SRW}}}numberOfRecords").text = "0"
    diagnostics = etree.SubElement(root, f"{{{SRW}}}diagnostics")
    diag = etree.SubElement(diagnostics, f"{{{DIAG}}}diagnostic", nsmap={"diag": DIAG})
    etree.SubElement(diag, f"{{{DIAG}}}uri").text = f"info:srw/diagnostic/1/{diagnostic.number}"
    if diagnostic.details:
        etree.SubElement(diag, f"{{{DIAG}}}details").text = diagnostic.details
    etree.SubElement(diag, f"{{{DIAG}}}message").text = diagnostic.message
    return _response(root)


def _explain(version: str) -> web.Response:
    root = etree.Element(f"{{{SRW}}}explainResponse", nsmap={"zs": SRW})
    etree.SubElement(root, f"{{{SRW}}}version").text = version
    record = etree.SubElement(root, f"{{{SRW}}}record")
    etree.SubElement(record, f"{{{SRW}}}recordSchema").text = "http://explain.z3950.org/dtd/2.0/"
    etree.SubElement(record, f"{{{SRW}}}recordPacking").text = "xml"
    data = etree.SubElement(record, f"{{{SRW}}}recordData")
    explain = etree.SubElement(data, f"{{{EXPLAIN}}}explain", nsmap={None: EXPLAIN})  # type: ignore[dict-item]  # lxml-stubs: lxml takes None as the default namespace
    info = etree.SubElement(explain, f"{{{EXPLAIN}}}indexInfo")
    for context, name in (
        ("dc", "title"),
        ("dc", "creator"),
        ("dc", "type"),
        ("cql", "anywhere"),
        ("cql", "serverChoice"),
        ("bath", "isbn"),
        ("rec", "id"),
    ):
        index = etree.SubElement(info, f"{{{EXPLAIN}}}index")
        etree.SubElement(index, f"{{{EXPLAIN}}}title").text = f"{context}.{name}"
        mapped = etree.SubElement(index, f"{{{EXPLAIN}}}map")
        etree.SubElement(mapped, f"{{{EXPLAIN}}}name", set=context).text = name
    schemas = etree.SubElement(explain, f"{{{EXPLAIN}}}schemaInfo")
    schema = etree.SubElement(
        schemas, f"{{{EXPLAIN}}}schema", identifier=SCHEMAS["marcxml"], name="marcxml"
    )
    etree.SubElement(schema, f"{{{EXPLAIN}}}title").text = "MARCXML"
    return _response(root)


def _whole(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise Diagnostic(6, "Unsupported parameter value", name)
    return int(raw)


async def sru(request: web.Request) -> web.Response:
    """The SRU endpoint: explain, or searchRetrieve over the library's catalogue."""
    query = request.query
    version = query.get("version", "1.2")
    operation = query.get("operation", "explain")
    try:
        if version not in ("1.1", "1.2"):
            raise Diagnostic(5, "Unsupported version", "1.2")
        if operation == "explain":
            return _explain(version)
        if operation != "searchRetrieve":
            raise Diagnostic(4, "Unsupported operation", operation)
        cql = query.get("query")
        if not cql:
            raise Diagnostic(7, "Mandatory parameter not supplied", "query")
        schema = query.get("recordSchema", "marcxml")
        if schema not in SCHEMAS:
            raise Diagnostic(66, "Unknown schema for retrieval", schema)
        start = _whole(request, "startRecord", 1)
        maximum = min(_whole(request, "maximumRecords", DEFAULT_MAXIMUM), MAXIMUM)
        library = request.app[SRU_LIBRARY]
        found = select([_row(b) for b in library.biblios()], cql)
        if start < 1 or (found and start > len(found)):
            raise Diagnostic(61, "First record position out of range", str(start))
    except Diagnostic as diagnostic:
        return _diagnostic_response(version, diagnostic)
    copies: dict[int, list[Item]] = {}
    for item in library.data.items:
        copies.setdefault(item.biblio_id, []).append(item)
    root = etree.Element(f"{{{SRW}}}searchRetrieveResponse", nsmap={"zs": SRW})
    etree.SubElement(root, f"{{{SRW}}}version").text = version
    etree.SubElement(root, f"{{{SRW}}}numberOfRecords").text = str(len(found))
    page = found[start - 1 : start - 1 + maximum]
    if page:
        records = etree.SubElement(root, f"{{{SRW}}}records")
        for position, row in enumerate(page, start):
            record = etree.SubElement(records, f"{{{SRW}}}record")
            etree.SubElement(record, f"{{{SRW}}}recordSchema").text = SCHEMAS["marcxml"]
            etree.SubElement(record, f"{{{SRW}}}recordPacking").text = "xml"
            data = etree.SubElement(record, f"{{{SRW}}}recordData")
            biblio: Biblio = row["biblio"]
            data.append(marc_record(biblio, copies.get(biblio.id, [])))
            etree.SubElement(record, f"{{{SRW}}}recordPosition").text = str(position)
    if start - 1 + maximum < len(found):
        etree.SubElement(root, f"{{{SRW}}}nextRecordPosition").text = str(start + maximum)
    echoed = etree.SubElement(root, f"{{{SRW}}}echoedSearchRetrieveRequest")
    for name in ("version", "query", "startRecord", "maximumRecords", "recordSchema"):
        if name in query:
            etree.SubElement(echoed, f"{{{SRW}}}{name}").text = query[name]
    return _response(root)


def create_sru_app(library: SimulatedLibrary, path: str = "/sru") -> web.Application:
    """The SRU face of ``library`` at ``path``."""
    app = web.Application()
    app[SRU_LIBRARY] = library
    app.router.add_get(path, sru)
    return app
