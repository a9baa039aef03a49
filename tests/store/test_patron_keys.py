import pytest

from ils_gateway.store.patron_keys import PatronKeys


def test_keyed_hash_is_stable_secret_dependent_and_hides_the_card() -> None:
    keys = PatronKeys(b"s" * 32)
    ref = keys.ref("saitama", "0123456789")
    assert ref == keys.ref("saitama", "0123456789")
    assert "0123456789" not in ref.patron_key and len(ref.patron_key) == 64
    assert ref.patron_key != keys.ref("saitama", "0123456780").patron_key
    assert ref.patron_key != PatronKeys(b"t" * 32).ref("saitama", "0123456789").patron_key


def test_weak_secret_and_empty_card_are_refused() -> None:
    with pytest.raises(ValueError):
        PatronKeys(b"short")
    with pytest.raises(ValueError):
        PatronKeys(b"s" * 32).ref("saitama", "")
