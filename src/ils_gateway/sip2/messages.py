"""One frozen class per SIP2 2.00 message, and the registry from command code to class.

Each class lists its fixed fields as dataclass fields, in wire order, typed (bool for Y/N
and 0/1, int for counts, enums for code tables, ``SipDate`` for dates). Variable fields are
kept as ``fields``: ``(id, value)`` pairs in wire order, unknown and vendor fields included,
so that parse → encode gives back the same bytes; the known ones are read through named
accessors (``msg.patron_identifier``, ``msg.charged_items``). ``sequence`` and ``checksum``
are the AY/AZ values as received (None when absent); ``last_field_terminated`` records
whether the last variable field carried its ``|``.

Build messages with ``Cls.build(fixed=..., named_field=..., extra_fields=[...])``, which
writes known fields in specification order (required ones even when empty) and is typed
per class (``build_args``: a checker sees each field's type and name); or with
``Cls(fixed=..., fields=((id, value), ...))`` for full control. Building validates every
value (``FieldValueError``); ``|``, CR and LF are refused unless ``strip=True`` is passed
to ``build``.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Protocol,
    Self,
    TypeVar,
    Unpack,
    dataclass_transform,
)

from ils_gateway.sip2.errors import FieldValueError
from ils_gateway.sip2.fields import (
    CHAR,
    COUNT4,
    CURRENCY,
    DATE,
    LANGUAGE,
    NUMBER3,
    OK,
    PATRON_STATUS,
    PROTOCOL_VERSION,
    SUMMARY,
    YN,
    YNU,
    CirculationStatus,
    DateVar,
    EnumCode,
    FeeType,
    Field,
    FixedKind,
    FlagVar,
    HoldMode,
    PatronStatus,
    PaymentType,
    Repeat,
    SCStatusCode,
    SecurityMarker,
    SipDate,
    Summary,
    Var,
    VarField,
    check_field_value,
)
from ils_gateway.sip2.redaction import redact
from ils_gateway.sip2.speedups import PlanEntry, fixed_plan

if TYPE_CHECKING:
    from ils_gateway.sip2 import build_args as _args

__all__ = [
    "MESSAGE_TYPES",
    "ACSStatus",
    "BlockPatron",
    "CheckinRequest",
    "CheckinResponse",
    "CheckoutRequest",
    "CheckoutResponse",
    "EndPatronSessionRequest",
    "EndSessionResponse",
    "FeePaidRequest",
    "FeePaidResponse",
    "FixedSpec",
    "HoldRequest",
    "HoldResponse",
    "ItemInformationRequest",
    "ItemInformationResponse",
    "ItemStatusUpdateRequest",
    "ItemStatusUpdateResponse",
    "LoginRequest",
    "LoginResponse",
    "Message",
    "PatronEnableRequest",
    "PatronEnableResponse",
    "PatronInformationRequest",
    "PatronInformationResponse",
    "PatronStatusRequest",
    "PatronStatusResponse",
    "RenewAllRequest",
    "RenewAllResponse",
    "RenewRequest",
    "RenewResponse",
    "RequestACSResend",
    "RequestSCResend",
    "SCStatus",
    "fixed_fields",
]


@dataclass(frozen=True, slots=True)
class FixedSpec:
    """One fixed field of a message class: attribute name and wire kind, in wire order."""

    name: str
    kind: FixedKind


def _fixed(kind: FixedKind, *, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"sip2": kind})


def fixed_fields(cls: type[Message]) -> tuple[FixedSpec, ...]:
    """The fixed fields of ``cls`` in wire order."""
    return cls.FIXED


def _nfc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFC", value)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Message:
    """Base of every SIP2 message: variable fields in order plus the AY/AZ trailer."""

    code: ClassVar[str] = ""
    # "SC" for requests (self-check → ACS), "ACS" for responses.
    sender: ClassVar[str] = ""
    # For requests: the code of the response the ACS answers with (None for 97).
    response_code: ClassVar[str | None] = None
    FIXED: ClassVar[tuple[FixedSpec, ...]] = ()
    VARIABLE: ClassVar[tuple[VarField[Any], ...]] = ()
    _FIXED_NAMES: ClassVar[tuple[str, ...]] = ()
    # Hot path of the parser: the fixed fields' bound readers, precomputed per class.
    _READERS: ClassVar[tuple[Callable[[str, int], tuple[Any, int]], ...]] = ()
    # Faster still, for the standard spelling of every fixed field (``_compile_fast_path``):
    # one pattern matching them all from offset 2, the offset where they end, and a
    # constructor reading them straight from the frame's text.
    # (Until a class's first frame is parsed, ``_FIXED_RX`` is a stand-in that compiles all
    # three, ``_FastPathOnFirstUse``; ``_FIXED_END`` is right from the start.)
    _FIXED_RX: ClassVar[FixedMatcher] = re.compile("")
    _FIXED_END: ClassVar[int] = 2
    _from_text: ClassVar[Callable[[str, tuple[Field, ...], int | None, str | None, bool], Message]]
    # The same constructor as a table for the compiled parser helpers (speedups.fixed_plan).
    _PLAN: ClassVar[tuple[PlanEntry, ...]] = ()
    _BY_NAME: ClassVar[dict[str, VarField[Any]]] = {}

    fields: tuple[Field, ...] = ()
    """Variable fields as (id, value) pairs in wire order, unknown ones included."""
    sequence: int | None = None
    """AY sequence digit as received or to be written; None when absent."""
    checksum: str | None = None
    """AZ checksum as received (four hex digits); None when absent."""
    last_field_terminated: bool = True
    """Whether the last variable field ended with ``|`` (real ACSs sometimes omit it)."""

    def __post_init__(self) -> None:
        for spec in self.FIXED:
            spec.kind.write(spec.name, getattr(self, spec.name))
        checked = []
        for item in self.fields:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise FieldValueError("fields", "each field must be an (id, value) pair")
            fid, value = item
            if not isinstance(fid, str) or len(fid) != 2 or not fid.isascii() or "|" in fid:
                raise FieldValueError(str(fid), "field id must be two ASCII characters")
            if not fid.isprintable():
                raise FieldValueError(repr(fid), "field id must be printable")
            checked.append((fid, _nfc(check_field_value(fid, value))))
        object.__setattr__(self, "fields", tuple(checked))
        if self.sequence is not None and (
            isinstance(self.sequence, bool)
            or not isinstance(self.sequence, int)
            or not 0 <= self.sequence <= 9
        ):
            raise FieldValueError("AY", "sequence must be a digit 0-9")
        if self.checksum is not None and (
            not isinstance(self.checksum, str)
            or len(self.checksum) != 4
            or not all(c in "0123456789ABCDEFabcdef" for c in self.checksum)
        ):
            raise FieldValueError("AZ", "checksum must be four hex digits")

    @classmethod
    def _build(
        cls,
        *,
        strip: bool = False,
        extra_fields: Iterable[Field] = (),
        **values: Any,
    ) -> Self:
        """Build a message from fixed-field and named variable-field values.

        Known variable fields are written in specification order, required ones even when
        not given or given as None (empty); repeatable ones take a list; ``extra_fields``
        (vendor fields) go after them. With ``strip=True``, ``|``, CR and LF are removed from
        values instead of being refused.
        """
        fixed = {name: values.pop(name) for name in cls._FIXED_NAMES if name in values}
        fields: list[Field] = []
        for accessor in cls.VARIABLE:
            if accessor.name in values:
                value = values.pop(accessor.name)
                if value is None:
                    if accessor.required:  # required fields travel even when empty (AC in 11)
                        fields.append((accessor.field_id, ""))
                    continue
                fid = accessor.field_id
                for v in accessor.to_wire(value):
                    fields.append((fid, check_field_value(fid, v, strip=strip)))
            elif accessor.required:
                fields.append((accessor.field_id, ""))
        for fid, v in extra_fields:
            fields.append((fid, check_field_value(fid, v, strip=strip)))
        trailer = {k: values.pop(k) for k in ("sequence", "checksum") if k in values}
        if values:
            raise TypeError(f"{cls.__name__}.build() got unknown fields: {sorted(values)}")
        return cls(**fixed, **trailer, fields=tuple(fields))

    if not TYPE_CHECKING:
        # Each message class declares a typed ``build`` for checkers (``build_args``); they
        # all run this one.
        build = _build

    @classmethod
    def _from_wire(
        cls,
        values: list[Any],
        fields: tuple[Field, ...],
        sequence: int | None,
        checksum: str | None,
        terminated: bool,
    ) -> Self:
        # The parser has already validated everything: skip __post_init__ (hot path).
        obj = object.__new__(cls)
        setattr_ = object.__setattr__
        for name, value in zip(cls._FIXED_NAMES, values, strict=True):
            setattr_(obj, name, value)
        setattr_(obj, "fields", fields)
        setattr_(obj, "sequence", sequence)
        setattr_(obj, "checksum", checksum)
        setattr_(obj, "last_field_terminated", terminated)
        return obj

    def get(self, field_id: str) -> str | None:
        """The first value of variable field ``field_id``, or None."""
        for f in self.fields:
            if f[0] == field_id:
                return f[1]
        return None

    def get_all(self, field_id: str) -> list[str]:
        """Every value of variable field ``field_id``, in order."""
        return [f[1] for f in self.fields if f[0] == field_id]

    @property
    def unknown_fields(self) -> list[Field]:
        """Fields this message class does not name (vendor extensions), in order."""
        known = {a.field_id for a in self.VARIABLE}
        return [f for f in self.fields if f[0] not in known]

    def __repr__(self) -> str:
        fixed = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._FIXED_NAMES)
        var = ", ".join(f"{fid}={redact(fid, v)!r}" for fid, v in self.fields)
        parts = [p for p in (fixed, var) if p]
        if self.sequence is not None:
            parts.append(f"AY={self.sequence}")
        return f"{type(self).__name__}({', '.join(parts)})"


_M = TypeVar("_M", bound=Message)

MESSAGE_TYPES: dict[str, type[Message]] = {}
"""Registry: command code → message class."""


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(_fixed,))
def _message(
    code: str, sender: str, response_code: str | None = None
) -> Callable[[type[_M]], type[_M]]:
    """Make ``cls`` a frozen keyword-only dataclass and register it as message ``code``."""

    def register(cls: type[_M]) -> type[_M]:
        cls = dataclass(frozen=True, slots=True, kw_only=True, repr=False)(cls)
        cls.code = code
        cls.sender = sender
        cls.response_code = response_code
        fixed = tuple(
            FixedSpec(f.name, f.metadata["sip2"])
            for f in dataclasses.fields(cls)
            if "sip2" in f.metadata
        )
        cls.FIXED = fixed
        cls._FIXED_NAMES = tuple(s.name for s in fixed)
        cls._READERS = tuple(s.kind.read for s in fixed)
        cls._FIXED_END = 2 + sum(s.kind.width for s in fixed)
        cls._FIXED_RX = _FastPathOnFirstUse(cls)
        cls._from_text = _from_text_on_first_use(cls)
        cls._PLAN = fixed_plan(cls, [(s.name, s.kind) for s in fixed])
        cls.VARIABLE = tuple(v for v in vars(cls).values() if isinstance(v, VarField))
        cls._BY_NAME = {v.name: v for v in cls.VARIABLE}
        if code in MESSAGE_TYPES:
            raise RuntimeError(f"duplicate SIP2 message code {code}")
        MESSAGE_TYPES[code] = cls
        return cls

    return register


class FixedMatcher(Protocol):
    """What the parser asks of ``Message._FIXED_RX``: ``re.Pattern.match``."""

    def match(self, string: str, pos: int = 0) -> re.Match[str] | None: ...


class _FastPathOnFirstUse:
    """A message class's ``_FIXED_RX`` until its first frame: compiles the class's fast path
    (``_compile_fast_path``: a pattern and a generated constructor; about 8 ms of CPU for the
    31 classes, at every start, for classes a process may never receive; issue 17), installs
    it on the class and matches with it. From then on the class holds the pattern itself."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[Message]) -> None:
        self.cls = cls

    def match(self, string: str, pos: int = 0) -> re.Match[str] | None:
        return _install_fast_path(self.cls).match(string, pos)


