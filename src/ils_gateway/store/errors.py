"""Errors raised by the store's repositories.

These describe what the store refused, in the store's own terms; ``services/`` turns them into
the domain error tree (a full shelf becomes a 422, an unknown shelf a 404).

```
StoreError
├── RecordNotFound              the row does not exist for this patron
│   ├── ShelfNotFound
│   ├── ShelfItemNotFound
│   └── SequenceNotFound
├── LimitExceeded               a caller-supplied maximum would be passed (limit: int)
│   ├── ShelfLimitExceeded
│   └── ShelfItemLimitExceeded
├── AlreadyPresent              a unique thing would appear twice
│   ├── ItemAlreadyOnShelf
│   └── HoldAlreadyInSequence
├── InvalidValue                a value breaks a rule (field, reason)
└── HistoryKeyError             the reading-history key cannot be used
    ├── HistoryNotSetUp         the patron has no history keypair yet
    └── WrongHistoryPassword    the password does not open the history key
```
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class RecordNotFound(StoreError):
    """The row asked for does not exist for this patron (or belongs to someone else)."""


class ShelfNotFound(RecordNotFound):
    """No bookshelf with this id belongs to the patron."""


class ShelfItemNotFound(RecordNotFound):
    """The item is not on that bookshelf."""


class SequenceNotFound(RecordNotFound):
    """No hold sequence with this id belongs to the patron."""


class OrHoldGroupNotFound(RecordNotFound):
    """No OR-hold group with this id belongs to the patron."""


class LimitExceeded(StoreError):
    """Adding would pass a limit the caller (the tenant policy) supplied."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"limit of {limit} reached")
        self.limit = limit


class ShelfLimitExceeded(LimitExceeded):
    """The patron already has as many bookshelves as the library allows."""


class ShelfItemLimitExceeded(LimitExceeded):
    """The bookshelf already holds as many items as the library allows."""


class SdiConditionNotFound(RecordNotFound):
    """No saved new-arrival condition with this id belongs to the patron."""


class SdiConditionLimitExceeded(LimitExceeded):
    """The patron already has as many new-arrival conditions as the library allows."""


class AlreadyPresent(StoreError):
    """The thing would appear twice where it must be unique."""


class ItemAlreadyOnShelf(AlreadyPresent):
    """The item is already on that bookshelf."""


class HoldAlreadyInSequence(AlreadyPresent):
    """A hold can belong to one sequence only, and this one already does."""


class InvalidValue(StoreError):
    """A value breaks one of the store's rules (too long, out of range, empty)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class HistoryKeyError(StoreError):
    """The patron's reading-history key cannot be used as asked."""


class HistoryNotSetUp(HistoryKeyError):
    """The patron has no reading-history keypair yet (history never switched on)."""


class WrongHistoryPassword(HistoryKeyError):
    """The password given does not open the reading-history key.

    When the library system has just accepted that same password, the password was reset
    outside the gateway; the service may then start a new key (old entries become unreadable).
    """
