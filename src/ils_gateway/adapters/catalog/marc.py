"""MARC 21 (MARCXML, ``http://www.loc.gov/MARC21/slim``) records as catalogue records.

Fields read (MARC 21 Format for Bibliographic Data; holdings as embedded 852):

- 001 the record id; 020 $a ISBN; 245 $a $b title; 100/110 and 700/710 $a authors;
  264 (or 260) $b publisher and $c year (the first four digits);
- 880 alternate graphic representations linked by $6 (``245-01``, ``100-01``): Japanese
  catalogues record the readings (ヨミ) there, and kana search matches them;
- the leader's type of record (06) and bibliographic level (07), and 655 $a genre terms
  (絵本, 紙芝居) for the material type;
- 852 one per copy: $b branch, $c shelving location, $h call number, $p barcode (piece
  designation), $z public note (禁帯出 / 館内 mark a reference-only copy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ils_gateway.domain.catalog import CatalogRecord, isbn_digits
from ils_gateway.domain.vocab import MaterialType

MARC_NS = "http://www.loc.gov/MARC21/slim"
_NS = {"m": MARC_NS}

# Leader/06 type of record → material type (a: language material, g: projected medium…).
_LEADER_TYPES = {
    "a": MaterialType.BOOK,
    "t": MaterialType.BOOK,
    "e": MaterialType.MAP,
    "f": MaterialType.MAP,
    "g": MaterialType.DVD,
    "i": MaterialType.CASSETTE,
    "j": MaterialType.CD,
    "k": MaterialType.ART_REPRODUCTION,
    "m": MaterialType.CD_ROM,
}
_GENRES = {"絵本": MaterialType.PICTURE_BOOK, "紙芝居": MaterialType.KAMISHIBAI}
_REFERENCE_NOTE = re.compile(r"禁帯出|館内|reference", re.IGNORECASE)
_YEAR = re.compile(r"(\d{4})")


@dataclass(frozen=True)
class Holding:
    """One 852: a copy the record names."""

    barcode: str
    branch: str | None
    shelf_location: str | None
    call_number: str | None
    reference_only: bool


def _subfields(field: etree._Element, code: str) -> list[str]:
    return [
        (s.text or "").strip()
        for s in field.iterfind(f"m:subfield[@code='{code}']", _NS)
        if (s.text or "").strip()
    ]


def _one(field: etree._Element, code: str) -> str | None:
    values = _subfields(field, code)
    return values[0] if values else None


def _first(record: etree._Element, tags: tuple[str, ...], code: str) -> str | None:
    for tag in tags:
        for field in record.iterfind(f"m:datafield[@tag='{tag}']", _NS):
            values = _subfields(field, code)
            if values:
                return values[0]
    return None


def _linked(record: etree._Element, tag: str) -> str | None:
    """The 880 linked to the first ``tag`` ($6 ``<tag>-NN``): its $a."""
    for field in record.iterfind("m:datafield[@tag='880']", _NS):
        links = _subfields(field, "6")
        if links and links[0].startswith(f"{tag}-"):
            values = _subfields(field, "a")
            if values:
                return values[0]
    return None


def _control(record: etree._Element, tag: str) -> str | None:
    field = record.find(f"m:controlfield[@tag='{tag}']", _NS)
    return (field.text or "").strip() or None if field is not None else None


def _material_type(record: etree._Element) -> MaterialType:
    for field in record.iterfind("m:datafield[@tag='655']", _NS):
        for genre in _subfields(field, "a"):
            if genre in _GENRES:
                return _GENRES[genre]
    leader = record.findtext("m:leader", default="", namespaces=_NS)
    if len(leader) > 7 and leader[6] == "a" and leader[7] == "s":
        return MaterialType.MAGAZINE  # language material, serial
    return _LEADER_TYPES.get(leader[6] if len(leader) > 6 else "", MaterialType.OTHER)


def _clean_title(text: str) -> str:
    return re.sub(r"\s*[/:;=]\s*$", "", text).strip()


def parse_record(record: etree._Element) -> tuple[CatalogRecord, list[Holding]]:
    """A MARCXML ``record`` element as a catalogue record and its holdings (852).

    Raises ``ValueError`` for a record without an id (001) or a title (245 $a).
    """
    record_id = _control(record, "001")
    title = _first(record, ("245",), "a")
    if not record_id or not title:
        raise ValueError("MARC record without 001 or 245 $a")
    subtitle = _first(record, ("245",), "b")
    full_title = _clean_title(title) + (f" {_clean_title(subtitle)}" if subtitle else "")
    authors: list[str] = []
    for tag in ("100", "110", "700", "710"):
        for field in record.iterfind(f"m:datafield[@tag='{tag}']", _NS):
            authors += [re.sub(r"[,.]\s*$", "", a) for a in _subfields(field, "a")]
    year_text = _first(record, ("264", "260"), "c")
    year_match = _YEAR.search(year_text or "")
    isbn = _first(record, ("020",), "a")
    holdings = [
        Holding(
            barcode=barcode,
            branch=_one(field, "b"),
            shelf_location=_one(field, "c"),
            call_number=_one(field, "h"),
            reference_only=any(_REFERENCE_NOTE.search(z) for z in _subfields(field, "z")),
        )
        for field in record.iterfind("m:datafield[@tag='852']", _NS)
        for barcode in _subfields(field, "p")[:1]
    ]
    catalog_record = CatalogRecord(
        id=record_id,
        title=full_title,
        authors=tuple(authors),
        publisher=re.sub(r"\s*[,:;]\s*$", "", _first(record, ("264", "260"), "b") or "") or None,
        year=int(year_match.group(1)) if year_match else None,
        isbn=isbn_digits(isbn) if isbn else None,
        material_type=_material_type(record),
        title_reading=_linked(record, "245"),
    )
    return catalog_record, holdings