def _from_text_on_first_use(
    cls: type[Message],
) -> Callable[[str, tuple[Field, ...], int | None, str | None, bool], Message]:
    """``cls._from_text`` until the fast path is installed (the parser calls it only after a
    ``_FIXED_RX`` match, which installs it; this covers any other caller)."""

    def from_text(
        text: str,
        fields: tuple[Field, ...],
        sequence: int | None,
        checksum: str | None,
        terminated: bool,
    ) -> Message:
        _install_fast_path(cls)
        return cls._from_text(text, fields, sequence, checksum, terminated)

    return from_text


def _install_fast_path(cls: type[Message]) -> re.Pattern[str]:
    pattern, end, from_text = _compile_fast_path(cls)
    if end != cls._FIXED_END:  # pragma: no cover - both are the fixed fields' widths
        raise RuntimeError(f"{cls.__name__}: fixed fields end at {end}, not {cls._FIXED_END}")
    cls._FIXED_RX, cls._from_text = pattern, from_text
    return pattern


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor for ``name`` on ``cls`` or the nearest base defining it."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    raise AttributeError(name)


def _compile_fast_path(
    cls: type[Message],
) -> tuple[
    re.Pattern[str],
    int,
    Callable[[str, tuple[Field, ...], int | None, str | None, bool], Message],
]:
    """The parser's fast path for ``cls``: a pattern for the standard spelling of all its
    fixed fields, the offset where they end, and a constructor that reads them from the text
    at their fixed offsets and fills the instance without ``__post_init__``.

    The constructor is generated source (as ``dataclasses`` generates ``__init__``), one
    statement per fixed field, each slot set through its descriptor, e.g. for a 64::

        obj = _new(_cls)
        v = text[2:16]
        _set_patron_status(obj, _unchecked(_k0, v))
        v = text[16:19]
        _set_language(obj, v)
        ...
        v = text[37:41]
        _set_hold_items_count(obj, (None if v == '    ' else int(v)))
        ...
        _set_fields(obj, fields)

    Each kind's ``pattern`` admits only spellings its ``read`` takes whole, with the value
    its ``convert_source`` gives, so a frame the pattern matches parses to the same object
    either way (tests/sip2/test_codec_fast_path.py checks both on random frames).
    """
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    patterns = []
    lines = [
        "def _from_text(text, fields, sequence, checksum, terminated):",
        "    obj = _new(_cls)",
    ]

    def setter(name: str) -> str:
        # The slot's own descriptor: sets a frozen dataclass's field without its __setattr__.
        env[f"_set_{name}"] = _slot(cls, name).__set__
        return f"_set_{name}"

    pos = 2
    for i, spec in enumerate(cls.FIXED):
        kind = spec.kind
        patterns.append(kind.pattern)
        value = kind.convert_source("v", env, f"_k{i}")
        lines.append(f"    v = text[{pos}:{pos + kind.width}]")
        lines.append(f"    {setter(spec.name)}(obj, {value})")
        pos += kind.width
    for name in ("fields", "sequence", "checksum"):
        lines.append(f"    {setter(name)}(obj, {name})")
    lines.append(f"    {setter('last_field_terminated')}(obj, terminated)")
    lines.append("    return obj")
    exec("\n".join(lines), env)  # source built above from the class's own field specs
    return re.compile("".join(patterns)), pos, env["_from_text"]


