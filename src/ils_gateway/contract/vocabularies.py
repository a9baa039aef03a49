"""The backend's own hold statuses each adapter maps by table, per backend kind.

An adapter may fall back to a guess for a status it has never seen (the Koha adapter takes
an unknown letter as ``in_transit``); the patron then sees a canonical status that may be
wrong. The contract check compares each hold's ``backend_status`` with these tables, so a
status outside them is reported instead of silently guessed.

SIP2 has no hold status: the adapter's ``backend_status`` is the list the hold came from
(``AS`` ready, ``CD`` not yet) and, when the entry names a copy, that copy's 18 circulation
status. A held copy that is "other" (01), claimed returned, lost or missing gives no hold
state at all; the adapter then shows the hold as waiting, which is a guess.
"""

from __future__ import annotations

from ils_gateway.adapters.folio.mapping import REQUEST_STATUSES
from ils_gateway.adapters.koha.mapping import HOLD_STATUS_BY_LETTER
from ils_gateway.sip2.fields import CirculationStatus

# Koha's backend_status is the found letter, or "queued"/"suspended" for an unfound hold,
# with this suffix when a cancellation was requested.
_KOHA_SUFFIX = " (cancellation requested)"
_KOHA = frozenset({k for k in HOLD_STATUS_BY_LETTER if k} | {"queued", "suspended"})

_SIP2_LISTS = frozenset({"AS", "CD"})
# Circulation statuses of a held copy that say something about the hold (CD: not yet ready).
_SIP2_HELD_COPY = frozenset(
    CirculationStatus(code) for code in ("02", "03", "04", "05", "06", "07", "08", "09", "10")
)


def _sip2_unmapped(backend_status: str) -> bool:
    listed, _, copy_status = backend_status.partition(" ")
    if listed not in _SIP2_LISTS:
        return True
    if not copy_status:
        return False  # a title-level entry: the list alone says ready or not
    try:
        return CirculationStatus(copy_status) not in _SIP2_HELD_COPY
    except ValueError:
        return True


def unmapped_hold_status(kind: str, backend_status: str | None) -> bool | None:
    """True when ``backend_status`` is outside ``kind``'s table; None when there is no table."""
    if backend_status is None:
        return None
    if kind == "koha":
        return backend_status.removesuffix(_KOHA_SUFFIX) not in _KOHA
    if kind == "folio":
        return backend_status not in REQUEST_STATUSES
    if kind == "sip2":
        return _sip2_unmapped(backend_status)
    return None
