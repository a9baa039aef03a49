"""Holds: list, place several, cancel, change pickup library or contact method; skip a
waiting hold, extend a ready one's pickup; the cancelled-hold history."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from ils_gateway.api.bodies import json_response, list_response, read_body
from ils_gateway.api.handlers.common import caller, lists_context, runtime
from ils_gateway.api.handlers.ebooks import ebook_service, with_ebook_holds
from ils_gateway.api.schemas.holds import (
    CancellationRequested,
    CancelledHoldList,
    CancelledHoldView,
    ChangeHoldRequest,
    HoldList,
    PlaceHoldsRequest,
    SkipRequest,
)
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.vocab import ContactMethod, ItemSource
from ils_gateway.services.holds import CancelOutcome

_REQUESTED_JA = "取消を受け付けました。図書館で手続きのうえ取り消します（それまで予約は残ります）"
_REQUESTED_EN = "Cancellation requested: the library will cancel the hold (it stays until then)"


async def list_holds(request: web.Request) -> web.Response:
    """GET …/holds."""
    ils_holds = runtime(request).holds.list_holds(caller(request))
    holds, ebooks = await with_ebook_holds(request, ils_holds)
    return list_response(
        request, "holds", holds, ebooks, lambda f: HoldList(holds=holds, ebooks=ebooks, **f)
    )


async def place_holds(request: web.Request) -> web.Response:
    """POST …/holds: several items, one pickup library; one result per item."""
    body = await read_body(request, PlaceHoldsRequest)
    if body.source is ItemSource.EBOOK:  # e-book holds go to the e-library
        ebook_batch = await ebook_service(request).place_holds(caller(request), body.item_ids)
        return json_response(ebook_batch)
    pickup, contact = body.pickup_library, body.contact_method
    if pickup is None or contact is None:  # the patron's saved defaults fill what is left out
        saved_pickup, saved_contact = await _hold_defaults(request)
        pickup, contact = pickup or saved_pickup, contact or saved_contact
    if pickup is None:  # e-books have no pickup library; library items do
        raise BadRequest(
            "Invalid request: pickup_library: Field required"
            " (no default pickup library in the patron's settings)"
        )
    batch = await runtime(request).holds.place_holds(
        caller(request), body.item_ids, pickup, contact
    )
    return json_response(batch)


async def _hold_defaults(request: web.Request) -> tuple[str | None, ContactMethod | None]:
    """The patron's saved default pickup library and contact method; none without a store."""
    if runtime(request).mylists is None:
        return None, None
    lists, ctx, _ = lists_context(request)
    return await lists.settings.hold_defaults(ctx)


async def cancel_hold(request: web.Request) -> web.Response:
    """DELETE …/holds/{hold_id} (``?source=ebook`` for an e-book hold).

    204 when the library cancelled the hold; 202 with ``CancellationRequested`` when it only
    filed a request for staff (the hold is still there, so 204 would tell the patron a lie).
    """
    source = request.query.get("source", ItemSource.ILS)
    if source not in set(ItemSource):
        raise BadRequest("Invalid request: source: must be 'ils' or 'ebook'")
    if source == ItemSource.EBOOK:
        await ebook_service(request).cancel_hold(caller(request), request.match_info["hold_id"])
        return web.Response(status=204)
    hold_id = request.match_info["hold_id"]
    outcome = await runtime(request).holds.cancel_hold(caller(request), hold_id)
    if outcome is CancelOutcome.CANCELLATION_REQUESTED:
        body = CancellationRequested(label=_REQUESTED_JA, label_en=_REQUESTED_EN)
        return json_response(body, status=202)
    return web.Response(status=204)


async def change_hold(request: web.Request) -> web.Response:
    """PATCH …/holds/{hold_id}: pickup library and/or contact method."""
    body = await read_body(request, ChangeHoldRequest)
    if body.pickup_library is None and body.contact_method is None:
        raise BadRequest("Give pickup_library, contact_method or both")
    hold = await runtime(request).holds.change_hold(
        caller(request),
        request.match_info["hold_id"],
        pickup_library=body.pickup_library,
        contact_method=body.contact_method,
    )
    return json_response(hold)


async def hold_skip(request: web.Request) -> web.Response:
    """POST …/holds/{hold_id}/skip."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, SkipRequest)
    hold = await lists.extras.skip(
        ctx, tenant.context.backend, request.match_info["hold_id"], body.until
    )
    return json_response(hold)


async def hold_resume(request: web.Request) -> web.Response:
    """DELETE …/holds/{hold_id}/skip: end a skip early."""
    lists, ctx, tenant = lists_context(request)
    hold = await lists.extras.resume(ctx, tenant.context.backend, request.match_info["hold_id"])
    return json_response(hold)


async def hold_extend_pickup(request: web.Request) -> web.Response:
    """POST …/holds/{hold_id}/pickup-extension."""
    lists, ctx, tenant = lists_context(request)
    hold = await lists.extras.extend_pickup(
        ctx, tenant.context.backend, request.match_info["hold_id"]
    )
    return json_response(hold)


_BY: dict[str, Literal["patron", "library"]] = {"patron": "patron", "library": "library"}


async def cancelled_hold_list(request: web.Request) -> web.Response:
    """GET …/cancelled-holds."""
    lists, ctx, _ = lists_context(request)
    entries = await lists.cancelled.list(ctx)
    policy = ctx.policy.holds
    return json_response(
        CancelledHoldList(
            entries=[
                CancelledHoldView(
                    hold_id=e.hold_id,
                    title=e.title,
                    reason=e.reason,
                    at=e.at,
                    cancelled_by=_BY.get(e.by or ""),
                )
                for e in entries
            ],
            retention_days=policy.cancelled_history_days,
            deletable=policy.cancelled_history_deletable,
        )
    )


async def cancelled_hold_delete(request: web.Request) -> web.Response:
    """DELETE …/cancelled-holds/{hold_id}."""
    lists, ctx, _ = lists_context(request)
    await lists.cancelled.delete(ctx, request.match_info["hold_id"])
    return web.Response(status=204)
