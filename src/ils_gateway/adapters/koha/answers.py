"""Every Koha answer must belong to the request it answers, or it is not used.

Koha filters lists by *contains* unless told otherwise (Koha/REST/Plugin/Query.pm,
``build_query_params``: ``_match`` defaults to ``contains``, a SQL ``LIKE '%value%'``), so
``patron_id=1`` also returns patrons 10, 11, 21…. The adapter asks for exact matches; this
module is the second line of defence: a row for another patron, another item or another
hold is Koha (or something between us) answering a different question. That is a protocol
error (502), never data, and it is raised before anything is mapped or cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog

from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.models import mask_card

_log = structlog.get_logger("ils_gateway.adapters.koha")

# Fields whose values are card numbers: never logged in full.
_CARD_FIELDS = frozenset({"cardnumber"})
# Items and titles: only their length. The line runs in a request whose log context names the
# patron, and a patron next to an item is a reading record.
_READING_FIELDS = frozenset({"item_id", "external_id", "biblio_id"})


def _shown(field: str, value: object) -> str:
    text = "" if value is None else str(value)
    if field in _CARD_FIELDS:
        return mask_card(text)
    return f"<{len(text)} chars>" if field in _READING_FIELDS else repr(text)


def _same(got: object, wanted: object, *, folded: bool) -> bool:
    if got is None:
        return False
    if folded:  # Koha's MySQL collations compare card numbers and barcodes without case
        return str(got).casefold() == str(wanted).casefold()
    return str(got) == str(wanted)


def require_belongs(
    answers: Iterable[Any], where: str, *, folded: bool = False, **expected: object
) -> None:
    """Raise ``BackendProtocolError`` unless each answer's fields equal ``expected``.

    ``folded`` compares without case (card numbers, barcodes: the database does).
    """
    for answer in answers:
        for field, wanted in expected.items():
            got = getattr(answer, field, None)
            if not _same(got, wanted, folded=folded):
                _log.warning(
                    "koha.answer_mismatch",
                    where=where,
                    field=field,
                    asked=_shown(field, wanted),
                    answered=_shown(field, got),
                )
                raise BackendProtocolError(
                    detail="The library system answered a different request.",
                    operator_detail=(
                        f"Koha {where}: {field} {_shown(field, got)} answers a request for "
                        f"{_shown(field, wanted)}"
                    ),
                )
