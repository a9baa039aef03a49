"""No log line pairs a patron with an item or a title (issue 15, Secrets): that pairing is a
reading record. SIP2 frame logs carry the masked card (AA) and run inside a request whose log
context names the patron, so items and titles in frames are shown by length only; so are the
item ids in Koha's answer-mismatch lines."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import structlog

from ils_gateway.adapters.koha.answers import require_belongs
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.sip2.codec import CodecSettings, parse
from ils_gateway.sip2.redaction import loggable

ITEM, TITLE, OTHER = "ITEM-83125", "The Secret Garden", "ITEM-99771"
PLAIN = CodecSettings(error_detection=False)
FRAMES = [
    f"11YN20250602    10000020250602    100000AOlib|AA1000000001|AB{ITEM}|AC|",
    f"121NNY20250602    100000AOlib|AA1000000001|AB{ITEM}|AJ{TITLE}|AH2025-06-16|",
    f"64{' ' * 14}00120250602    100000{'0001' * 6}AOlib|AA1000000001|AEHanako|"
    f"AU{ITEM}|AU{OTHER}|AS{OTHER}|",
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f[:2])
def test_frame_logs_show_no_item_or_title(frame: str) -> None:
    message = parse(frame.encode(), PLAIN)
    shown = repr(loggable(message)) + repr(message)
    for secret in (ITEM, TITLE, OTHER):
        assert secret not in shown, shown
    assert "1000000001" not in shown


def test_koha_answer_mismatch_logs_no_item_id() -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(BackendProtocolError) as info:
        require_belongs([SimpleNamespace(item_id=OTHER)], "GET /items/{item_id}", item_id=ITEM)
    text = repr(logs) + str(info.value.operator_detail)
    assert logs and ITEM not in text and OTHER not in text
