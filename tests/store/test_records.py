import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.records import ITEM_COMMENT_MAX_CHARS, checked_text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=140))
def test_comment_limit_counts_characters_not_bytes(text: str) -> None:
    normalised = unicodedata.normalize("NFC", text)
    if len(normalised) <= ITEM_COMMENT_MAX_CHARS:
        assert checked_text("comment", text, ITEM_COMMENT_MAX_CHARS) == normalised
    else:
        with pytest.raises(InvalidValue):
            checked_text("comment", text, ITEM_COMMENT_MAX_CHARS)


def test_decomposed_kana_counts_as_composed() -> None:
    decomposed = "か\u3099" * 100  # が written as か + combining dakuten: 200 code points
    assert checked_text("comment", decomposed, ITEM_COMMENT_MAX_CHARS) == "が" * 100
