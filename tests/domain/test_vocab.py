"""Vocabulary completeness: the canonical values other layers and the API rely on."""

from __future__ import annotations

from ils_gateway.domain.vocab import (
    Channel,
    ContactMethod,
    HoldStatus,
    ItemSource,
    MaterialType,
    RefusalReason,
)


def test_hold_status_is_exactly_the_requirements_table() -> None:
    assert [s.value for s in HoldStatus] == [
        "under_review",
        "ordered",
        "waiting",
        "in_transit",
        "preparing",
        "ready",
        "suspended",
        "cancelled",
        "expired",
        "fulfilled",
    ]


def test_closed_hold_statuses() -> None:
    closed = {s for s in HoldStatus if not s.is_active}
    assert closed == {HoldStatus.CANCELLED, HoldStatus.EXPIRED, HoldStatus.FULFILLED}


def test_refusal_reasons_cover_the_requirements() -> None:
    required = {
        "has_holds", "renewal_limit", "overdue", "too_overdue", "too_early",
        "interlibrary_loan", "excluded_item_type", "hold_limit", "duplicate_hold",
        "already_on_loan", "card_expired", "patron_blocked", "not_cancellable_in_state",
        "in_sequence", "non_circulating", "age_restriction", "item_overdue_blocks_holds",
        "not_modifiable_in_state", "bookmobile_contact_phone_only", "unknown",
    }  # fmt: skip
    assert required <= {r.value for r in RefusalReason}


def test_material_types_for_hold_limits() -> None:
    needed = {"book", "magazine", "cd", "cassette", "video", "dvd", "ebook", "kamishibai"}
    assert needed | {"art_reproduction", "other"} <= {m.value for m in MaterialType}
    assert MaterialType.CASSETTE.is_audiovisual and not MaterialType.BOOK.is_audiovisual
    assert not MaterialType.EBOOK.is_audiovisual


def test_small_vocabularies() -> None:
    assert {c.value for c in Channel} == {"web", "kiosk"}
    assert {s.value for s in ItemSource} == {"ils", "ebook"}
    assert {"email", "phone", "none"} <= {c.value for c in ContactMethod}
