"""The SIP2 parser's compiled helpers against their pure-Python twins (issue 17).

The whole of tests/sip2 and tests/thirdparty runs over both implementations (conftest);
these tests compare the helpers themselves, including on input the codec never passes them,
and check that the compiled module is built and used where it can be.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sip2_strategies import ANY_MESSAGE

from ils_gateway.sip2 import codec as codec_module
from ils_gateway.sip2 import speedups
from ils_gateway.sip2.codec import _TAIL, CodecSettings, encode, parse
from ils_gateway.sip2.fields import PatronStatus, SipDate
from ils_gateway.sip2.messages import Message, PatronInformationResponse
from ils_gateway.sip2.speedups import COMPILED, PURE, Speedups

needs_compiled = pytest.mark.skipif(COMPILED is None, reason="compiled helpers not built")


def _compiler_available() -> bool:
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    include = Path(sysconfig.get_paths()["include"])
    return bool(cc) and shutil.which(cc[0]) is not None and (include / "Python.h").is_file()


def _compiled() -> Speedups:
    assert COMPILED is not None
    return COMPILED


def test_the_compiled_helpers_are_built_where_a_compiler_is() -> None:
    if not _compiler_available():
        pytest.skip("no C compiler or Python.h here: the pure-Python helpers are used")
    if os.environ.get("ILS_GATEWAY_PURE_PYTHON"):
        pytest.skip("ILS_GATEWAY_PURE_PYTHON is set: the pure-Python helpers are used")
    assert COMPILED is not None, "pip install -e . should have built sip2/_speedups"
    assert speedups.DEFAULT is COMPILED


@needs_compiled
def test_the_c_module_speaks_this_version() -> None:
    module = importlib.import_module("ils_gateway.sip2._speedups")
    assert module.ABI_VERSION == speedups.ABI_VERSION
    for name in ("OP_STR", "OP_EQ", "OP_LOOKUP", "OP_NUMBER", "OP_RAW"):
        assert getattr(module, name) == getattr(speedups, name)


@needs_compiled
def test_a_build_of_another_version_or_a_pure_request_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = importlib.import_module("ils_gateway.sip2._speedups")
    assert speedups._load_compiled() is not None
    monkeypatch.setattr(module, "ABI_VERSION", speedups.ABI_VERSION + 1)
    assert speedups._load_compiled() is None
    monkeypatch.undo()
    monkeypatch.setenv("ILS_GATEWAY_PURE_PYTHON", "1")
    assert speedups._load_compiled() is None


_PIECES = st.text(alphabet="AZY|19 ポ竹é\udc81", max_size=30)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(_PIECES, st.data())
def test_split_fields_agree(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert _compiled().split_fields(text, start, end) == PURE.split_fields(text, start, end)


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_byte_sums_agree(data: bytes) -> None:
    assert _compiled().byte_sum(data) == PURE.byte_sum(data) == sum(data)


def _body(msg: Message, codec: CodecSettings, mode: int) -> object:
    frame = encode(msg, codec, terminator=False)
    text = frame.decode(codec.encoding)
    cls = type(msg)
    if cls._FIXED_RX.match(text, 2) is None:
        return "not the standard spelling"
    parse_body = _compiled().parse_body
    assert parse_body is not None
    return parse_body(cls, cls._PLAN, _TAIL, text, cls._FIXED_END, frame, mode)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(ANY_MESSAGE, st.sampled_from([CodecSettings(), CodecSettings(encoding="cp932")]))
def test_parse_body_builds_what_the_python_steps_build(msg: Message, codec: CodecSettings) -> None:
    got = _body(msg, codec, 2)
    if isinstance(got, str):
        return
    frame = encode(msg, codec)
    assert isinstance(got, Message)
    # The step-by-step parse in Python, fixed fields by the class's generated _from_text.
    before = codec_module._use_speedups(PURE)
    try:
        want = parse(frame, codec)
    finally:
        codec_module._use_speedups(before)
    assert type(got) is type(want)
    assert got == want
    assert (got.fields, got.sequence, got.checksum, got.last_field_terminated) == (
        want.fields,
        want.sequence,
        want.checksum,
        want.last_field_terminated,
    )


def _frame(*, sequence: int | None = 4, au: list[str] | None = None) -> PatronInformationResponse:
    return PatronInformationResponse.build(
        patron_status=PatronStatus(),
        transaction_date=SipDate("20240401    093000"),
        language="014",
        institution_id="竹ノ塚",
        patron_identifier="2100012345678",
        charged_items=au if au is not None else ["2100000000001", "ポケモン"],
        sequence=sequence,
    )


@needs_compiled
def test_parse_body_leaves_every_fault_to_the_python_steps() -> None:
    parse_body = _compiled().parse_body
    assert parse_body is not None
    cls = PatronInformationResponse
    good = encode(_frame(), terminator=False)

    def body(frame: bytes, mode: int) -> object:
        text = frame.decode()
        return parse_body(cls, cls._PLAN, _TAIL, text, cls._FIXED_END, frame, mode)

    assert isinstance(body(good, 2), PatronInformationResponse)
    wrong = good[:-1] + (b"0" if good[-1:] != b"0" else b"1")
    assert body(wrong, 2) is None  # checksum mismatch
    assert isinstance(body(wrong, 0), PatronInformationResponse)  # not checked
    no_trailer = encode(_frame(), CodecSettings(error_detection=False), terminator=False)
    assert body(no_trailer, 2) is None  # AZ required
    assert isinstance(body(no_trailer, 1), PatronInformationResponse)
    bad_ay = good.replace(b"AY4AZ", b"AYxAZ")
    assert body(bad_ay, 0) is None
    short = encode(_frame(), CodecSettings(error_detection=False), terminator=False) + b"|A"
    assert body(short, 0) is None


def test_the_benchmark_frame_takes_the_one_call_path(sip2_speedups: Speedups) -> None:
    sent = _frame(au=[f"21000{n:08d}" for n in range(10)])
    frame = encode(sent)
    msg = parse(frame)
    assert msg.fields == sent.fields and msg.charged_items == sent.charged_items
    assert encode(msg, keep_checksum=True) == frame
    if sip2_speedups is COMPILED:
        assert isinstance(_body(msg, CodecSettings(), 2), PatronInformationResponse)
    else:
        assert sip2_speedups.parse_body is None
