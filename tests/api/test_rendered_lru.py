"""Issue 17: the rendered-body memo evicts one entry at a time, least recently used first."""

from __future__ import annotations

from ils_gateway.api.rendered import RenderedLists


def test_full_memo_evicts_the_least_recently_used_body_not_all() -> None:
    memo = RenderedLists(max_bodies=2)
    a, b, c = [object()], [object()], [object()]
    memo.body("loans", a, None, False, None, lambda: {"n": 1})
    memo.body("loans", b, None, False, None, lambda: {"n": 2})
    memo.body("loans", a, None, False, None, lambda: {"n": 1})  # a is now the most recent
    memo.body("loans", c, None, False, None, lambda: {"n": 3})  # full: b goes, a stays
    assert len(memo) == 2
    hits = memo.hits
    memo.body("loans", a, None, False, None, lambda: {"n": 1})
    assert memo.hits == hits + 1
    misses = memo.misses
    memo.body("loans", b, None, False, None, lambda: {"n": 2})
    assert memo.misses == misses + 1
