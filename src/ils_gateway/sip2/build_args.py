"""What each message's ``build`` takes, as one ``TypedDict`` per message class.

``Cls.build(**values)`` is typed through these (``Unpack``), so a checker sees each field's
type: fixed fields as the message class declares them (``Required`` when the class has no
default), single variable fields as ``str`` (None: left out, or written empty when the
field is required), repeatable ones as an iterable of ``str``, dates as ``SipDate`` or
their wire text, Y/N fields as bool. ``sequence`` and ``checksum`` are the AY/AZ trailer.

Kept beside the message classes by ``tests/sip2/test_build_args.py``, which checks every
key and type against the class. A caller that assembles arguments in a dict may annotate it
with one of these (``answer: CheckoutResponseArgs = {...}``) to keep it checked.
"""

# No ``from __future__ import annotations``: Python 3.11's TypedDict reads ``Required`` only
# from evaluated annotations (``__required_keys__``).
from collections.abc import Iterable
from typing import Required, TypedDict

from ils_gateway.sip2.fields import (
    CirculationStatus,
    FeeType,
    HoldMode,
    PatronStatus,
    PaymentType,
    SCStatusCode,
    SecurityMarker,
    SipDate,
    Summary,
)


class _Trailer(TypedDict, total=False):
    sequence: int | None
    """AY: the sequence digit 0-9 (None: none)."""
    checksum: str | None
    """AZ: four hex digits, normally left to the codec."""


class LoginRequestArgs(_Trailer, total=False):
    """What ``LoginRequest.build`` takes (93)."""

    uid_algorithm: str
    pwd_algorithm: str
    login_user_id: str | None
    login_password: str | None
    location_code: str | None


class LoginResponseArgs(_Trailer, total=False):
    """What ``LoginResponse.build`` takes (94)."""

    ok: Required[bool]


class SCStatusArgs(_Trailer, total=False):
    """What ``SCStatus.build`` takes (99)."""

    status_code: SCStatusCode
    max_print_width: int | None
    protocol_version: str


class ACSStatusArgs(_Trailer, total=False):
    """What ``ACSStatus.build`` takes (98)."""

    online_status: Required[bool]
    checkin_ok: Required[bool]
    checkout_ok: Required[bool]
    acs_renewal_policy: Required[bool]
    status_update_ok: Required[bool]
    offline_ok: Required[bool]
    timeout_period: Required[int | None]
    retries_allowed: Required[int | None]
    date_time_sync: Required[SipDate]
    protocol_version: str
    institution_id: str | None
    library_name: str | None
    supported_messages: str | None
    terminal_location: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class PatronStatusRequestArgs(_Trailer, total=False):
    """What ``PatronStatusRequest.build`` takes (23)."""

    language: str
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    terminal_password: str | None
    patron_password: str | None


class PatronStatusResponseArgs(_Trailer, total=False):
    """What ``PatronStatusResponse.build`` takes (24)."""

    patron_status: Required[PatronStatus]
    language: str
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    personal_name: str | None
    valid_patron: bool | None
    valid_patron_password: bool | None
    currency_type: str | None
    fee_amount: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class PatronInformationRequestArgs(_Trailer, total=False):
    """What ``PatronInformationRequest.build`` takes (63)."""

    language: str
    transaction_date: Required[SipDate]
    summary: Summary
    institution_id: str | None
    patron_identifier: str | None
    terminal_password: str | None
    patron_password: str | None
    start_item: str | None
    end_item: str | None


class PatronInformationResponseArgs(_Trailer, total=False):
    """What ``PatronInformationResponse.build`` takes (64)."""

    patron_status: Required[PatronStatus]
    language: str
    transaction_date: Required[SipDate]
    hold_items_count: int | None
    overdue_items_count: int | None
    charged_items_count: int | None
    fine_items_count: int | None
    recall_items_count: int | None
    unavailable_holds_count: int | None
    institution_id: str | None
    patron_identifier: str | None
    personal_name: str | None
    hold_items_limit: str | None
    overdue_items_limit: str | None
    charged_items_limit: str | None
    valid_patron: bool | None
    valid_patron_password: bool | None
    currency_type: str | None
    fee_amount: str | None
    fee_limit: str | None
    hold_items: Iterable[str] | None
    overdue_items: Iterable[str] | None
    charged_items: Iterable[str] | None
    fine_items: Iterable[str] | None
    recall_items: Iterable[str] | None
    unavailable_hold_items: Iterable[str] | None
    home_address: str | None
    email_address: str | None
    home_phone_number: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class PatronEnableRequestArgs(_Trailer, total=False):
    """What ``PatronEnableRequest.build`` takes (25)."""

    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    terminal_password: str | None
    patron_password: str | None


