"""The patron's card as a barcode image (SVG) for the phone screen, in the tenant's symbology.

Encoding is python-barcode's (a maintained library that does NW-7/Codabar and Code 39 as SVG);
this module only chooses the symbology's framing the way Japanese library scanners expect it:
Codabar with start/stop ``A``…``A``, Code 39 without a check character.

python-barcode (with ``xml.dom.minidom``) is imported at the first card drawn, not with the
API's routes: most starts draw none (~0.08 s of ``serve``'s start otherwise).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from ils_gateway.domain.errors import BadRequest

if TYPE_CHECKING:
    from barcode.codabar import CODABAR
    from barcode.codex import Code39

Symbology = Literal["codabar", "code39"]

_CODABAR_DATA = frozenset("0123456789-$:/.+")
_CODE39_DATA = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")


def barcode_modules(card_number: str, symbology: Symbology) -> str:
    """The bar/space pattern as ``1``/``0`` modules (what the SVG draws, left to right)."""
    modules: str = _symbol(card_number, symbology).build()[0]
    return modules


def card_barcode_svg(card_number: str, symbology: Symbology) -> bytes:
    """An SVG image of ``card_number`` in ``symbology``, with the number printed beneath."""
    symbol = _symbol(card_number, symbology)
    out = io.BytesIO()
    symbol.write(out, options={"module_height": 12.0, "font_size": 8, "text_distance": 4.0})
    return out.getvalue()


def _symbol(card_number: str, symbology: Symbology) -> CODABAR | Code39:
    from barcode.codabar import CODABAR
    from barcode.codex import Code39
    from barcode.writer import SVGWriter

    if symbology == "codabar":
        if not card_number or not set(card_number) <= _CODABAR_DATA:
            raise BadRequest("This card number cannot be shown as an NW-7 barcode")
        return CODABAR(f"A{card_number}A", writer=SVGWriter())
    if not card_number or not set(card_number.upper()) <= _CODE39_DATA:
        raise BadRequest("This card number cannot be shown as a Code 39 barcode")
    return Code39(card_number, writer=SVGWriter(), add_checksum=False)