# Shared accessor factories, so every class names a field the same way.
def _ao() -> Var:
    return Var("AO", required=True)


def _aa() -> Var:
    return Var("AA", required=True)


# --- 93/94 login, 99/98 status ---------------------------------------------------------


@_message("93", "SC", "94")
class LoginRequest(Message):
    """93 Login: the SC logs in to the ACS with a user id and password."""

    uid_algorithm: str = _fixed(CHAR, default="0")
    pwd_algorithm: str = _fixed(CHAR, default="0")
    login_user_id = Var("CN", required=True)
    login_password = Var("CO", required=True)
    location_code = Var("CP")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.LoginRequestArgs],
        ) -> Self: ...


@_message("94", "ACS")
class LoginResponse(Message):
    """94 Login Response: whether the login was accepted."""

    ok: bool = _fixed(OK)

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.LoginResponseArgs],
        ) -> Self: ...


@_message("99", "SC", "98")
class SCStatus(Message):
    """99 SC Status: the SC reports its state and asks for the ACS's (also a keep-alive)."""

    status_code: SCStatusCode = _fixed(EnumCode(SCStatusCode, 1), default=SCStatusCode.OK)
    max_print_width: int | None = _fixed(NUMBER3, default=0)
    protocol_version: str = _fixed(PROTOCOL_VERSION, default="2.00")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.SCStatusArgs],
        ) -> Self: ...