class PatronEnableResponseArgs(_Trailer, total=False):
    """What ``PatronEnableResponse.build`` takes (26)."""

    patron_status: Required[PatronStatus]
    language: str
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    personal_name: str | None
    valid_patron: bool | None
    valid_patron_password: bool | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class BlockPatronArgs(_Trailer, total=False):
    """What ``BlockPatron.build`` takes (01)."""

    card_retained: bool
    transaction_date: Required[SipDate]
    institution_id: str | None
    blocked_card_message: str | None
    patron_identifier: str | None
    terminal_password: str | None


class EndPatronSessionRequestArgs(_Trailer, total=False):
    """What ``EndPatronSessionRequest.build`` takes (35)."""

    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    terminal_password: str | None
    patron_password: str | None


class EndSessionResponseArgs(_Trailer, total=False):
    """What ``EndSessionResponse.build`` takes (36)."""

    end_session: Required[bool]
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class CheckoutRequestArgs(_Trailer, total=False):
    """What ``CheckoutRequest.build`` takes (11)."""

    sc_renewal_policy: bool
    no_block: bool
    transaction_date: Required[SipDate]
    nb_due_date: SipDate
    institution_id: str | None
    patron_identifier: str | None
    item_identifier: str | None
    terminal_password: str | None
    item_properties: str | None
    patron_password: str | None
    fee_acknowledged: str | None
    cancel: str | None


class CheckoutResponseArgs(_Trailer, total=False):
    """What ``CheckoutResponse.build`` takes (12)."""

    ok: Required[bool]
    renewal_ok: Required[bool]
    magnetic_media: bool | None
    desensitize: bool | None
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    item_identifier: str | None
    title_identifier: str | None
    due_date: SipDate | str | None
    fee_type: str | None
    security_inhibit: str | None
    currency_type: str | None
    fee_amount: str | None
    media_type: str | None
    item_properties: str | None
    transaction_id: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class CheckinRequestArgs(_Trailer, total=False):
    """What ``CheckinRequest.build`` takes (09)."""

    no_block: bool
    transaction_date: Required[SipDate]
    return_date: Required[SipDate]
    current_location: str | None
    institution_id: str | None
    item_identifier: str | None
    terminal_password: str | None
    item_properties: str | None
    cancel: str | None


class CheckinResponseArgs(_Trailer, total=False):
    """What ``CheckinResponse.build`` takes (10)."""

    ok: Required[bool]
    resensitize: Required[bool]
    magnetic_media: bool | None
    alert: bool
    transaction_date: Required[SipDate]
    institution_id: str | None
    item_identifier: str | None
    permanent_location: str | None
    title_identifier: str | None
    sort_bin: str | None
    patron_identifier: str | None
    media_type: str | None
    item_properties: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class ItemInformationRequestArgs(_Trailer, total=False):
    """What ``ItemInformationRequest.build`` takes (17)."""

    transaction_date: Required[SipDate]
    institution_id: str | None
    item_identifier: str | None
    terminal_password: str | None


class ItemInformationResponseArgs(_Trailer, total=False):
    """What ``ItemInformationResponse.build`` takes (18)."""

    circulation_status: Required[CirculationStatus]
    security_marker: SecurityMarker
    fee_type: FeeType
    transaction_date: Required[SipDate]
    hold_queue_length: str | None
    due_date: SipDate | str | None
    recall_date: SipDate | str | None
    hold_pickup_date: SipDate | str | None
    item_identifier: str | None
    title_identifier: str | None
    owner: str | None
    currency_type: str | None
    fee_amount: str | None
    media_type: str | None
    permanent_location: str | None
    current_location: str | None
    item_properties: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class ItemStatusUpdateRequestArgs(_Trailer, total=False):
    """What ``ItemStatusUpdateRequest.build`` takes (19)."""

    transaction_date: Required[SipDate]
    institution_id: str | None
    item_identifier: str | None
    terminal_password: str | None
    item_properties: str | None


