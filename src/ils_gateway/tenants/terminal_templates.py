"""Restricted templates for the words a self-check machine shows: ``{name}`` and nothing more.

A library writes the patron name (AE), screen messages (AF), print lines (AG) and custom fields
in its own words, as Koha's SIP server lets it (``ae_field_template``, ``custom_patron_field``
in ``etc/SIPconfig.xml``, Template Toolkit there). Here a template is a ``str.format`` string
whose fields are plain names from a whitelist: no attribute access (``{patron.__class__}``), no
indexing, no conversions, no positional fields, no nested fields in a format spec, and a
format spec of at most alignment, a three-digit width and a precision (``{title:.20}``). Every
value is a string, so a template checked once at load renders the same way for every request.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping

__all__ = ["TemplateError", "check_template", "render"]

_SPEC = re.compile(r"^(?:.?[<>^])?\d{0,3}(?:\.\d{1,3})?$")
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that names a field it may not use, or uses more than plain names."""


def _pieces(template: str) -> list[tuple[str, str | None, str]]:
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:  # an unmatched brace
        raise TemplateError(f"template {template!r}: {exc}") from None
    pieces: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None, ""))
            continue
        if conversion is not None:
            raise TemplateError(f"template {template!r}: no conversions (!{conversion})")
        if not name.isidentifier():
            raise TemplateError(f"template {template!r}: {{{name}}} is not a plain field name")
        if spec and not _SPEC.match(spec):
            raise TemplateError(f"template {template!r}: format spec {spec!r} not allowed")
        pieces.append((literal, name, spec or ""))
    return pieces


def check_template(template: str, allowed: Collection[str]) -> str:
    """``template`` unchanged, or ``TemplateError`` naming the first field not in ``allowed``."""
    for _literal, name, _spec in _pieces(template):
        if name is not None and name not in allowed:
            names = ", ".join(sorted(allowed))
            raise TemplateError(f"template {template!r}: unknown field {{{name}}} (use: {names})")
    return template


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its fields filled from ``values`` (a missing one renders empty)."""
    out: list[str] = []
    for literal, name, spec in _pieces(template):
        out.append(literal)
        if name is not None:
            out.append(format(values.get(name, ""), spec))
    return "".join(out)