@_message("98", "ACS")
class ACSStatus(Message):
    """98 ACS Status: what the ACS is willing to do, and which messages it supports (BX)."""

    online_status: bool = _fixed(YN)
    checkin_ok: bool = _fixed(YN)
    checkout_ok: bool = _fixed(YN)
    acs_renewal_policy: bool = _fixed(YN)
    status_update_ok: bool = _fixed(YN)
    offline_ok: bool = _fixed(YN)
    timeout_period: int | None = _fixed(NUMBER3)
    retries_allowed: int | None = _fixed(NUMBER3)
    date_time_sync: SipDate = _fixed(DATE)
    protocol_version: str = _fixed(PROTOCOL_VERSION, default="2.00")
    institution_id = _ao()
    library_name = Var("AM")
    supported_messages = Var("BX", required=True)
    terminal_location = Var("AN")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.ACSStatusArgs],
        ) -> Self: ...


# --- patron status, information, enable, block, end session -----------------------------


@_message("23", "SC", "24")
class PatronStatusRequest(Message):
    """23 Patron Status Request: is this card valid, and is the patron blocked."""

    language: str = _fixed(LANGUAGE, default="000")
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    terminal_password = Var("AC", required=True)
    patron_password = Var("AD", required=True)

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronStatusRequestArgs],
        ) -> Self: ...