class ItemStatusUpdateResponseArgs(_Trailer, total=False):
    """What ``ItemStatusUpdateResponse.build`` takes (20)."""

    item_properties_ok: Required[bool]
    transaction_date: Required[SipDate]
    item_identifier: str | None
    title_identifier: str | None
    item_properties: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class HoldRequestArgs(_Trailer, total=False):
    """What ``HoldRequest.build`` takes (15)."""

    hold_mode: Required[HoldMode]
    transaction_date: Required[SipDate]
    expiration_date: SipDate | str | None
    pickup_location: str | None
    hold_type: str | None
    institution_id: str | None
    patron_identifier: str | None
    patron_password: str | None
    item_identifier: str | None
    title_identifier: str | None
    terminal_password: str | None
    fee_acknowledged: str | None


class HoldResponseArgs(_Trailer, total=False):
    """What ``HoldResponse.build`` takes (16)."""

    ok: Required[bool]
    available: Required[bool]
    transaction_date: Required[SipDate]
    expiration_date: SipDate | str | None
    queue_position: str | None
    pickup_location: str | None
    institution_id: str | None
    patron_identifier: str | None
    item_identifier: str | None
    title_identifier: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class RenewRequestArgs(_Trailer, total=False):
    """What ``RenewRequest.build`` takes (29)."""

    third_party_allowed: bool
    no_block: bool
    transaction_date: Required[SipDate]
    nb_due_date: SipDate
    institution_id: str | None
    patron_identifier: str | None
    patron_password: str | None
    item_identifier: str | None
    title_identifier: str | None
    terminal_password: str | None
    item_properties: str | None
    fee_acknowledged: str | None


class RenewResponseArgs(_Trailer, total=False):
    """What ``RenewResponse.build`` takes (30)."""

    ok: Required[bool]
    renewal_ok: Required[bool]
    magnetic_media: bool | None
    desensitize: bool | None
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    item_identifier: str | None
    title_identifier: str | None
    due_date: SipDate | str | None
    fee_type: str | None
    security_inhibit: str | None
    currency_type: str | None
    fee_amount: str | None
    media_type: str | None
    item_properties: str | None
    transaction_id: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class RenewAllRequestArgs(_Trailer, total=False):
    """What ``RenewAllRequest.build`` takes (65)."""

    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    patron_password: str | None
    terminal_password: str | None
    fee_acknowledged: str | None


class RenewAllResponseArgs(_Trailer, total=False):
    """What ``RenewAllResponse.build`` takes (66)."""

    ok: Required[bool]
    renewed_count: int | None
    unrenewed_count: int | None
    transaction_date: Required[SipDate]
    institution_id: str | None
    renewed_items: Iterable[str] | None
    unrenewed_items: Iterable[str] | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class FeePaidRequestArgs(_Trailer, total=False):
    """What ``FeePaidRequest.build`` takes (37)."""

    transaction_date: Required[SipDate]
    fee_type: Required[FeeType]
    payment_type: Required[PaymentType]
    currency_type: str
    fee_amount: str | None
    institution_id: str | None
    patron_identifier: str | None
    terminal_password: str | None
    patron_password: str | None
    fee_identifier: str | None
    transaction_id: str | None


class FeePaidResponseArgs(_Trailer, total=False):
    """What ``FeePaidResponse.build`` takes (38)."""

    payment_accepted: Required[bool]
    transaction_date: Required[SipDate]
    institution_id: str | None
    patron_identifier: str | None
    transaction_id: str | None
    screen_messages: Iterable[str] | None
    print_lines: Iterable[str] | None


class RequestACSResendArgs(_Trailer, total=False):
    """What ``RequestACSResend.build`` takes (97)."""


class RequestSCResendArgs(_Trailer, total=False):
    """What ``RequestSCResend.build`` takes (96)."""
