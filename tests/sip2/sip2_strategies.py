"""Hypothesis strategies for every SIP2 message class, derived from its field declarations."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from ils_gateway.sip2 import fields as F
from ils_gateway.sip2.messages import MESSAGE_TYPES, Message

# Japanese text a CP932 library system really sends, including characters whose second
# CP932 byte is 0x7C ("|"): ポ 竹 掛 旨 榎 芸 酢 鋼 －.
JAPANESE = "ポ竹掛旨榎芸酢鋼－髙﨑①～図書館山田太郎貸出予約カード"
ASCII = "abcXYZ0189 .,-_/@#&;:"
SAFE_TEXT = st.text(alphabet=ASCII + JAPANESE, max_size=40).map(
    lambda s: unicodedata.normalize("NFC", s)
)
VENDOR_IDS = ["PE", "PS", "U1", "XI", "VN", "ZZ"]

_DATES = st.one_of(
    st.just(F.SipDate.none()),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: F.SipDate.from_datetime(d.replace(microsecond=0))
    ),
    st.builds(
        lambda d, z: F.SipDate(d.strftime("%Y%m%d") + z + d.strftime("%H%M%S")),
        st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)),
        st.sampled_from(["    ", "   Z", "0000", "+900"]),
    ),
)


def _fixed_strategy(kind: F.FixedKind) -> st.SearchStrategy[Any]:
    if isinstance(kind, F.YesNo):
        return st.sampled_from([True, False, None] if kind.unknown else [True, False])
    if isinstance(kind, F.ZeroOne):
        return st.booleans()
    if isinstance(kind, F.AnyChar):
        return st.sampled_from("0123 AZ")
    if isinstance(kind, F.Number):
        return st.one_of(st.none(), st.integers(0, 10**kind.width - 1))
    if isinstance(kind, F.EnumCode):
        return st.sampled_from(list(kind.enum))
    if isinstance(kind, F.FlagString):
        return st.text(alphabet="YN ", min_size=kind.width, max_size=kind.width).map(kind.cls)
    if isinstance(kind, F.DateField):
        return _DATES
    if kind is F.LANGUAGE:
        return st.sampled_from(["000", "001", "014"])
    if kind is F.PROTOCOL_VERSION:
        return st.sampled_from(["1.00", "2.00"])
    if kind is F.CURRENCY:
        return st.sampled_from(["JPY", "USD", "SEK", "   "])
    raise AssertionError(f"no strategy for {kind!r}")


@st.composite
def messages(draw: st.DrawFn, cls: type[Message]) -> Message:
    """Any valid message of ``cls``: random fixed values, known and vendor fields, trailer."""
    fixed = {spec.name: draw(_fixed_strategy(spec.kind)) for spec in cls.FIXED}
    ids = [a.field_id for a in cls.VARIABLE] + VENDOR_IDS
    fields = draw(st.lists(st.tuples(st.sampled_from(ids), SAFE_TEXT), max_size=12))
    resend = cls.code in ("96", "97")
    sequence = None if resend else draw(st.integers(0, 9))
    terminated = True if resend else draw(st.booleans())
    return cls(**fixed, fields=tuple(fields), sequence=sequence, last_field_terminated=terminated)


ANY_MESSAGE = st.sampled_from(sorted(MESSAGE_TYPES)).flatmap(
    lambda code: messages(MESSAGE_TYPES[code])
)
