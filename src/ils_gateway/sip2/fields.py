"""SIP2 field vocabulary: fixed-field kinds, code tables, dates and variable-field accessors.

Fixed fields sit at known positions after the command code; each has a *kind* that reads it
from the decoded frame (``read(text, pos) -> (value, new_pos)``) and writes it back
(``write(value) -> str``) so that parse → encode reproduces the input. Variable fields are
``(id, value)`` pairs kept in wire order; message classes expose the known ones through the
descriptors at the end of this module (``Var``, ``Repeat``, ``DateVar``, ``FlagVar``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar, overload

from ils_gateway.sip2.errors import FieldValueError

__all__ = [
    "FIELD_NAMES",
    "MAX_FIELD_CHARS",
    "SUPPORTED_MESSAGE_ORDER",
    "CirculationStatus",
    "DateVar",
    "FeeType",
    "Field",
    "FlagVar",
    "HoldMode",
    "HoldType",
    "PatronStatus",
    "PatronStatusFlag",
    "PaymentType",
    "Repeat",
    "SCStatusCode",
    "SecurityMarker",
    "SipDate",
    "Summary",
    "SummaryItem",
    "SupportedMessages",
    "Var",
    "check_field_value",
]

Field = tuple[str, str]
"""One variable field as received or to be written: (two-letter id, value)."""

# The 2.00 specification caps variable-length fields at 255 characters, and ACSs commonly
# read them into buffers of that size; we never write more. Incoming fields are only bounded
# by the frame size (CodecSettings.max_frame_bytes), because real ACSs do exceed 255 in AF.
MAX_FIELD_CHARS = 255

FIELD_NAMES: dict[str, str] = {
    "AA": "patron identifier", "AB": "item identifier", "AC": "terminal password",
    "AD": "patron password", "AE": "personal name", "AF": "screen message",
    "AG": "print line", "AH": "due date", "AJ": "title identifier",
    "AL": "blocked card message", "AM": "library name", "AN": "terminal location",
    "AO": "institution id", "AP": "current location", "AQ": "permanent location",
    "AS": "hold items", "AT": "overdue items", "AU": "charged items", "AV": "fine items",
    "AY": "sequence number", "AZ": "checksum", "BD": "home address", "BE": "e-mail address",
    "BF": "home phone number", "BG": "owner", "BH": "currency type", "BI": "cancel",
    "BK": "transaction id", "BL": "valid patron", "BM": "renewed items",
    "BN": "unrenewed items", "BO": "fee acknowledged", "BP": "start item", "BQ": "end item",
    "BR": "queue position", "BS": "pickup location", "BT": "fee type",
    "BU": "recall items", "BV": "fee amount", "BW": "expiration date",
    "BX": "supported messages", "BY": "hold type", "BZ": "hold items limit",
    "CA": "overdue items limit", "CB": "charged items limit", "CC": "fee limit",
    "CD": "unavailable hold items", "CF": "hold queue length", "CG": "fee identifier",
    "CH": "item properties", "CI": "security inhibit", "CJ": "recall date",
    "CK": "media type", "CL": "sort bin", "CM": "hold pickup date", "CN": "login user id",
    "CO": "login password", "CP": "location code", "CQ": "valid patron password",
}  # fmt: skip


def check_field_value(field: str, value: str, *, strip: bool = False) -> str:
    """Return ``value`` fit to be written to ``field``, or raise ``FieldValueError``.

    ``|`` cannot be escaped in SIP2 and CR/LF end the frame, so they are refused unless
    ``strip`` is true, in which case they are removed.
    """
    if not isinstance(value, str):
        raise FieldValueError(field, f"value must be a string, not {type(value).__name__}")
    if "|" in value or "\r" in value or "\n" in value:
        if not strip:
            raise FieldValueError(field, "value contains '|', CR or LF (pass strip=True to drop)")
        value = value.replace("|", "").replace("\r", "").replace("\n", "")
    if len(value) > MAX_FIELD_CHARS:
        raise FieldValueError(field, f"value longer than {MAX_FIELD_CHARS} characters")
    return value


# --- code tables -----------------------------------------------------------------------


class CirculationStatus(Enum):
    """Circulation status of an item (18 response)."""

    OTHER = "01"
    ON_ORDER = "02"
    AVAILABLE = "03"
    CHARGED = "04"
    CHARGED_NOT_TO_BE_RECALLED = "05"
    IN_PROCESS = "06"
    RECALLED = "07"
    WAITING_ON_HOLD_SHELF = "08"
    WAITING_TO_BE_RESHELVED = "09"
    IN_TRANSIT = "10"
    CLAIMED_RETURNED = "11"
    LOST = "12"
    MISSING = "13"


class FeeType(Enum):
    """Fee type (18 fixed field, 37 request, BT)."""

    OTHER = "01"
    ADMINISTRATIVE = "02"
    DAMAGE = "03"
    OVERDUE = "04"
    PROCESSING = "05"
    RENTAL = "06"
    REPLACEMENT = "07"
    COMPUTER_ACCESS = "08"
    HOLD_FEE = "09"


class SecurityMarker(Enum):
    """Security marker of an item (18 response)."""

    OTHER = "00"
    NONE = "01"
    TATTLE_TAPE = "02"
    WHISPER_TAPE = "03"


class PaymentType(Enum):
    """How a fee was paid (37 request)."""

    CASH = "00"
    VISA = "01"
    CREDIT_CARD = "02"


class HoldMode(Enum):
    """What a 15 Hold request does to the hold."""

    ADD = "+"
    DELETE = "-"
    CHANGE = "*"


class HoldType(Enum):
    """Value of the BY hold type field."""

    OTHER = "1"
    ANY_COPY_OF_TITLE = "2"
    SPECIFIC_COPY = "3"
    ANY_COPY_AT_BRANCH = "4"


class SCStatusCode(Enum):
    """Status the self-check reports in a 99 SC Status request."""

    OK = "0"
    OUT_OF_PAPER = "1"
    SHUTTING_DOWN = "2"


class PatronStatusFlag(Enum):
    """Positions of the 14-character patron status field (value = index)."""

    CHARGE_PRIVILEGES_DENIED = 0
    RENEWAL_PRIVILEGES_DENIED = 1
    RECALL_PRIVILEGES_DENIED = 2
    HOLD_PRIVILEGES_DENIED = 3
    CARD_REPORTED_LOST = 4
    TOO_MANY_ITEMS_CHARGED = 5
    TOO_MANY_ITEMS_OVERDUE = 6
    TOO_MANY_RENEWALS = 7
    TOO_MANY_CLAIMS_OF_ITEMS_RETURNED = 8
    TOO_MANY_ITEMS_LOST = 9
    EXCESSIVE_OUTSTANDING_FINES = 10
    EXCESSIVE_OUTSTANDING_FEES = 11
    RECALL_OVERDUE = 12
    TOO_MANY_ITEMS_BILLED = 13


class SummaryItem(Enum):
    """Positions of the 10-character summary field of a 63 request (value = index)."""

    HOLD_ITEMS = 0
    OVERDUE_ITEMS = 1
    CHARGED_ITEMS = 2
    FINE_ITEMS = 3
    RECALL_ITEMS = 4
    UNAVAILABLE_HOLDS = 5


_FLAG_CHARS = frozenset("YN ")


@dataclass(frozen=True, slots=True)
class PatronStatus:
    """The 14-position patron status field; ``Y`` at a position means that flag is set."""

    raw: str = " " * 14
    WIDTH: ClassVar[int] = 14

    def __post_init__(self) -> None:
        if len(self.raw) != self.WIDTH or not _FLAG_CHARS.issuperset(self.raw):
            raise FieldValueError("patron_status", "need 14 characters, each Y, N or space")

    @classmethod
    def from_flags(cls, flags: set[PatronStatusFlag] | frozenset[PatronStatusFlag]) -> PatronStatus:
        """Patron status with exactly ``flags`` set."""
        return cls("".join("Y" if f in flags else " " for f in PatronStatusFlag))

    @property
    def flags(self) -> frozenset[PatronStatusFlag]:
        """The flags set (``Y``) in this field."""
        return frozenset(f for f in PatronStatusFlag if self.raw[f.value] == "Y")

    def __contains__(self, flag: object) -> bool:
        return isinstance(flag, PatronStatusFlag) and self.raw[flag.value] == "Y"


@dataclass(frozen=True, slots=True)
class Summary:
    """The 10-position summary field of a 63 request: which list to return (at most one)."""

    raw: str = " " * 10
    WIDTH: ClassVar[int] = 10

    def __post_init__(self) -> None:
        if len(self.raw) != self.WIDTH or not _FLAG_CHARS.issuperset(self.raw):
            raise FieldValueError("summary", "need 10 characters, each Y, N or space")

    @classmethod
    def of(cls, item: SummaryItem | None) -> Summary:
        """Summary asking for the list ``item`` (or for no list)."""
        if item is None:
            return cls()
        return cls(" " * item.value + "Y" + " " * (cls.WIDTH - 1 - item.value))

    @property
    def items(self) -> frozenset[SummaryItem]:
        """The lists asked for (normally zero or one)."""
        return frozenset(i for i in SummaryItem if self.raw[i.value] == "Y")


SUPPORTED_MESSAGE_ORDER = (
    "23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15", "29", "65",
)  # fmt: skip
"""Request codes behind the 16 Y/N flags of the 98's BX field, in the spec's order."""


@dataclass(frozen=True, slots=True)
class SupportedMessages:
    """The 16 BX flags of a 98 as named booleans: which requests the ACS says it supports.

    ``from_bx`` is lenient because real ACSs are: a short BX counts the missing trailing flags
    as ``N``, lower case counts, anything but ``Y`` is ``N``, extra characters are ignored.
    """

    patron_status: bool = False
    checkout: bool = False
    checkin: bool = False
    block_patron: bool = False
    sc_acs_status: bool = False
    request_resend: bool = False
    login: bool = False
    patron_information: bool = False
    end_patron_session: bool = False
    fee_paid: bool = False
    item_information: bool = False
    item_status_update: bool = False
    patron_enable: bool = False
    hold: bool = False
    renew: bool = False
    renew_all: bool = False

    @classmethod
    def from_bx(cls, bx: str | None) -> SupportedMessages:
        """Decode a BX value (None or empty: nothing supported)."""
        flags = (bx or "").upper()
        return cls(*(i < len(flags) and flags[i] == "Y" for i in range(16)))

    def to_bx(self) -> str:
        """The 16-character BX value."""
        return "".join("Y" if getattr(self, name) else "N" for name in self.__slots__)

    def supports(self, code: str) -> bool:
        """Whether the request with command ``code`` is flagged; False for codes BX lacks."""
        if code not in SUPPORTED_MESSAGE_ORDER:
            return False
        return bool(getattr(self, self.__slots__[SUPPORTED_MESSAGE_ORDER.index(code)]))

    @property
    def codes(self) -> frozenset[str]:
        """Every request code flagged ``Y``."""
        return frozenset(c for c in SUPPORTED_MESSAGE_ORDER if self.supports(c))


# --- dates -----------------------------------------------------------------------------

_NO_DATE = " " * 18
# Odd spacing seen in the wild, e.g. the spec's own "19980723 104009" (one space for ZZZZ).
_SHORT_DATE = re.compile(r"[0-9]{8} {0,3}[0-9]{6}")
_FREE_DATE = re.compile(
    r"\s*([0-9]{4})-?([0-9]{2})-?([0-9]{2})(?:[ T]+([0-9]{2}):?([0-9]{2})(?::?([0-9]{2}))?)?"
)


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


@dataclass(frozen=True, slots=True)
class SipDate:
    """A SIP2 date as written on the wire (``raw``) with a best-effort ``value``.

    The standard form is 18 characters ``YYYYMMDDZZZZHHMMSS`` where ZZZZ is four spaces
    (local time) or ``   Z`` (UTC); 18 spaces mean "no date". Other spellings (digits in
    ZZZZ, short spacing, free text in AH) are kept verbatim and parsed as well as possible.
    """

    raw: str

    @classmethod
    def none(cls) -> SipDate:
        """The "no date" value (18 spaces)."""
        return cls(_NO_DATE)

    @classmethod
    def from_datetime(cls, when: datetime) -> SipDate:
        """Standard form: naive datetimes as local time, aware ones converted to UTC (``Z``)."""
        if when.tzinfo is None:
            return cls(when.strftime("%Y%m%d    %H%M%S"))
        return cls(when.astimezone(UTC).strftime("%Y%m%d   Z%H%M%S"))

    @property
    def is_none(self) -> bool:
        """True when this is "no date" (blank)."""
        return not self.raw.strip()

    @property
    def value(self) -> datetime | None:
        """The datetime this stands for, or None when blank or not understood."""
        raw = self.raw
        try:
            if len(raw) == 18 and _digits(raw[:8]) and _digits(raw[12:]):
                utc = raw[8:12] == "   Z"
                return datetime(
                    int(raw[0:4]), int(raw[4:6]), int(raw[6:8]),
                    int(raw[12:14]), int(raw[14:16]), int(raw[16:18]),
                    tzinfo=UTC if utc else None,
                )  # fmt: skip
            if _SHORT_DATE.fullmatch(raw):
                return datetime.strptime(raw[:8] + raw[-6:], "%Y%m%d%H%M%S")
            m = _FREE_DATE.match(raw)
            if m:
                parts = [int(p) if p else 0 for p in m.groups()]
                return datetime(*parts)  # type: ignore[arg-type]  # typeshed: datetime(*list) of unknown length; _FREE_DATE has 6 groups
        except ValueError:
            return None
        return None


def _plausible_time(s: str) -> bool:
    return s[0:2] < "24" and s[2:4] < "60" and s[4:6] < "61"


_new = object.__new__
_set = object.__setattr__


def _unchecked(cls: type[Any], raw: str) -> Any:
    """An instance of the one-field value class ``cls`` (``SipDate``, ``PatronStatus``,
    ``Summary``) holding ``raw``, which the caller has already validated."""
    obj = _new(cls)
    _set(obj, "raw", raw)
    return obj


def _maker(cls: type[Any]) -> Callable[[str], Any]:
    """``_unchecked`` for one class, setting ``raw`` through its slot descriptor (faster)."""
    set_raw = cls.raw.__set__

    def make(raw: str) -> Any:
        obj = _new(cls)
        set_raw(obj, raw)
        return obj

    return make


# --- fixed-field kinds -----------------------------------------------------------------


class FixedReadError(Exception):
    """Internal: a fixed field could not be read; the codec adds field name and offset.

    The message never quotes the text read: in a misaligned frame that text can be a
    password (AD, AC, CO), and parse-error reasons are logged."""


class FixedKind:
    """How one fixed field is read from and written to the wire (``width``: nominal size).

    Besides ``read`` (any spelling the gateway tolerates, with the error when none fits),
    each kind describes its *standard* spelling for the parser's fast path: ``pattern``, a
    regular expression for exactly ``width`` characters that ``read`` accepts whole, and
    ``convert_source``, a Python expression turning such a slice into the value ``read``
    would return. The message classes compile them into one pattern and one constructor per
    class (``messages.Message._FIXED_RX`` and ``_from_text``); a frame whose fixed part the
    pattern does not match is read field by field with ``read``.
    """

    __slots__ = ()
    width: int

    def read(self, text: str, pos: int) -> tuple[Any, int]:
        """Read the field at ``pos``; return the value and the position after it."""
        raise NotImplementedError

    @property
    def pattern(self) -> str:
        """Regular expression for the standard spelling: ``width`` characters, all of them
        accepted by ``read`` as one field whose value ``convert_source`` gives."""
        raise NotImplementedError

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        """A Python expression for the value of the slice held in variable ``var``, which
        ``pattern`` has matched. Helpers it needs go into ``env`` under names starting with
        ``prefix``."""
        raise NotImplementedError

    def write(self, name: str, value: Any) -> str:
        """The wire form of ``value``; ``FieldValueError`` (naming ``name``) when invalid."""
        raise NotImplementedError


class YesNo(FixedKind):
    """``Y``/``N`` flag as bool; with ``unknown=True`` also ``U`` as None."""

    __slots__ = ("unknown",)
    width = 1

    def __init__(self, unknown: bool = False) -> None:
        self.unknown = unknown

    def read(self, text: str, pos: int) -> tuple[bool | None, int]:
        c = text[pos : pos + 1]
        if c == "Y":
            return True, pos + 1
        if c == "N":
            return False, pos + 1
        if c == "U" and self.unknown:
            return None, pos + 1
        raise FixedReadError(f"expected {'Y, N or U' if self.unknown else 'Y or N'}")

    @property
    def pattern(self) -> str:
        return "[YNU]" if self.unknown else "[YN]"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        if self.unknown:
            env[prefix] = {"Y": True, "N": False, "U": None}
            return f"{prefix}[{var}]"
        return f"{var} == 'Y'"

    def write(self, name: str, value: Any) -> str:
        if value is True:
            return "Y"
        if value is False:
            return "N"
        if value is None and self.unknown:
            return "U"
        raise FieldValueError(name, f"expected True/False{'/None' if self.unknown else ''}")


class ZeroOne(FixedKind):
    """``0``/``1`` "ok" field as bool."""

    __slots__ = ()
    width = 1

    def read(self, text: str, pos: int) -> tuple[bool, int]:
        c = text[pos : pos + 1]
        if c == "1":
            return True, pos + 1
        if c == "0":
            return False, pos + 1
        raise FixedReadError("expected 0 or 1")

    @property
    def pattern(self) -> str:
        return "[01]"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        return f"{var} == '1'"

    def write(self, name: str, value: Any) -> str:
        if value is True or value is False:
            return "1" if value else "0"
        raise FieldValueError(name, "expected True or False")


class AnyChar(FixedKind):
    """One free character (e.g. the login UID/PWD algorithm), any but ``|``, CR, LF."""

    __slots__ = ()
    width = 1

    def read(self, text: str, pos: int) -> tuple[str, int]:
        c = text[pos : pos + 1]
        if not c or c in "|\r\n":
            raise FixedReadError("expected one character")
        return c, pos + 1

    @property
    def pattern(self) -> str:
        return r"[^|\r\n]"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        return var

    def write(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) != 1 or value in "|\r\n":
            raise FieldValueError(name, "expected one character other than '|', CR, LF")
        return value


class Number(FixedKind):
    """Zero-padded decimal count of fixed width as int; all spaces read as None (unknown)."""

    __slots__ = ("blank", "width")

    def __init__(self, width: int) -> None:
        self.width = width
        self.blank = " " * width

    def read(self, text: str, pos: int) -> tuple[int | None, int]:
        end = pos + self.width
        s = text[pos:end]
        if s.isdigit() and s.isascii() and len(s) == self.width:
            return int(s), end
        if s == self.blank:
            return None, end
        raise FixedReadError(f"expected {self.width} digits")

    @property
    def pattern(self) -> str:
        return f"(?:[0-9]{{{self.width}}}| {{{self.width}}})"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        return f"(None if {var} == {self.blank!r} else int({var}))"

    def write(self, name: str, value: Any) -> str:
        if value is None:
            return self.blank
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldValueError(name, "expected an int or None")
        if not 0 <= value < 10**self.width:
            raise FieldValueError(name, f"{value} does not fit in {self.width} digits")
        return f"{value:0{self.width}d}"


class Code(FixedKind):
    """Fixed-width string checked by a predicate (language, protocol version, currency).

    ``standard`` is the regular expression for the values ``check`` accepts (``pattern``)."""

    __slots__ = ("check", "standard", "what", "width")

    def __init__(self, width: int, what: str, check: Any, standard: str) -> None:
        self.width = width
        self.what = what
        self.check = check
        self.standard = standard

    def read(self, text: str, pos: int) -> tuple[str, int]:
        end = pos + self.width
        s = text[pos:end]
        if len(s) == self.width and self.check(s):
            return s, end
        raise FixedReadError(f"expected {self.what}")

    @property
    def pattern(self) -> str:
        return self.standard

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        return var

    def write(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) != self.width or not self.check(value):
            raise FieldValueError(name, f"expected {self.what}")
        return value


class EnumCode(FixedKind):
    """Fixed-width code from one of the enumerations above."""

    __slots__ = ("enum", "lookup", "width")

    def __init__(self, enum: type[Enum], width: int) -> None:
        self.enum = enum
        self.width = width
        self.lookup: dict[str, Enum] = {m.value: m for m in enum}

    def read(self, text: str, pos: int) -> tuple[Enum, int]:
        end = pos + self.width
        member = self.lookup.get(text[pos:end])
        if member is None:
            raise FixedReadError(f"expected a {self.enum.__name__}")
        return member, end

    @property
    def pattern(self) -> str:
        codes = sorted(c for c in self.lookup if len(c) == self.width)
        return "(?:" + "|".join(re.escape(c) for c in codes) + ")" if codes else "(?!)"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        env[prefix] = self.lookup
        return f"{prefix}[{var}]"

    def write(self, name: str, value: Any) -> str:
        if not isinstance(value, self.enum):
            raise FieldValueError(name, f"expected a {self.enum.__name__}")
        return value.value  # type: ignore[no-any-return]  # typeshed: Enum.value is Any; these enums are str-valued


class FlagString(FixedKind):
    """Patron status (14) or summary (10) as its value class."""

    __slots__ = ("cls", "width")

    def __init__(self, cls: type[PatronStatus] | type[Summary]) -> None:
        self.cls = cls
        self.width = cls.WIDTH

    def read(self, text: str, pos: int) -> tuple[Any, int]:
        end = pos + self.width
        s = text[pos:end]
        if len(s) != self.width or not _FLAG_CHARS.issuperset(s):
            raise FixedReadError(f"expected {self.width} characters Y, N or space")
        return _unchecked(self.cls, s), end

    @property
    def pattern(self) -> str:
        return f"[YN ]{{{self.width}}}"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        env[prefix] = _maker(self.cls)
        return f"{prefix}({var})"

    def write(self, name: str, value: Any) -> str:
        if not isinstance(value, self.cls):
            raise FieldValueError(name, f"expected a {self.cls.__name__}")
        return value.raw


class DateField(FixedKind):
    """An 18-character date (or a tolerated odd spelling of it) as ``SipDate``."""

    __slots__ = ()
    width = 18

    def read(self, text: str, pos: int) -> tuple[SipDate, int]:
        end = pos + 18
        s = text[pos:end]
        if len(s) == 18:
            if s == _NO_DATE:
                return SipDate(s), end
            tail = s[12:]
            if _digits(s[:8]) and _digits(tail) and "|" not in s[8:12] and _plausible_time(tail):
                return SipDate(s), end
        m = _SHORT_DATE.match(text, pos)
        if m and _plausible_time(m.group()[-6:]):
            return SipDate(m.group()), m.end()
        raise FixedReadError("expected an 18-character date")

    @property
    def pattern(self) -> str:
        # 18 spaces, or digits, any four characters but "|" (ZZZZ), and a plausible time:
        # exactly what the first two branches of ``read`` accept.
        time = "(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9]|60)"
        return f"(?: {{18}}|[0-9]{{8}}[^|]{{4}}{time})"

    def convert_source(self, var: str, env: dict[str, Any], prefix: str) -> str:
        env[prefix] = _maker(SipDate)
        return f"{prefix}({var})"

    def write(self, name: str, value: Any) -> str:
        if not isinstance(value, SipDate):
            raise FieldValueError(name, "expected a SipDate")
        raw = value.raw
        if raw == _NO_DATE or (
            len(raw) == 18
            and _digits(raw[:8])
            and _digits(raw[12:])
            and not any(c in "|\r\n" for c in raw[8:12])
        ):
            return raw
        if _SHORT_DATE.fullmatch(raw):
            return raw
        raise FieldValueError(name, f"{raw!r} is not a SIP2 date (YYYYMMDDZZZZHHMMSS)")


def _is_language(s: str) -> bool:
    return _digits(s)


def _is_version(s: str) -> bool:
    return _digits(s[0]) and s[1] == "." and _digits(s[2:])


def _is_currency(s: str) -> bool:
    return "|" not in s and "\r" not in s and "\n" not in s


YN = YesNo()
YNU = YesNo(unknown=True)
OK = ZeroOne()
CHAR = AnyChar()
DATE = DateField()
COUNT4 = Number(4)
NUMBER3 = Number(3)
LANGUAGE = Code(3, "3 digits (language)", _is_language, "[0-9]{3}")
PROTOCOL_VERSION = Code(4, "a protocol version like 2.00", _is_version, r"[0-9]\.[0-9]{2}")
CURRENCY = Code(3, "3 characters (currency)", _is_currency, r"[^|\r\n]{3}")
PATRON_STATUS = FlagString(PatronStatus)
SUMMARY = FlagString(Summary)


# --- variable-field accessors ----------------------------------------------------------

T = TypeVar("T")


class VarField(Generic[T]):
    """Base of the descriptors naming a variable field on a message class."""

    repeatable: ClassVar[bool] = False

    def __init__(self, field_id: str, *, required: bool = False) -> None:
        self.field_id = field_id
        self.required = required
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> VarField[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object | None, owner: type) -> VarField[T] | T:
        if obj is None:
            return self
        return self.extract(obj.fields)  # type: ignore[attr-defined]  # a descriptor on Message classes (not importable here)

    def extract(self, fields: tuple[Field, ...]) -> T:
        """The accessor's value from a message's fields."""
        raise NotImplementedError

    def to_wire(self, value: Any) -> list[str]:
        """Wire values for a builder argument."""
        return [value]


class Var(VarField[str | None]):
    """A single variable field as ``str``, None when absent (first one if repeated)."""

    def extract(self, fields: tuple[Field, ...]) -> str | None:
        fid = self.field_id
        for f in fields:
            if f[0] == fid:
                return f[1]
        return None


class Repeat(VarField[list[str]]):
    """A repeatable variable field (AS, AU, AF, …) as the list of its values in order."""

    repeatable = True

    def extract(self, fields: tuple[Field, ...]) -> list[str]:
        fid = self.field_id
        return [f[1] for f in fields if f[0] == fid]

    def to_wire(self, value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        return list(value)


class DateVar(VarField[SipDate | None]):
    """A variable date field (AH, CJ, CM, BW) as ``SipDate`` (raw kept), None when absent."""

    def extract(self, fields: tuple[Field, ...]) -> SipDate | None:
        fid = self.field_id
        for f in fields:
            if f[0] == fid:
                return SipDate(f[1])
        return None

    def to_wire(self, value: Any) -> list[str]:
        return [value.raw if isinstance(value, SipDate) else value]


class FlagVar(VarField[bool | None]):
    """A Y/N variable field (BL, CQ) as bool; None when absent or neither Y nor N."""

    def extract(self, fields: tuple[Field, ...]) -> bool | None:
        fid = self.field_id
        for f in fields:
            if f[0] == fid:
                return {"Y": True, "N": False}.get(f[1])
        return None

    def to_wire(self, value: Any) -> list[str]:
        if isinstance(value, bool):
            return ["Y" if value else "N"]
        return [value]
