"""The card barcode SVG decodes back to the card number (bar widths read from the SVG)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.barcode import barcode_modules, card_barcode_svg

# Codabar (NW-7) per the public symbology tables: 7 elements bar/space alternating, 1 = wide.
CODABAR = {
    "0": "0000011", "1": "0000110", "2": "0001001", "3": "1100000", "4": "0010010",
    "5": "1000010", "6": "0100001", "7": "0100100", "8": "0110000", "9": "1001000",
    "-": "0001100", "$": "0011000", ":": "1000101", "/": "1010001", ".": "1010100",
    "+": "0010101", "A": "0011010", "B": "0101001", "C": "0001011", "D": "0001110",
}  # fmt: skip
# Code 39: 9 elements, 1 = wide (3 of 9 wide).
CODE39 = {
    "0": "000110100", "1": "100100001", "2": "001100001", "3": "101100000",
    "4": "000110001", "5": "100110000", "6": "001110000", "7": "000100101",
    "8": "100100100", "9": "001100100", "*": "010010100",
}  # fmt: skip


def svg_runs(svg: bytes) -> list[tuple[int, float]]:
    """(colour, width) runs across the bar area, read from the SVG's black rects."""
    root = ET.fromstring(svg)
    rects = [
        (float(r.get("x")[:-2]), float(r.get("width")[:-2]))
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if "black" in (r.get("style") or "")
    ]
    runs: list[tuple[int, float]] = []
    for (x, w), nxt in zip(rects, [*rects[1:], None], strict=True):
        runs.append((1, w))
        if nxt is not None:
            runs.append((0, round(nxt[0] - x - w, 3)))
    return runs


def decode(runs: list[tuple[int, float]], table: dict[str, str], width: int, gap: int) -> str:
    narrow = min(w for _, w in runs)
    elements = "".join("1" if w > narrow * 1.5 else "0" for _, w in runs)
    inverse = {v: k for k, v in table.items()}
    out = []
    step = width + gap
    for start in range(0, len(elements), step):
        out.append(inverse[elements[start : start + width]])
    return "".join(out)


@settings(max_examples=40)
@given(st.text(alphabet="0123456789", min_size=1, max_size=14))
def test_codabar_svg_decodes_to_card(card):
    runs = svg_runs(card_barcode_svg(card, "codabar"))
    assert decode(runs, CODABAR, 7, 1) == f"A{card}A"


@settings(max_examples=40)
@given(st.text(alphabet="0123456789", min_size=1, max_size=14))
def test_code39_svg_decodes_to_card(card):
    runs = svg_runs(card_barcode_svg(card, "code39"))
    assert decode(runs, CODE39, 9, 1) == f"*{card}*"


def test_modules_match_svg_and_text_is_printed():
    svg = card_barcode_svg("1234567890", "codabar")
    modules = barcode_modules("1234567890", "codabar")
    bars = re.findall(r"1+", modules)
    assert len(bars) == len([r for r in svg_runs(svg) if r[0] == 1])
    assert b"1234567890" in svg


@pytest.mark.parametrize(
    ("card", "symbology"), [("12AB", "codabar"), ("", "code39"), ("a_b", "code39")]
)
def test_unencodable_card_is_a_bad_request(card, symbology):
    with pytest.raises(BadRequest):
        card_barcode_svg(card, symbology)
