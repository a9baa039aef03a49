"""SIP2Connection wired back to back: framing, sequence, resend logic, the state table."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sip2_wire_examples import load_examples

from ils_gateway.sip2.codec import CodecSettings, encode
from ils_gateway.sip2.connection import (
    CLOSED,
    NEED_DATA,
    TRANSITIONS,
    BadFrame,
    Event,
    RepeatedRequest,
    Role,
    SIP2Connection,
    State,
)
from ils_gateway.sip2.errors import LocalProtocolError, RemoteProtocolError, SIP2ParseError
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, SipDate
from ils_gateway.sip2.messages import (
    ACSStatus,
    CheckoutRequest,
    CheckoutResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RequestACSResend,
    RequestSCResend,
    SCStatus,
)

WHEN = SipDate("20240401    093000")
CP932 = CodecSettings(encoding="cp932")


def events(conn: SIP2Connection) -> Iterator[Event]:
    while (event := conn.next_event()) is not NEED_DATA:
        yield event
        if event is CLOSED:
            return


def deliver(data: bytes, to: SIP2Connection, how: str = "whole") -> list[Event]:
    """Feed ``data`` whole or one byte at a time, collecting every event."""
    out: list[Event] = []
    chunks = [data] if how == "whole" else [data[i : i + 1] for i in range(len(data))]
    for chunk in chunks:
        to.receive_data(chunk)
        out.extend(events(to))
    return out


def patron_status_request(card: str = "1001") -> PatronStatusRequest:
    return PatronStatusRequest.build(transaction_date=WHEN, patron_identifier=card)


def patron_status_response(name: str) -> PatronStatusResponse:
    return PatronStatusResponse.build(
        patron_status=PatronStatus(), transaction_date=WHEN, personal_name=name
    )


@pytest.mark.parametrize("how", ["whole", "bytewise"])
@pytest.mark.parametrize("settings", [CodecSettings(), CP932, CodecSettings(terminator="\r\n")])
def test_request_response_back_to_back(how: str, settings: CodecSettings) -> None:
    client = SIP2Connection(Role.CLIENT, settings)
    server = SIP2Connection(Role.SERVER, settings)
    for i in range(12):  # past the AY wrap at 9
        [request] = deliver(client.send(patron_status_request(f"card{i}")), server, how)
        assert isinstance(request, PatronStatusRequest)
        assert request.sequence == i % 10 and server.state is State.RESPONDING
        name = "ポール竹内－" + str(i)  # CP932 second byte 0x7C in three of these
        [response] = deliver(server.send(patron_status_response(name)), client, how)
        assert isinstance(response, PatronStatusResponse)
        assert response.personal_name == name and response.sequence == i % 10
        assert client.state is State.IDLE and server.state is State.IDLE


def test_trailing_bytes_and_terminator_variants() -> None:
    server = SIP2Connection(Role.SERVER, CodecSettings(error_detection=False))
    server.receive_data(b"\r\n9900402.00\n\r99")
    event = server.next_event()
    assert isinstance(event, SCStatus) and event.max_print_width == 40
    assert server.next_event() is NEED_DATA  # owes an answer first
    assert server.trailing_data == b"\r99"
    server.send(ACSStatus.build(
        online_status=True, checkin_ok=True, checkout_ok=True, acs_renewal_policy=True,
        status_update_ok=False, offline_ok=False, timeout_period=10, retries_allowed=3,
        date_time_sync=WHEN,
    ))  # fmt: skip
    assert server.next_event() is NEED_DATA
    server.receive_data(b"00402.00\r")
    assert isinstance(server.next_event(), SCStatus)


def test_reference_requests_arrive_as_events() -> None:
    server_ok = [e for e in load_examples() if e.direction == "SC->ACS" and e.checksum_ok]
    for example in server_ok:
        server = SIP2Connection(Role.SERVER)
        [event] = deliver(example.frame + b"\r\n", server, "bytewise")
        assert event.code == example.frame[:2].decode()  # type: ignore[union-attr]


def test_client_checks_sequence_echo() -> None:
    client = SIP2Connection(Role.CLIENT)
    server = SIP2Connection(Role.SERVER)
    deliver(client.send(patron_status_request()), server)  # AY0
    deliver(server.send(patron_status_response("a")), client)
    client.send(patron_status_request())  # AY1
    wrong = encode(patron_status_response("b").__class__(
        patron_status=PatronStatus(), transaction_date=WHEN, sequence=7
    ))  # fmt: skip
    with pytest.raises(RemoteProtocolError, match="echo"):
        deliver(wrong, client)
    assert client.state is State.ERROR


def test_server_answers_97_from_its_cache() -> None:
    client = SIP2Connection(Role.CLIENT)
    server = SIP2Connection(Role.SERVER)
    deliver(client.send(patron_status_request()), server)
    response = server.send(patron_status_response("山田"))
    corrupted = response.replace("山田".encode(), "山口".encode())
    [bad] = deliver(corrupted, client)
    assert isinstance(bad, BadFrame) and bad.error.field == "AZ"
    assert client.state is State.RESPONSE_UNREADABLE
    [resend_request] = deliver(client.send(RequestACSResend()), server)
    assert isinstance(resend_request, RequestACSResend)
    assert server.resend() == response
    [good] = deliver(response, client)
    assert isinstance(good, PatronStatusResponse) and good.personal_name == "山田"


def test_server_flags_a_repeated_request_instead_of_acting_twice() -> None:
    client = SIP2Connection(Role.CLIENT)
    server = SIP2Connection(Role.SERVER)
    checkout = CheckoutRequest.build(
        transaction_date=WHEN, patron_identifier="1", item_identifier="9"
    )
    request_bytes = client.send(checkout)
    [first] = deliver(request_bytes, server)
    assert isinstance(first, CheckoutRequest)
    answer = server.send(CheckoutResponse.build(
        ok=True, renewal_ok=False, transaction_date=WHEN, due_date=SipDate("20240415    235959")
    ))  # fmt: skip
    # The response is lost on the way; the SC times out and sends the same bytes again.
    assert client.resend() == request_bytes
    [again] = deliver(request_bytes, server)
    assert isinstance(again, RepeatedRequest)
    assert again.cached_response == answer and again.message == first
    assert server.resend() == answer and server.state is State.IDLE
    # A new request with the next sequence number is not a repeat.
    assert isinstance(deliver(answer, client)[0], CheckoutResponse)
    [fresh] = deliver(client.send(checkout), server)
    assert isinstance(fresh, CheckoutRequest) and fresh.sequence == 1


def test_another_request_with_the_same_sequence_and_checksum_is_not_a_repeat() -> None:
    """The AZ is a 16-bit sum: swapping two digits of a barcode keeps it. A self-check that
    does not step AY (some never do) then sends another item's checkout with the previous
    one's AY and AZ; it must be acted on, not answered with the other item's cached 12."""
    server = SIP2Connection(Role.SERVER)

    def checkout(barcode: str) -> bytes:
        request = CheckoutRequest.build(
            transaction_date=WHEN, patron_identifier="1", item_identifier=barcode
        )
        return encode(dataclasses.replace(request, sequence=1))

    first_bytes, second_bytes = checkout("2100000012"), checkout("2100000021")
    assert first_bytes[-8:] == second_bytes[-8:]  # same AY1AZxxxx
    [first] = deliver(first_bytes, server)
    assert isinstance(first, CheckoutRequest)
    server.send(CheckoutResponse.build(
        ok=True, renewal_ok=False, transaction_date=WHEN, item_identifier="2100000012",
        due_date=SipDate("20240415    235959"),
    ))  # fmt: skip
    [second] = deliver(second_bytes, server)
    assert isinstance(second, CheckoutRequest) and second.item_identifier == "2100000021"


def test_bad_request_frame_answered_with_96_then_client_resends() -> None:
    client = SIP2Connection(Role.CLIENT)
    server = SIP2Connection(Role.SERVER)
    sent = client.send(ItemInformationRequest.build(transaction_date=WHEN, item_identifier="X1"))
    [bad] = deliver(sent.replace(b"X1", b"X2"), server)
    assert isinstance(bad, BadFrame)
    ask = server.send(RequestSCResend())
    assert ask.startswith(b"96AZ") and b"AY" not in ask
    [event] = deliver(ask, client)
    assert isinstance(event, RequestSCResend) and client.state is State.RESEND_REQUESTED
    assert client.resend() == sent
    [request] = deliver(sent, server)
    assert isinstance(request, ItemInformationRequest)
    item = ItemInformationResponse.build(
        circulation_status=CirculationStatus.AVAILABLE,
        transaction_date=WHEN,
        item_identifier="X1",
    )
    [response] = deliver(server.send(item), client)
    assert isinstance(response, ItemInformationResponse)


def test_one_request_in_flight() -> None:
    client = SIP2Connection(Role.CLIENT)
    client.send(patron_status_request())
    with pytest.raises(LocalProtocolError) as info:
        client.send(patron_status_request())
    assert info.value.role == "client" and info.value.state == "awaiting response"
    with pytest.raises(LocalProtocolError):
        client.send(RequestACSResend())  # only after an unreadable response
    assert client.resend() == client.resend()  # same bytes again (after a timeout)
    assert client.state is State.AWAITING_RESPONSE
    with pytest.raises(LocalProtocolError):
        SIP2Connection(Role.CLIENT).resend()  # nothing sent yet


def test_wrong_or_unsolicited_responses_are_remote_errors() -> None:
    client = SIP2Connection(Role.CLIENT)
    with pytest.raises(RemoteProtocolError):
        deliver(encode(LoginResponse(ok=True)), client)
    client = SIP2Connection(Role.CLIENT)
    client.send(LoginRequest.build(login_user_id="sc", login_password="pw"))
    with pytest.raises(RemoteProtocolError):
        deliver(encode(patron_status_response("x")), client)
    server = SIP2Connection(Role.SERVER)
    with pytest.raises(RemoteProtocolError):
        deliver(encode(LoginResponse(ok=True)), server)


def test_server_must_answer_with_the_matching_response() -> None:
    server = SIP2Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError) as info:
        server.send(LoginResponse(ok=True))
    assert info.value.role == "server" and info.value.state == "idle"
    deliver(encode(patron_status_request()), server)
    with pytest.raises(LocalProtocolError, match="does not answer"):
        server.send(LoginResponse(ok=True))
    with pytest.raises(LocalProtocolError):
        server.send(patron_status_request())  # type: ignore[arg-type]


def test_login_required_state() -> None:
    client = SIP2Connection(Role.CLIENT, login_required=True)
    server = SIP2Connection(Role.SERVER, login_required=True)
    with pytest.raises(LocalProtocolError, match="login required"):
        client.send(patron_status_request())
    early = encode(patron_status_request())
    [request] = deliver(early, server)
    assert server.login_needed_for(request)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="login required"):
        server.send(patron_status_response("x"))
    server.send(RequestSCResend())  # the server face refuses (or closes)

    deliver(client.send(LoginRequest.build(login_user_id="sc", login_password="pw")), server)
    deliver(server.send(LoginResponse(ok=False)), client)
    assert not client.authenticated and not server.authenticated
    deliver(client.send(LoginRequest.build(login_user_id="sc", login_password="pw2")), server)
    deliver(server.send(LoginResponse(ok=True)), client)
    assert client.authenticated and server.authenticated
    [request] = deliver(client.send(patron_status_request()), server)
    assert not server.login_needed_for(request)  # type: ignore[arg-type]
    deliver(server.send(patron_status_response("ok")), client)


def test_receive_buffer_is_bounded() -> None:
    server = SIP2Connection(Role.SERVER, CodecSettings(max_frame_bytes=128))
    server.receive_data(b"23" + b"x" * 126)
    assert server.next_event() is NEED_DATA
    server.receive_data(b"x")
    with pytest.raises(SIP2ParseError) as info:
        server.next_event()
    assert info.value.field == "frame" and server.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        server.next_event()


def test_peer_close() -> None:
    server = SIP2Connection(Role.SERVER)
    server.receive_data(b"")
    assert server.next_event() is CLOSED
    server = SIP2Connection(Role.SERVER)
    server.receive_data(b"2300")
    server.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        server.next_event()


def test_error_detection_off_writes_no_trailer() -> None:
    plain = CodecSettings(error_detection=False)
    client = SIP2Connection(Role.CLIENT, plain)
    server = SIP2Connection(Role.SERVER, plain)
    sent = client.send(patron_status_request())
    assert b"AY" not in sent and b"AZ" not in sent
    [request] = deliver(sent, server)
    reply = server.send(patron_status_response("n"))
    assert b"AZ" not in reply
    assert isinstance(deliver(reply, client)[0], PatronStatusResponse)
    assert request.sequence is None  # type: ignore[union-attr]


def test_transition_table_is_consistent() -> None:
    for (role, state, _step), nxt in TRANSITIONS.items():
        assert state is not State.ERROR and nxt is not State.ERROR
        if role is Role.SERVER:
            assert {state, nxt} <= {State.IDLE, State.RESPONDING}
