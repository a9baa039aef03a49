"""Whether a loan's, hold's or item's title is one a patron can read.

Adapters fall back to the item's id when the library gives no title (SIP2 without AJ), so
a title equal to the id is as good as none: the patron would see a barcode in "My Library".
"""

from __future__ import annotations

from ils_gateway.domain.models import Item

__all__ = ["title_problem"]


def title_problem(item: Item) -> str | None:
    """What is wrong with ``item``'s title, or None when it has a real one."""
    title = item.title.strip()
    if not title:
        return "has no title"
    if title == item.id.strip():
        return f"has no title but its id ({item.id!r})"
    return None
