"""The shared-state codec: keyed names and sealed values from the server secret (issue 15)."""

from __future__ import annotations

import hashlib

import pytest

from ils_gateway.sealing import NAMES_REMEMBERED, NONCE_BYTES, SealBroken, SealedState

SECRET = b"sealing-test-secret-0123456789"
OTHER = b"another-deployment-secret-01234"


def test_a_value_opens_under_its_own_name_only() -> None:
    sealed = SealedState(SECRET)
    box = sealed.seal("みどり 花子 1000000001".encode(), context="ilsgw:session:a")
    assert "花子".encode() not in box and b"1000000001" not in box
    assert sealed.open(box, context="ilsgw:session:a") == "みどり 花子 1000000001".encode()
    with pytest.raises(SealBroken):
        sealed.open(box, context="ilsgw:session:b")  # copied under another key


def test_each_sealing_uses_a_fresh_nonce_and_carries_its_key_id() -> None:
    sealed = SealedState(SECRET)
    one, two = (sealed.seal(b"same", context="k") for _ in range(2))
    assert one != two
    assert one[0] == sealed.key_id == 1
    assert one[1 : 1 + NONCE_BYTES] != two[1 : 1 + NONCE_BYTES]


def test_another_secret_or_a_changed_byte_does_not_open() -> None:
    box = SealedState(SECRET).seal_json({"card": "1000000001"}, context="k")
    with pytest.raises(SealBroken):
        SealedState(OTHER).open(box, context="k")
    tampered = box[:-1] + bytes([box[-1] ^ 1])
    with pytest.raises(SealBroken):
        SealedState(SECRET).open(tampered, context="k")
    with pytest.raises(SealBroken):
        SealedState(SECRET).open(box[:10], context="k")


def test_a_new_key_still_opens_what_the_older_one_sealed() -> None:
    old = SealedState(SECRET).seal_json(["kept"], context="k")
    rotated = SealedState(OTHER, key_id=2, older={1: SECRET})
    assert rotated.open_json(old, context="k") == ["kept"]
    assert rotated.seal(b"x", context="k")[0] == 2
    with pytest.raises(SealBroken, match="unknown key id"):
        SealedState(SECRET).open(rotated.seal(b"x", context="k"), context="k")


def test_names_are_keyed_stable_and_unguessable_without_the_secret() -> None:
    name = SealedState(SECRET).name("cache", "tenant", "1000000001")
    assert name == SealedState(SECRET).name("cache", "tenant", "1000000001")  # every process
    assert name != SealedState(OTHER).name("cache", "tenant", "1000000001")
    assert name != SealedState(SECRET).name("cache", "tenant", "1000000002")
    assert "1000000001" not in name
    plain = hashlib.sha256(b"cache\x00tenant\x001000000001").hexdigest()
    assert not plain.startswith(name)  # not a plain hash anyone could compute


def test_a_short_secret_or_key_id_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        SealedState(b"short")
    with pytest.raises(ValueError, match="one byte"):
        SealedState(SECRET, key_id=256)


def test_remembered_names_are_the_same_names_and_bounded() -> None:
    # Issue 17: a patron's cache scope is named on each of their requests (an HMAC each).
    sealed = SealedState(SECRET)
    fresh = SealedState(SECRET)
    parts = [("cache", f"patron:tokyo-a:{n}") for n in range(NAMES_REMEMBERED + 10)]
    first = [sealed.name(*p) for p in parts]
    assert len(sealed._named) == NAMES_REMEMBERED  # the oldest went
    again = [sealed.name(*p) for p in reversed(parts)]
    assert again[::-1] == first == [fresh.name(*p) for p in parts]
    assert len(set(first)) == len(first)
