"""Reading history: status, entries, switching on and off, opening it in the session.

The history key is opened into the session's ``extra`` (sealed under the server secret) with
the patron's password; no route reads anyone's history but the patron's own.
"""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, lists_context, token
from ils_gateway.api.keys import SESSION
from ils_gateway.api.schemas.history import (
    HistoryDeleted,
    HistoryEntryView,
    HistoryPageView,
    HistoryStatus,
    PasswordRequest,
)
from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.records import UnlockedHistoryKey
from ils_gateway.services.mylists.runtime import RESET_FLAG, MyLists


def history_key(lists: MyLists, request: web.Request) -> UnlockedHistoryKey | None:
    """The reading-history key opened in this session, or None."""
    return lists.keys.from_extra(request[SESSION].extra)


async def _status(
    lists: MyLists, ctx: PatronContext, request: web.Request, *, unlocked: bool | None = None
) -> HistoryStatus:
    settings = await lists.history.status(ctx)
    return HistoryStatus(
        enabled=settings.reading_history_enabled,
        since=settings.reading_history_since,
        unlocked=history_key(lists, request) is not None if unlocked is None else unlocked,
        key_reset=bool(request[SESSION].extra.get(RESET_FLAG, False)),
    )


async def history_status(request: web.Request) -> web.Response:
    """GET …/reading-history/status."""
    lists, ctx, _ = lists_context(request)
    return json_response(await _status(lists, ctx, request))


async def history_list(request: web.Request) -> web.Response:
    """GET …/reading-history?limit=&offset=: needs the key opened in this session."""
    lists, ctx, _ = lists_context(request)
    limit, offset = _paging(request)
    page = await lists.history.list(ctx, history_key(lists, request), limit=limit, offset=offset)
    return json_response(
        HistoryPageView(
            status=await _status(lists, ctx, request),
            entries=[
                HistoryEntryView(
                    entry_id=s.entry_id,
                    item_id=s.entry.item_id,
                    title=s.entry.title,
                    author=s.entry.author,
                    loaned_at=s.entry.loaned_at,
                )
                for s in page.entries
            ],
            unreadable_entries=page.unreadable_entries,
            total_entries=page.total_entries,
        )
    )


async def history_enable(request: web.Request) -> web.Response:
    """POST …/reading-history/enable: switch on (records loans from now on)."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, PasswordRequest)
    unlocked = await tenant.account.enable_history_in_session(
        caller(request), token(request), body.password
    )
    return json_response(await _status(lists, ctx, request, unlocked=unlocked))


async def history_disable(request: web.Request) -> web.Response:
    """POST …/reading-history/disable: stop recording; entries stay."""
    lists, ctx, _ = lists_context(request)
    await lists.history.disable(ctx)
    await lists.sync_enrolment(ctx)
    return json_response(await _status(lists, ctx, request))


async def history_unlock(request: web.Request) -> web.Response:
    """POST …/reading-history/unlock: open the history in this session with the password."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, PasswordRequest)
    unlocked = await tenant.account.unlock_history_in_session(
        caller(request), token(request), body.password
    )
    return json_response(await _status(lists, ctx, request, unlocked=unlocked))


async def history_delete(request: web.Request) -> web.Response:
    """DELETE …/reading-history/entries/{entry_id}."""
    lists, ctx, _ = lists_context(request)
    await lists.history.delete(ctx, request.match_info["entry_id"])
    return web.Response(status=204)


async def history_delete_all(request: web.Request) -> web.Response:
    """DELETE …/reading-history/entries: every entry, readable or not."""
    _, _, tenant = lists_context(request)
    deleted = await tenant.account.delete_history_in_session(caller(request), token(request))
    return json_response(HistoryDeleted(deleted=deleted))


# The bounds of ?limit= and ?offset= (api.routes documents them). An offset without a bound
# reached the store as a number SQLite cannot bind (a 500).
LIMIT_MAX = 500
OFFSET_MAX = 1_000_000


def _paging(request: web.Request) -> tuple[int | None, int]:
    try:
        limit = int(request.query["limit"]) if "limit" in request.query else None
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise BadRequest("limit and offset must be whole numbers") from None
    if (limit is not None and not 1 <= limit <= LIMIT_MAX) or not 0 <= offset <= OFFSET_MAX:
        raise BadRequest(f"limit: 1 to {LIMIT_MAX}; offset: 0 to {OFFSET_MAX}")
    return limit, offset
