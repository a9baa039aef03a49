"""The one translator: the SIP2 client's failures as the gateway's error tree."""

from __future__ import annotations

import pytest

from ils_gateway.adapters.sip2.errors import translate_error, translate_errors
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    GatewayError,
    NotFound,
    OutcomeUnknown,
)
from ils_gateway.sip2.client import (
    SIP2ConnectionError,
    SIP2LoginFailed,
    SIP2OutcomeUnknown,
    SIP2PoolClosed,
    SIP2ProtocolError,
    SIP2Timeout,
)
from ils_gateway.sip2.errors import FieldValueError, LocalProtocolError, SIP2ParseError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SIP2ConnectionError("refused"), BackendUnavailable),
        (SIP2LoginFailed("bad login"), BackendUnavailable),
        (SIP2Timeout("slow"), BackendUnavailable),
        (SIP2PoolClosed("closed"), BackendUnavailable),
        (ConnectionRefusedError("refused"), BackendUnavailable),
        (TimeoutError(), BackendUnavailable),
        (SIP2ProtocolError("garbled"), BackendProtocolError),
        (SIP2ParseError(3, "bad"), BackendProtocolError),
        (SIP2OutcomeUnknown("29", "reset"), OutcomeUnknown),
        (FieldValueError("AB", "contains |"), BadRequest),
    ],
)
def test_translation(error: Exception, expected: type[GatewayError]) -> None:
    translated = translate_error(error, action="29 request", retry_after=7)
    assert type(translated) is expected
    assert translated.operator_detail is not None and "29 request" in translated.operator_detail
    if isinstance(translated, BackendUnavailable):
        assert translated.retry_after == 7


def test_our_own_protocol_mistake_is_an_internal_error() -> None:
    translated = translate_error(LocalProtocolError("client", "IDLE", "x"), action="a")
    assert type(translated) is GatewayError


def test_gateway_errors_pass_through() -> None:
    with pytest.raises(NotFound), translate_errors("lookup"):
        raise NotFound()


def test_context_manager_chains_the_cause() -> None:
    with pytest.raises(OutcomeUnknown) as info, translate_errors("15 request"):
        raise SIP2OutcomeUnknown("15", "connection reset")
    assert isinstance(info.value.__cause__, SIP2OutcomeUnknown)


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(KeyError), translate_errors("x"):
        raise KeyError("bug")
