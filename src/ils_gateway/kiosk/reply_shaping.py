"""Reply shaping: a terminal's ``ReplyShaping`` applied to the face's answers.

- the words: the patron name (AE), added screen messages (AF) and print lines (AG) per answer
  kind, the home library as an AF line, the custom patron and item fields, the due date's
  format (AH of 12/30) — all restricted templates (``tenants.terminal_templates``);
- the last pass over every answer (``ReplyShaper.finish``): AF rewrites, control characters
  replaced, fields hidden or allowed (Koha ``hide_fields``, ``allow_fields``,
  ``screen_msg_regex``, ``convert_nonprinting_characters``);
- the check-in answer (``checkin_answer``): ok, alert, CV alert type, CL sort bin and CT
  destination from what the check-in found and the library's sort rules (Koha
  ``C4/SIP/ILS/Transaction/Checkin.pm``: ``checked_in_ok``, ``holds_block_checkin``,
  ``cv_triggers_alert``, ``cv_send_00_on_success``, ``ct_always_send``).

No I/O here: the face reads the copies and the patron; this only words the answer.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from ils_gateway.domain.models import Item, Patron
from ils_gateway.kiosk.circulation_status import ON_LOAN, circulation_status
from ils_gateway.sip2.fields import MAX_FIELD_CHARS, CirculationStatus, SipDate
from ils_gateway.sip2.messages import Message
from ils_gateway.tenants.terminal_reply import (
    CheckinOutcome,
    CheckinShaping,
    CustomField,
    ReplyEvent,
    ReplyShaping,
)
from ils_gateway.tenants.terminal_templates import render

__all__ = [
    "CheckinAnswer",
    "ReplyShaper",
    "amend",
    "checkin_answer",
    "checkin_outcome",
    "item_values",
    "patron_values",
]

_M = TypeVar("_M", bound=Message)

# CV by what a check-in found (Koha Checkin.pm: 01 hold here, 04 send to another library).
_ALERT_TYPES: dict[CheckinOutcome, str] = {"hold_shelf": "01", "in_transit": "04", "lost": "99"}
_HOLD_OUTCOMES = frozenset({"hold_shelf", "in_transit"})


def _clean(text: str) -> str:
    """A rendered value fit for a SIP2 field: no delimiter or line end, at most 255 chars."""
    return text.replace("|", "").replace("\r", "").replace("\n", "")[:MAX_FIELD_CHARS]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def patron_values(patron: Patron, library_names: Mapping[str, str]) -> dict[str, str]:
    """What a patron template may name (``terminal_reply.PATRON_NAMES``)."""
    home = patron.home_library or ""
    return {
        "name": patron.name,
        "category": _text(patron.category),
        "home_library": home,
        "home_library_name": library_names.get(home, home),
        "card_expires": _text(patron.card_expires),
        "loans": _text(patron.loans_count),
        "overdue": _text(patron.overdue_count),
        "holds": _text(patron.holds_count),
        "holds_ready": _text(patron.holds_ready_count),
        "fees_owed": _text(patron.fees_owed),
        "email": _text(patron.email),
        "phone": _text(patron.phone),
    }


def item_values(item: Item, *, lost_as_missing: bool = False) -> dict[str, str]:
    """What an item template may name (``terminal_reply.ITEM_NAMES``)."""
    status = circulation_status(item.circulation_status)
    if lost_as_missing and status is CirculationStatus.LOST:
        status = CirculationStatus.MISSING
    return {
        "barcode": item.id,
        "title": item.title,
        "author": _text(item.author),
        "call_number": _text(item.call_number),
        "location": _text(item.location),
        "material_type": item.material_type.value,
        "isbn": _text(item.isbn),
        "volume": _text(item.volume),
        "status": status.name.lower() if item.circulation_status else "",
    }


class ReplyShaper:
    """One ``ReplyShaping`` at work (``library_names``: pickup library code → name)."""

    def __init__(self, reply: ReplyShaping, library_names: Mapping[str, str]) -> None:
        self.reply = reply
        self._libraries = library_names
        self._rewrites = [(r.pattern, r.replace) for r in reply.screen_message_rewrites]

    # --- words ------------------------------------------------------------------------------

    def patron_values(self, patron: Patron) -> dict[str, str]:
        """The patron's template values."""
        return patron_values(patron, self._libraries)

    def item_values(self, item: Item) -> dict[str, str]:
        """The item's template values (lost reported as missing where the library says)."""
        return item_values(item, lost_as_missing=self.reply.lost_as_missing)

    def patron_name(self, patron: Patron) -> str:
        """AE: the template's, else the name as the library system gives it."""
        template = self.reply.patron_name_template
        if template is None:
            return patron.name
        return _clean(render(template, self.patron_values(patron)))

    def screen_lines(self, event: ReplyEvent, values: Mapping[str, str]) -> list[str]:
        """The AF lines the library adds to an answer of kind ``event``."""
        return self._lines(self.reply.screen_messages.get(event, ()), values)

    def print_lines(self, event: ReplyEvent, values: Mapping[str, str]) -> list[str]:
        """The AG lines of an answer of kind ``event``."""
        return self._lines(self.reply.print_lines.get(event, ()), values)

    def home_library_lines(self, patron: Patron) -> list[str]:
        """The home library as an AF line, where the library wants it and the patron has one."""
        if not self.reply.home_library_in_screen_message or not patron.home_library:
            return []
        return self._lines((self.reply.home_library_template,), self.patron_values(patron))

    def patron_fields(self, patron: Patron) -> list[tuple[str, str]]:
        """The custom patron fields (24/64)."""
        return self._custom(self.reply.custom_patron_fields, self.patron_values(patron))

    def item_fields(self, item: Item) -> list[tuple[str, str]]:
        """The custom item fields (18, 10, 12)."""
        return self._custom(self.reply.custom_item_fields, self.item_values(item))

    def due_date(self, day: date | None, sip_date: SipDate | None) -> SipDate | None:
        """AH of 12/30: the library's format where it has one (free text in AH, as Koha's
        format_due_date sends), else the SIP2 date."""
        if day is None or self.reply.due_date_format is None:
            return sip_date
        return SipDate(_clean(day.strftime(self.reply.due_date_format)))

    def _lines(self, templates: Sequence[str], values: Mapping[str, str]) -> list[str]:
        lines = (_clean(render(t, values)) for t in templates)
        return [line for line in lines if line.strip()]

    @staticmethod
    def _custom(fields: Sequence[CustomField], values: Mapping[str, str]) -> list[tuple[str, str]]:
        return [(f.field, _clean(render(f.template, values))) for f in fields]

    # --- the last pass --------------------------------------------------------------------

    def finish(self, answer: _M) -> _M:
        """``answer`` with AF rewritten, control characters replaced and fields hidden or
        allowed; the same object when nothing applies."""
        reply = self.reply
        if not (
            self._rewrites
            or reply.convert_nonprinting is not None
            or reply.hide_fields
            or reply.allow_fields is not None
        ):
            return answer
        required = {a.field_id for a in answer.VARIABLE if a.required}
        fields: list[tuple[str, str]] = []
        for fid, value in answer.fields:
            if fid in reply.hide_fields:
                continue
            if reply.allow_fields is not None and fid not in reply.allow_fields | required:
                continue
            if fid == "AF":
                for pattern, replacement in self._rewrites:
                    value = pattern.sub(replacement, value)
            if reply.convert_nonprinting is not None:
                value = _printable(value, reply.convert_nonprinting)
            fields.append((fid, _clean(value)))
        return dataclasses.replace(answer, fields=tuple(fields))