@_message("24", "ACS")
class PatronStatusResponse(Message):
    """24 Patron Status Response (also the answer to 01 Block Patron)."""

    patron_status: PatronStatus = _fixed(PATRON_STATUS)
    language: str = _fixed(LANGUAGE, default="000")
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    personal_name = Var("AE", required=True)
    valid_patron = FlagVar("BL")
    valid_patron_password = FlagVar("CQ")
    currency_type = Var("BH")
    fee_amount = Var("BV")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronStatusResponseArgs],
        ) -> Self: ...


@_message("63", "SC", "64")
class PatronInformationRequest(Message):
    """63 Patron Information: the patron's record and, per ``summary``, one list of items."""

    language: str = _fixed(LANGUAGE, default="000")
    transaction_date: SipDate = _fixed(DATE)
    summary: Summary = _fixed(SUMMARY, default=Summary())
    institution_id = _ao()
    patron_identifier = _aa()
    terminal_password = Var("AC")
    patron_password = Var("AD")
    start_item = Var("BP")
    end_item = Var("BQ")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronInformationRequestArgs],
        ) -> Self: ...


@_message("64", "ACS")
class PatronInformationResponse(Message):
    """64 Patron Information Response: counts, limits, contact data and item lists."""

    patron_status: PatronStatus = _fixed(PATRON_STATUS)
    language: str = _fixed(LANGUAGE, default="000")
    transaction_date: SipDate = _fixed(DATE)
    hold_items_count: int | None = _fixed(COUNT4, default=0)
    overdue_items_count: int | None = _fixed(COUNT4, default=0)
    charged_items_count: int | None = _fixed(COUNT4, default=0)
    fine_items_count: int | None = _fixed(COUNT4, default=0)
    recall_items_count: int | None = _fixed(COUNT4, default=0)
    unavailable_holds_count: int | None = _fixed(COUNT4, default=0)
    institution_id = _ao()
    patron_identifier = _aa()
    personal_name = Var("AE", required=True)
    hold_items_limit = Var("BZ")
    overdue_items_limit = Var("CA")
    charged_items_limit = Var("CB")
    valid_patron = FlagVar("BL")
    valid_patron_password = FlagVar("CQ")
    currency_type = Var("BH")
    fee_amount = Var("BV")
    fee_limit = Var("CC")
    hold_items = Repeat("AS")
    overdue_items = Repeat("AT")
    charged_items = Repeat("AU")
    fine_items = Repeat("AV")
    recall_items = Repeat("BU")
    unavailable_hold_items = Repeat("CD")
    home_address = Var("BD")
    email_address = Var("BE")
    home_phone_number = Var("BF")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronInformationResponseArgs],
        ) -> Self: ...


