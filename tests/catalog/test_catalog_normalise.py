"""Catalogue text: NFKC, case, white space; kana variants; search parameters, before I/O."""

from __future__ import annotations

import pytest

from ils_gateway.domain.catalog import isbn_digits, normalise, variants
from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.catalog import parse_search


def test_catalog_normalise_and_variants() -> None:
    assert normalise("  ﾑﾗｶﾐ\u3000ＡＢＣ  ") == "ムラカミ abc"
    assert variants("むらかみ") == ("むらかみ", "ムラカミ")
    assert variants("村上") == ("村上",)
    assert variants("走れメロス") == ("走れメロス", "走レメロス")
    assert isbn_digits("978-4-900000-21-6") == "9784900000216"
    assert isbn_digits("4-12-345678-x") == "412345678X"


def test_catalog_parse_search_normalises_and_limits() -> None:
    query = parse_search({"title": "ﾑﾗｶﾐ", "page": "3", "per_page": "10"}, 50)
    assert (query.title, query.page, query.per_page, query.offset) == ("ムラカミ", 3, 10, 20)
    same = parse_search({"title": "ムラカミ", "page": "3", "per_page": "10"}, 50)
    assert query.cache_key() == same.cache_key()
    with pytest.raises(BadRequest, match="per_page:"):
        parse_search({"title": "x", "per_page": "21"}, 20)


@pytest.mark.parametrize(
    "raw",
    [
        "978-4-abc",  # letters were dropped: searched as 9784
        "978-4-900000-21-6 (pbk.)",
        "978x",  # X only as an ISBN-10's check digit
        "X",
        "97849000002167",  # 14 digits
        "978_4",
        "978.4",
        "--",
    ],
)
def test_catalog_malformed_isbn_is_400_naming_it(raw: str) -> None:
    with pytest.raises(BadRequest, match="isbn:"):
        parse_search({"isbn": raw}, 20)


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("978-4-900000-21-6", "9784900000216"),
        ("978 4 900000 21 6", "9784900000216"),
        ("４－１２－３４５６７８－ｘ", "412345678X"),  # full-width, lower-case x
        ("4-12-345678-X", "412345678X"),
        ("978-4", "9784"),  # the start of an ISBN
    ],
)
def test_catalog_isbn_keeps_digits_hyphens_spaces_and_a_final_x(raw: str, sent: str) -> None:
    assert parse_search({"isbn": raw}, 20).isbn == sent
