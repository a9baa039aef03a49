"""The error tree: one parametrized test over every class, and the module's public names."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from ils_gateway.domain import errors
from ils_gateway.domain.vocab import BlockReason, Channel, Feature, RefusalReason

ALL_ERRORS = [
    obj
    for _, obj in inspect.getmembers(errors, inspect.isclass)
    if issubclass(obj, errors.GatewayError)
]

# The contract from docs/architecture.md: class -> (parent, status, type slug).
CONTRACT = {
    "GatewayError": (Exception, 500, "internal-error"),
    "BadRequest": ("GatewayError", 400, "bad-request"),
    "AuthenticationFailed": ("GatewayError", 401, "authentication-failed"),
    "SessionExpired": ("GatewayError", 401, "session-expired"),
    "PatronBlocked": ("GatewayError", 403, "patron-blocked"),
    "PasswordChangeRequired": ("GatewayError", 403, "password-change-required"),
    "PasswordRejected": ("GatewayError", 400, "password-rejected"),
    "FeatureDisabled": ("GatewayError", 403, "feature-disabled"),
    "PasswordChangeElsewhere": ("FeatureDisabled", 403, "password-change-elsewhere"),
    "NotFound": ("GatewayError", 404, "not-found"),
    "Conflict": ("GatewayError", 409, "conflict"),
    "Refused": ("GatewayError", 422, "refused"),
    "RenewalRefused": ("Refused", 422, "renewal-refused"),
    "HoldRefused": ("Refused", 422, "hold-refused"),
    "CancelRefused": ("Refused", 422, "cancel-refused"),
    "AccountChangeRefused": ("Refused", 422, "account-change-refused"),
    "InvalidField": ("BadRequest", 400, "invalid-field"),
    "LinkInvalid": ("GatewayError", 410, "link-invalid"),
    "MaintenanceWindow": ("GatewayError", 503, "maintenance"),
    "BackendUnavailable": ("GatewayError", 503, "backend-unavailable"),
    "SearchUnavailable": ("GatewayError", 501, "search-unavailable"),
    "BackendProtocolError": ("GatewayError", 502, "backend-error"),
    "OutcomeUnknown": ("GatewayError", 504, "outcome-unknown"),
}


def _example(cls: type[errors.GatewayError]) -> errors.GatewayError:
    if issubclass(cls, errors.Refused):
        return cls(RefusalReason.HAS_HOLDS, backend_message="予約があります")
    if cls is errors.PatronBlocked:
        return cls([BlockReason.CARD_EXPIRED])
    if cls is errors.FeatureDisabled:
        return cls(Feature.BOOKSHELVES, Channel.KIOSK)
    if cls is errors.PasswordChangeElsewhere:
        return cls("https://library.example.jp/pw", operator_detail="upstream said: secret stuff")
    if cls is errors.InvalidField:
        return cls("email", operator_detail="upstream said: secret stuff")
    if cls is errors.MaintenanceWindow:
        return cls(datetime(2025, 1, 1, 4, 20, tzinfo=UTC))
    return cls(operator_detail="upstream said: secret stuff")


def test_public_names_are_pinned() -> None:
    assert sorted(errors.__all__) == sorted(set(CONTRACT))
    assert {c.__name__ for c in ALL_ERRORS} == set(CONTRACT)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_each_error_matches_the_contract(cls: type[errors.GatewayError]) -> None:
    parent, status, slug = CONTRACT[cls.__name__]
    parent_cls = parent if isinstance(parent, type) else getattr(errors, parent)
    assert cls.__bases__ == (parent_cls,)
    assert (cls.status, cls.type_slug) == (status, slug)
    assert cls.title and cls.__doc__
    error = _example(cls)
    assert error.detail  # a patron-readable sentence, never empty
    assert all(isinstance(k, str) for k in error.extensions())
    assert "secret" not in error.detail


def test_type_slugs_and_titles_are_unique() -> None:
    slugs = [c.type_slug for c in ALL_ERRORS]
    titles = [c.title for c in ALL_ERRORS]
    assert len(set(slugs)) == len(slugs)
    assert len(set(titles)) == len(titles)


def test_tree_is_drawn_in_module_docstring() -> None:
    for name in CONTRACT:
        assert name in (errors.__doc__ or "")


def test_extension_members() -> None:
    refused = errors.RenewalRefused(RefusalReason.TOO_EARLY, backend_message="too_soon")
    assert refused.extensions() == {"reason": "too_early", "backend_message": "too_soon"}
    blocked = errors.PatronBlocked([BlockReason.OVERDUE_ITEMS, BlockReason.CARD_UNUSED])
    assert blocked.extensions() == {"blocks": ["overdue_items", "card_unused"]}
    disabled = errors.FeatureDisabled(Feature.READING_HISTORY, Channel.KIOSK)
    assert disabled.extensions() == {"feature": "reading_history", "channel": "kiosk"}
    assert errors.BackendUnavailable(retry_after=12).extensions() == {"retry_after": 12}


def test_maintenance_detail_names_the_end_time() -> None:
    until = datetime(2025, 1, 1, 4, 20, tzinfo=UTC)
    error = errors.MaintenanceWindow(until)
    assert "04:20" in error.detail
    assert error.extensions() == {"until": "2025-01-01T04:20:00+00:00"}


def test_operator_detail_stays_out_of_str() -> None:
    error = errors.BackendProtocolError("bad answer", operator_detail="raw frame 64...")
    assert str(error) == "bad answer"
    assert error.operator_detail == "raw frame 64..."