@_message("25", "SC", "26")
class PatronEnableRequest(Message):
    """25 Patron Enable: lift a block the SC placed."""

    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    terminal_password = Var("AC")
    patron_password = Var("AD")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronEnableRequestArgs],
        ) -> Self: ...


@_message("26", "ACS")
class PatronEnableResponse(Message):
    """26 Patron Enable Response: the patron's status after the enable."""

    patron_status: PatronStatus = _fixed(PATRON_STATUS)
    language: str = _fixed(LANGUAGE, default="000")
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    personal_name = Var("AE", required=True)
    valid_patron = FlagVar("BL")
    valid_patron_password = FlagVar("CQ")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.PatronEnableResponseArgs],
        ) -> Self: ...


@_message("01", "SC", "24")
class BlockPatron(Message):
    """01 Block Patron: the SC blocks a card (e.g. retained); answered by 24."""

    card_retained: bool = _fixed(YN, default=False)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    blocked_card_message = Var("AL", required=True)
    patron_identifier = _aa()
    terminal_password = Var("AC", required=True)

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.BlockPatronArgs],
        ) -> Self: ...


@_message("35", "SC", "36")
class EndPatronSessionRequest(Message):
    """35 End Patron Session: the patron is done at the SC."""

    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    terminal_password = Var("AC")
    patron_password = Var("AD")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.EndPatronSessionRequestArgs],
        ) -> Self: ...


@_message("36", "ACS")
class EndSessionResponse(Message):
    """36 End Session Response: whether the ACS ended the patron session."""

    end_session: bool = _fixed(YN)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.EndSessionResponseArgs],
        ) -> Self: ...


# --- circulation ----------------------------------------------------------------------


@_message("11", "SC", "12")
class CheckoutRequest(Message):
    """11 Checkout: lend an item to a patron."""

    sc_renewal_policy: bool = _fixed(YN, default=False)
    no_block: bool = _fixed(YN, default=False)
    transaction_date: SipDate = _fixed(DATE)
    nb_due_date: SipDate = _fixed(DATE, default=SipDate.none())
    institution_id = _ao()
    patron_identifier = _aa()
    item_identifier = Var("AB", required=True)
    terminal_password = Var("AC", required=True)
    item_properties = Var("CH")
    patron_password = Var("AD")
    fee_acknowledged = Var("BO")
    cancel = Var("BI")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.CheckoutRequestArgs],
        ) -> Self: ...


@_message("12", "ACS")
class CheckoutResponse(Message):
    """12 Checkout Response: whether the loan was made, and its due date (AH)."""

    ok: bool = _fixed(OK)
    renewal_ok: bool = _fixed(YN)
    magnetic_media: bool | None = _fixed(YNU, default=None)
    desensitize: bool | None = _fixed(YNU, default=None)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    item_identifier = Var("AB", required=True)
    title_identifier = Var("AJ", required=True)
    due_date = DateVar("AH", required=True)
    fee_type = Var("BT")
    security_inhibit = Var("CI")
    currency_type = Var("BH")
    fee_amount = Var("BV")
    media_type = Var("CK")
    item_properties = Var("CH")
    transaction_id = Var("BK")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.CheckoutResponseArgs],
        ) -> Self: ...


@_message("09", "SC", "10")
class CheckinRequest(Message):
    """09 Checkin: return an item."""

    no_block: bool = _fixed(YN, default=False)
    transaction_date: SipDate = _fixed(DATE)
    return_date: SipDate = _fixed(DATE)
    current_location = Var("AP", required=True)
    institution_id = _ao()
    item_identifier = Var("AB", required=True)
    terminal_password = Var("AC", required=True)
    item_properties = Var("CH")
    cancel = Var("BI")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.CheckinRequestArgs],
        ) -> Self: ...


