"""The records the list services hand out and take, for the faces that show them.

Stored by ``store`` and passed through by the services unchanged; faces name them from here,
never from ``store`` directly.
"""

from __future__ import annotations

from ils_gateway.store.records import (
    UNSET,
    CancelReason,
    EmailKind,
    HoldContactMethod,
    HoldNoticeAddress,
    PatronSettings,
    Shelf,
    ShelfItem,
    UnlockedHistoryKey,
)

__all__ = [
    "UNSET",
    "CancelReason",
    "EmailKind",
    "HoldContactMethod",
    "HoldNoticeAddress",
    "PatronSettings",
    "Shelf",
    "ShelfItem",
    "UnlockedHistoryKey",
]
