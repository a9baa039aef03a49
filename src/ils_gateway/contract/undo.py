"""The record of what write checks changed on the backend and whether it was put back."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    """One change a write check made: what, how to undo it, and whether that worked."""

    check: str
    what: str
    undone: bool
    note: str = ""


@dataclass
class UndoLog:
    """Changes made by write checks, in order; the report lists those not undone."""

    changes: list[Change] = field(default_factory=list)

    def record(self, check: str, what: str, *, undone: bool, note: str = "") -> None:
        """Note one change and whether it was undone."""
        self.changes.append(Change(check, what, undone, note))

    @property
    def not_undone(self) -> list[Change]:
        """Changes still in place on the backend."""
        return [c for c in self.changes if not c.undone]
