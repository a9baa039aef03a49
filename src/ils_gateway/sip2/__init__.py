"""SIP2 2.00 protocol core, sans-I/O (no sockets here; asyncio lives in ``client``/``server``).

Public API, by module (import from the submodule):

- ``sip2.messages``: one frozen class per message — ``LoginRequest`` (93) / ``LoginResponse``
  (94), ``SCStatus`` (99) / ``ACSStatus`` (98), ``PatronStatusRequest`` (23/24),
  ``PatronInformationRequest`` (63/64), ``CheckoutRequest`` (11/12), ``CheckinRequest``
  (09/10), ``BlockPatron`` (01, answered by 24), ``ItemInformationRequest`` (17/18),
  ``ItemStatusUpdateRequest`` (19/20), ``PatronEnableRequest`` (25/26), ``HoldRequest``
  (15/16), ``RenewRequest`` (29/30), ``RenewAllRequest`` (65/66), ``EndPatronSessionRequest``
  (35) / ``EndSessionResponse`` (36), ``FeePaidRequest`` (37/38), ``RequestACSResend`` (97),
  ``RequestSCResend`` (96) — each with typed fixed fields, ``fields`` (variable fields in
  wire order, unknown ones kept), named accessors (``msg.patron_identifier``,
  ``msg.charged_items``, ``msg.screen_messages``) and ``Cls.build(...)``, typed per class
  through ``sip2.build_args`` (one ``TypedDict`` per message: a checker sees each field's
  name and type). ``MESSAGE_TYPES`` maps command code → class.
- ``sip2.redaction``: ``REDACTION``, the one table of fields hidden in reprs and logs
  (passwords AC/AD/CO, the card number AA, personal AE/BD/BE/BF), ``redact``, ``mask_card``
  and ``loggable`` (a message as log keys; used by the client and the server face).
- ``sip2.fields``: ``SipDate`` (raw + ``.value``), code tables (``CirculationStatus``,
  ``FeeType``, ``SecurityMarker``, ``HoldMode``, ``PaymentType``, …), ``PatronStatus`` and
  ``Summary`` flag fields, ``MAX_FIELD_CHARS``.
- ``sip2.codec``: ``CodecSettings`` (encoding, error_detection, verify_checksum,
  checksum_basis, terminator, max_frame_bytes), ``parse(frame, settings) -> Message``,
  ``encode(message, settings, keep_checksum=False) -> bytes``.
- ``sip2.speedups``: the parser's hot helpers, ``COMPILED`` (the C extension
  ``sip2._speedups``, None when not built) and ``PURE`` (pure Python, same results);
  ``DEFAULT`` is the one ``parse`` uses.
- ``sip2.checksum``: ``ChecksumBasis``, ``checksum_of_bytes``, ``checksum_of_text``.
- ``sip2.connection``: ``SIP2Connection(role, settings)`` — ``receive_data(bytes)``,
  ``next_event()`` (a message, ``BadFrame``, ``RepeatedRequest`` or ``NEED_DATA``),
  ``send(message) -> bytes``, ``resend() -> bytes``; framing, AY sequence, checksums, the
  96/97 resend logic and the state table (one request in flight; login before patron
  and circulation messages when required).
- ``sip2.errors``: ``SIP2ParseError(offset, reason, field)`` (the only error malformed input
  raises), ``RemoteProtocolError``, ``LocalProtocolError``, ``FieldValueError``.
"""