@_message("10", "ACS")
class CheckinResponse(Message):
    """10 Checkin Response: whether the return was accepted, where the item goes."""

    ok: bool = _fixed(OK)
    resensitize: bool = _fixed(YN)
    magnetic_media: bool | None = _fixed(YNU, default=None)
    alert: bool = _fixed(YN, default=False)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    item_identifier = Var("AB", required=True)
    permanent_location = Var("AQ", required=True)
    title_identifier = Var("AJ")
    sort_bin = Var("CL")
    patron_identifier = Var("AA")
    media_type = Var("CK")
    item_properties = Var("CH")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.CheckinResponseArgs],
        ) -> Self: ...


@_message("17", "SC", "18")
class ItemInformationRequest(Message):
    """17 Item Information: ask about one item."""

    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    item_identifier = Var("AB", required=True)
    terminal_password = Var("AC")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.ItemInformationRequestArgs],
        ) -> Self: ...


@_message("18", "ACS")
class ItemInformationResponse(Message):
    """18 Item Information Response: circulation status, due date, locations, queue."""

    circulation_status: CirculationStatus = _fixed(EnumCode(CirculationStatus, 2))
    security_marker: SecurityMarker = _fixed(
        EnumCode(SecurityMarker, 2), default=SecurityMarker.NONE
    )
    fee_type: FeeType = _fixed(EnumCode(FeeType, 2), default=FeeType.OTHER)
    transaction_date: SipDate = _fixed(DATE)
    hold_queue_length = Var("CF")
    due_date = DateVar("AH")
    recall_date = DateVar("CJ")
    hold_pickup_date = DateVar("CM")
    item_identifier = Var("AB", required=True)
    title_identifier = Var("AJ", required=True)
    owner = Var("BG")
    currency_type = Var("BH")
    fee_amount = Var("BV")
    media_type = Var("CK")
    permanent_location = Var("AQ")
    current_location = Var("AP")
    item_properties = Var("CH")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.ItemInformationResponseArgs],
        ) -> Self: ...


@_message("19", "SC", "20")
class ItemStatusUpdateRequest(Message):
    """19 Item Status Update: change an item's properties (CH)."""

    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    item_identifier = Var("AB", required=True)
    terminal_password = Var("AC")
    item_properties = Var("CH", required=True)

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.ItemStatusUpdateRequestArgs],
        ) -> Self: ...


@_message("20", "ACS")
class ItemStatusUpdateResponse(Message):
    """20 Item Status Update Response: whether the properties were stored."""

    item_properties_ok: bool = _fixed(OK)
    transaction_date: SipDate = _fixed(DATE)
    item_identifier = Var("AB", required=True)
    title_identifier = Var("AJ")
    item_properties = Var("CH")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.ItemStatusUpdateResponseArgs],
        ) -> Self: ...


@_message("15", "SC", "16")
class HoldRequest(Message):
    """15 Hold: place (+), cancel (-) or change (*) a hold."""

    hold_mode: HoldMode = _fixed(EnumCode(HoldMode, 1))
    transaction_date: SipDate = _fixed(DATE)
    expiration_date = DateVar("BW")
    pickup_location = Var("BS")
    hold_type = Var("BY")
    institution_id = _ao()
    patron_identifier = _aa()
    patron_password = Var("AD")
    item_identifier = Var("AB")
    title_identifier = Var("AJ")
    terminal_password = Var("AC")
    fee_acknowledged = Var("BO")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.HoldRequestArgs],
        ) -> Self: ...


@_message("16", "ACS")
class HoldResponse(Message):
    """16 Hold Response: whether the hold was placed, queue position, pickup location."""

    ok: bool = _fixed(OK)
    available: bool = _fixed(YN)
    transaction_date: SipDate = _fixed(DATE)
    expiration_date = DateVar("BW")
    queue_position = Var("BR")
    pickup_location = Var("BS")
    institution_id = _ao()
    patron_identifier = _aa()
    item_identifier = Var("AB")
    title_identifier = Var("AJ")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.HoldResponseArgs],
        ) -> Self: ...


