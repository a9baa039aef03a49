"""The reading-history key as the session keeps it: sealed under the server secret."""

import base64

from ils_gateway.services.mylists.session_key import SESSION_FIELD, HistoryKeySeal
from ils_gateway.store.records import UnlockedHistoryKey

KEY = UnlockedHistoryKey(3, bytes(range(32)))


def test_the_key_round_trips_and_is_not_readable_in_the_session() -> None:
    seal = HistoryKeySeal(b"server-secret-0123456789abcdef")
    extra = seal.extra_for(KEY)
    sealed = extra[SESSION_FIELD]
    assert isinstance(sealed, str)
    assert seal.from_extra(extra) == KEY
    raw = base64.urlsafe_b64decode(sealed)
    assert KEY.private_key not in raw
    assert base64.b64encode(KEY.private_key).decode() not in sealed
    assert seal.seal(KEY) != sealed  # a fresh nonce each time


def test_another_secret_or_garbage_opens_nothing() -> None:
    sealed = HistoryKeySeal(b"server-secret-0123456789abcdef").seal(KEY)
    other = HistoryKeySeal(b"another-secret-0123456789abcdef")
    assert other.open(sealed) is None
    assert other.open("not base64 at all!") is None
    assert other.open(None) is None
    assert other.from_extra({}) is None
    assert other.extra_for(None) == {SESSION_FIELD: None}