def amend(
    answer: _M,
    *,
    extra: Sequence[tuple[str, str]] = (),
    screen: Sequence[str] = (),
    prints: Sequence[str] = (),
) -> _M:
    """``answer`` with ``extra`` fields before its AF/AG, and ``screen`` (AF) and ``prints``
    (AG) lines after its own."""
    if not (extra or screen or prints):
        return answer
    body = [f for f in answer.fields if f[0] not in ("AF", "AG")]
    shown = [f for f in answer.fields if f[0] == "AF"] + [("AF", _clean(t)) for t in screen]
    printed = [f for f in answer.fields if f[0] == "AG"] + [("AG", _clean(t)) for t in prints]
    fields = [*body, *((fid, _clean(v)) for fid, v in extra), *shown, *printed]
    return dataclasses.replace(answer, fields=tuple(fields))


def _printable(value: str, replacement: str) -> str:
    if value.isprintable():
        return value
    return "".join(replacement if unicodedata.category(c) == "Cc" else c for c in value)


# --- check-in ---------------------------------------------------------------------------------


def checkin_outcome(before: Item | None, after: Item | None) -> CheckinOutcome:
    """What a check-in found, from the copy as read before and after it (either may be
    unknown: then a plain return)."""
    after_status = circulation_status(after.circulation_status) if after else None
    if after_status is CirculationStatus.WAITING_ON_HOLD_SHELF:
        return "hold_shelf"
    if after_status is CirculationStatus.IN_TRANSIT:
        return "in_transit"
    if before is None:
        return "returned"
    before_status = circulation_status(before.circulation_status)
    if before_status in (CirculationStatus.LOST, CirculationStatus.MISSING):
        return "lost"
    if before_status not in ON_LOAN:
        return "not_on_loan"
    return "returned"