@_message("29", "SC", "30")
class RenewRequest(Message):
    """29 Renew: renew one loan."""

    third_party_allowed: bool = _fixed(YN, default=False)
    no_block: bool = _fixed(YN, default=False)
    transaction_date: SipDate = _fixed(DATE)
    nb_due_date: SipDate = _fixed(DATE, default=SipDate.none())
    institution_id = _ao()
    patron_identifier = _aa()
    patron_password = Var("AD")
    item_identifier = Var("AB")
    title_identifier = Var("AJ")
    terminal_password = Var("AC")
    item_properties = Var("CH")
    fee_acknowledged = Var("BO")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RenewRequestArgs],
        ) -> Self: ...


@_message("30", "ACS")
class RenewResponse(Message):
    """30 Renew Response: whether the loan was renewed and its new due date (AH)."""

    ok: bool = _fixed(OK)
    renewal_ok: bool = _fixed(YN)
    magnetic_media: bool | None = _fixed(YNU, default=None)
    desensitize: bool | None = _fixed(YNU, default=None)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    item_identifier = Var("AB", required=True)
    title_identifier = Var("AJ", required=True)
    due_date = DateVar("AH", required=True)
    fee_type = Var("BT")
    security_inhibit = Var("CI")
    currency_type = Var("BH")
    fee_amount = Var("BV")
    media_type = Var("CK")
    item_properties = Var("CH")
    transaction_id = Var("BK")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RenewResponseArgs],
        ) -> Self: ...


@_message("65", "SC", "66")
class RenewAllRequest(Message):
    """65 Renew All: renew every loan of the patron."""

    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    patron_password = Var("AD")
    terminal_password = Var("AC")
    fee_acknowledged = Var("BO")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RenewAllRequestArgs],
        ) -> Self: ...


@_message("66", "ACS")
class RenewAllResponse(Message):
    """66 Renew All Response: counts and lists of renewed and unrenewed items."""

    ok: bool = _fixed(OK)
    renewed_count: int | None = _fixed(COUNT4, default=0)
    unrenewed_count: int | None = _fixed(COUNT4, default=0)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    renewed_items = Repeat("BM")
    unrenewed_items = Repeat("BN")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RenewAllResponseArgs],
        ) -> Self: ...


@_message("37", "SC", "38")
class FeePaidRequest(Message):
    """37 Fee Paid: record a payment."""

    transaction_date: SipDate = _fixed(DATE)
    fee_type: FeeType = _fixed(EnumCode(FeeType, 2))
    payment_type: PaymentType = _fixed(EnumCode(PaymentType, 2))
    currency_type: str = _fixed(CURRENCY, default="JPY")
    fee_amount = Var("BV", required=True)
    institution_id = _ao()
    patron_identifier = _aa()
    terminal_password = Var("AC")
    patron_password = Var("AD")
    fee_identifier = Var("CG")
    transaction_id = Var("BK")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.FeePaidRequestArgs],
        ) -> Self: ...


@_message("38", "ACS")
class FeePaidResponse(Message):
    """38 Fee Paid Response: whether the payment was accepted."""

    payment_accepted: bool = _fixed(YN)
    transaction_date: SipDate = _fixed(DATE)
    institution_id = _ao()
    patron_identifier = _aa()
    transaction_id = Var("BK")
    screen_messages = Repeat("AF")
    print_lines = Repeat("AG")

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.FeePaidResponseArgs],
        ) -> Self: ...


# --- error detection --------------------------------------------------------------------


@_message("97", "SC")
class RequestACSResend(Message):
    """97 Request ACS Resend: the SC could not read the last response (AZ only, no AY)."""

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RequestACSResendArgs],
        ) -> Self: ...


@_message("96", "ACS")
class RequestSCResend(Message):
    """96 Request SC Resend: the ACS could not read the last request (AZ only, no AY)."""

    if TYPE_CHECKING:

        @classmethod
        def build(
            cls,
            *,
            strip: bool = ...,
            extra_fields: Iterable[Field] = ...,
            **values: Unpack[_args.RequestSCResendArgs],
        ) -> Self: ...
