"""Labels: every canonical value has English and Japanese text; tenants override Japanese."""

from __future__ import annotations

import pytest

from ils_gateway.domain.labels import DEFAULT_LABELS, LABELLED_VOCABULARIES, Labels, label_key
from ils_gateway.domain.vocab import Channel, HoldStatus, RefusalReason

ALL_VALUES = [m for enum in LABELLED_VOCABULARIES.values() for m in enum]


@pytest.mark.parametrize("value", ALL_VALUES, ids=label_key)
def test_every_value_has_both_labels(value) -> None:
    assert DEFAULT_LABELS.label(value, "en").strip()
    assert DEFAULT_LABELS.label(value, "ja").strip()


def test_english_hold_labels_are_distinct() -> None:
    texts = [DEFAULT_LABELS.label(s, "en") for s in HoldStatus]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(
    ("ready_label"),
    ["お渡しできます", "貸出可能", "提供可能"],
    ids=["saitama", "kanagawa", "nishinomiya"],
)
def test_tenant_override_for_ready(ready_label: str) -> None:
    labels = Labels({"hold_status.ready": ready_label})
    assert labels.label(HoldStatus.READY) == ready_label
    assert labels.label(HoldStatus.READY, "en") == "Ready for pickup"
    assert labels.label(HoldStatus.WAITING) == DEFAULT_LABELS.label(HoldStatus.WAITING)
    assert labels.catalog()["hold_status.ready"] == ready_label


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("hold_status.readyy", "unknown label key"),
        ("hold_state.ready", "unknown label key"),
        ("hold_status.ready", "empty"),
    ],
)
def test_bad_overrides_are_rejected(key: str, problem: str) -> None:
    text = " " if problem == "empty" else "x"
    with pytest.raises(ValueError, match=problem):
        Labels({key: text})


def test_unlabelled_vocabulary_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        DEFAULT_LABELS.label(Channel.WEB)


def test_catalog_covers_everything() -> None:
    catalog = DEFAULT_LABELS.catalog("en")
    assert len(catalog) == len(ALL_VALUES)
    assert catalog["refusal_reason.has_holds"] == DEFAULT_LABELS.label(
        RefusalReason.HAS_HOLDS, "en"
    )