@dataclass(frozen=True)
class CheckinAnswer:
    """The 10's variable parts: ok, alert, resensitize, CV/CL/CT and AF lines to add."""

    ok: bool
    alert: bool
    resensitize: bool
    alert_type: str | None
    sort_bin: str | None
    destination: str | None
    screen_lines: tuple[str, ...]
    outcome: CheckinOutcome = "returned"
    #: the face's own message key for what went wrong (not on loan, hold blocks) or None
    refusal: str | None = None

    def extra_fields(self, shaping: CheckinShaping) -> list[tuple[str, str]]:
        """CV and CT as extra fields of the 10 (CL is a named one)."""
        extra: list[tuple[str, str]] = []
        if self.alert_type is not None:
            extra.append(("CV", self.alert_type))
        if self.destination or shaping.ct_always_send:
            extra.append(("CT", self.destination or ""))
        return extra


def checkin_answer(
    shaping: CheckinShaping,
    outcome: CheckinOutcome,
    item: Item,
    values: Mapping[str, str],
) -> CheckinAnswer:
    """The 10 for a check-in that found ``outcome`` (Koha ``Checkin.pm`` semantics)."""
    location = item.location or ""
    rule = next(
        (r for r in shaping.sort_rules if r.matches(outcome, item.material_type, location)), None
    )
    refusal: str | None = None
    ok = True
    if outcome == "not_on_loan" and not shaping.checked_in_ok:
        ok, refusal = False, "not_on_loan"
    if outcome in _HOLD_OUTCOMES and shaping.holds_block_checkin:
        ok, refusal = False, "hold_blocks_checkin"

    alert_type: str | None = None
    if rule is not None and rule.alert_type is not None:
        alert_type = rule.alert_type
    elif refusal == "hold_blocks_checkin":
        alert_type = "99"  # Koha: holds_block_checkin sets alert type 99 whatever else
    elif shaping.alert_types or shaping.cv_triggers_alert:
        alert_type = "99" if not ok else _ALERT_TYPES.get(outcome)
    if shaping.cv_triggers_alert:
        alert = alert_type is not None and alert_type != "00"
    else:
        alert = not ok or outcome in _HOLD_OUTCOMES or outcome == "lost"
        alert = alert or (alert_type is not None and alert_type != "00")
    if alert_type is None and shaping.cv_send_00_on_success and ok:
        alert_type = "00"

    sort_bin = rule.sort_bin if rule is not None and rule.sort_bin is not None else None
    if sort_bin is None and outcome in _HOLD_OUTCOMES and ok:
        sort_bin = shaping.hold_sort_bin
    destination = rule.destination if rule is not None else None
    shown = {
        **values,
        "sort_bin": sort_bin or "",
        "alert_type": alert_type or "",
        "outcome": outcome,
    }
    lines: tuple[str, ...] = ()
    if rule is not None and rule.screen_message:
        line = _clean(render(rule.screen_message, shown))
        lines = (line,) if line.strip() else ()
    return CheckinAnswer(
        ok=ok,
        alert=alert,
        resensitize=ok and outcome not in _HOLD_OUTCOMES,
        alert_type=alert_type,
        sort_bin=sort_bin,
        destination=destination,
        screen_lines=lines,
        outcome=outcome,
        refusal=refusal,
    )
