"""The one table of SIP2 fields that must not be shown as they are, and how each is hidden.

Used wherever a SIP2 message is turned into text for people: a message's ``repr`` (codec),
the frame logs of the client and of the server face (``loggable``), and the client's
identity-mismatch log. A field missing here is shown as it is.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ils_gateway.sip2.messages import Message

__all__ = ["REDACTION", "Redaction", "loggable", "mask_card", "redact"]


class Redaction(Enum):
    """How one field's value is hidden."""

    SECRET = "secret"
    """Passwords: never shown, not even their length (``***``, or empty when empty)."""
    CARD = "card"
    """Card numbers: the last four characters at most (never the whole of a short one)."""
    PERSONAL = "personal"
    """Name, address, e-mail, phone: only the length. A Japanese name is short, so even its
    last few characters would identify the patron."""
    READING = "reading"
    """Items and titles: only the length. Next to a patron (the frame's AA, or the request's
    log context) an item or a title is a reading record."""


REDACTION: dict[str, Redaction] = {
    "AC": Redaction.SECRET,  # terminal password
    "AD": Redaction.SECRET,  # patron password
    "CO": Redaction.SECRET,  # login password
    "AA": Redaction.CARD,  # patron identifier (the card number)
    "AE": Redaction.PERSONAL,  # personal name
    "BD": Redaction.PERSONAL,  # home address
    "BE": Redaction.PERSONAL,  # e-mail address
    "BF": Redaction.PERSONAL,  # home phone number
    "AB": Redaction.READING,  # item identifier
    "AJ": Redaction.READING,  # title identifier
    "AS": Redaction.READING,  # hold items
    "AT": Redaction.READING,  # overdue items
    "AU": Redaction.READING,  # charged items
    "AV": Redaction.READING,  # fine items
    "BU": Redaction.READING,  # recall items
    "CD": Redaction.READING,  # unavailable hold items
}
"""Field id → how its value is hidden."""


def mask_card(value: str) -> str:
    """``value`` with all but its last four characters (at most; never all) as ``*``."""
    keep = max(0, min(4, len(value) - 1))
    return "*" * (len(value) - keep) + (value[-keep:] if keep else "")


def redact(field_id: str, value: str) -> str:
    """``value`` of field ``field_id`` as it may be shown in a repr or a log line."""
    how = REDACTION.get(field_id)
    if how is None or not value:
        return value
    if how is Redaction.SECRET:
        return "***"
    if how is Redaction.CARD:
        return mask_card(value)
    return f"<{len(value)} chars>"


def loggable(message: Message) -> dict[str, Any]:
    """A message as structlog keys (``code``, ``fields``, ``sequence``), fields redacted."""
    fields = [f"{fid}={redact(fid, value)}" for fid, value in message.fields]
    event: dict[str, Any] = {"code": message.code, "fields": fields}
    if message.sequence is not None:
        event["sequence"] = message.sequence
    return event
