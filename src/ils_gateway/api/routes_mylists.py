"""HTTP routes of what the library system cannot keep (issue 6), under the patron session.

Basket, hold sequences, hold skip and pickup extension, cancelled-hold history, bookshelves,
reading history and patron settings. Every route needs a patron session; there is no staff or
operator route, and none reads anyone's reading history but the patron's own. ``routes()`` gives
the entries ``api.routes.ROUTES`` appends, so they are registered and documented in
``/openapi.json`` like the core routes. Handlers parse, call one list service, serialise.

Sessions: ``session_extra_at_login`` (called by the login handler once the library accepted the
password) opens the reading-history key into the session's ``extra``, sealed under the server
secret; ``rewrap_after_password_change`` (called by the password-change handler) re-wraps it.
When the gateway runs without a store every route here answers 403 ``feature-disabled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime, token
from ils_gateway.api.keys import SESSION, STATE_KEY
from ils_gateway.domain.errors import BadRequest, FeatureDisabled, NotFound
from ils_gateway.domain.models import BatchResult, Hold, HoldResult, Patron
from ils_gateway.domain.vocab import Channel, ContactMethod, ItemSource
from ils_gateway.gateway import TenantRuntime
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import HistoryLocked
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.mylists.sequences import SequenceView
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

if TYPE_CHECKING:
    from ils_gateway.api.routes import Route

#: Session ``extra`` flag: the library reset the password, older history entries are unreadable.
RESET_FLAG = "reading_history_reset"


# -- bodies -----------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasketAddRequest(_Body):
    """An item of the library system to put in the basket (the title from the search page)."""

    item_id: str = Field(min_length=1, max_length=128)
    title: str | None = Field(None, max_length=1000)
    source: ItemSource = Field(ItemSource.ILS, description="ebook is refused: never in a basket")


class BasketItemView(_Body):
    """An item in the basket."""

    item_id: str
    title: str
    added_at: datetime


class BasketView(_Body):
    """The basket, oldest first, with the library's limit."""

    items: list[BasketItemView]
    count: int
    limit: int


class BasketAddedView(_Body):
    """The answer to adding: whether the item was new, and the basket's size and limit."""

    item_id: str
    added: bool
    count: int
    limit: int


class BasketConfirmRequest(_Body):
    """Basket items to place holds on, all for one pickup library and contact method."""

    item_ids: list[str] = Field(min_length=1, max_length=100)
    pickup_library: str = Field(min_length=1, max_length=64)
    contact_method: ContactMethod | None = None


class SequenceCreateRequest(_Body):
    """At least two waiting holds, in the order they should be filled."""

    hold_ids: list[str] = Field(min_length=2, max_length=20)


class SequenceMemberView(_Body):
    """One place of a sequence: the hold, or None once it has left the library's hold list."""

    position: int
    hold_id: str
    item_id: str
    hold: Hold | None


class SequenceViewModel(_Body):
    """A hold sequence (順番予約) with its members' current holds, in order."""

    sequence_id: str
    created_at: datetime
    members: list[SequenceMemberView]

    @classmethod
    def of(cls, view: SequenceView) -> SequenceViewModel:
        """The API view of a service ``SequenceView``."""
        members = zip(view.sequence.members, view.holds, strict=True)
        return cls(
            sequence_id=view.sequence.sequence_id,
            created_at=view.sequence.created_at,
            members=[
                SequenceMemberView(position=i, hold_id=m.hold_id, item_id=m.item_id, hold=hold)
                for i, (m, hold) in enumerate(members, start=1)
            ],
        )


class SequenceList(_Body):
    """The patron's hold sequences."""

    sequences: list[SequenceViewModel]


class SkipRequest(_Body):
    """Skip (suspend) a waiting hold until this day; it comes back at the top afterwards."""

    until: date


class CancelledHoldView(_Body):
    """A hold the gateway saw cancelled or expired."""

    hold_id: str
    title: str
    reason: CancelReason
    at: datetime


class CancelledHoldList(_Body):
    """Cancelled and expired holds within the library's retention period, newest first."""

    entries: list[CancelledHoldView]
    retention_days: int | None
    deletable: bool


class ShelfCreateRequest(_Body):
    """A new bookshelf."""

    name: str = Field(min_length=1, max_length=50)
    comment: str = Field("", max_length=200)


class ShelfUpdateRequest(_Body):
    """A new name and/or comment (omit a field to keep it)."""

    name: str | None = Field(None, min_length=1, max_length=50)
    comment: str | None = Field(None, max_length=200)


class ShelfView(_Body):
    """A bookshelf (マイ本棚)."""

    shelf_id: str
    name: str
    comment: str
    created_at: datetime
    item_count: int

    @classmethod
    def of(cls, shelf: Shelf) -> ShelfView:
        """The API view of a stored shelf."""
        return cls(
            shelf_id=shelf.shelf_id,
            name=shelf.name,
            comment=shelf.comment,
            created_at=shelf.created_at,
            item_count=shelf.item_count,
        )


class ShelfList(_Body):
    """The patron's shelves, in the order they were made."""

    shelves: list[ShelfView]
    max_shelves: int | None
    max_items_per_shelf: int | None


class ShelfItemAddRequest(_Body):
    """An item by id (title looked up when not given) or an entry of the reading history."""

    item_id: str | None = Field(None, min_length=1, max_length=128)
    title: str | None = Field(None, max_length=1000)
    history_entry_id: str | None = Field(None, min_length=1, max_length=64)


class ShelfItemUpdateRequest(_Body):
    """Rating (1-5) and/or comment; omit a field to keep it, send null to clear it."""

    rating: int | None = Field(None, ge=1, le=5)
    comment: str | None = None


class ShelfItemTransferRequest(_Body):
    """The shelf to copy or move the item to."""

    to_shelf: str = Field(min_length=1, max_length=64)


class ShelfItemView(_Body):
    """An item on a shelf with the patron's rating and comment."""

    item_id: str
    title: str
    rating: int | None
    comment: str | None
    added_at: datetime

    @classmethod
    def of(cls, item: ShelfItem) -> ShelfItemView:
        """The API view of a stored shelf item."""
        return cls(
            item_id=item.item_id,
            title=item.title,
            rating=item.rating,
            comment=item.comment,
            added_at=item.added_at,
        )


class ShelfItemList(_Body):
    """What is on a shelf, in the order it was added."""

    items: list[ShelfItemView]


class PasswordRequest(_Body):
    """The patron's library password (opens or protects the reading-history key)."""

    password: str = Field(min_length=1, max_length=128, repr=False)


class HistoryStatus(_Body):
    """Whether reading history is on, since when, and whether this session has it open."""

    enabled: bool
    since: datetime | None
    unlocked: bool
    key_reset: bool = Field(
        False,
        description="the library reset the password: entries recorded before are unreadable",
    )


class HistoryEntryView(_Body):
    """One loan in the reading history."""

    entry_id: str
    item_id: str
    title: str
    author: str | None
    loaned_at: datetime


class HistoryPageView(_Body):
    """Reading history, newest first; ``unreadable_entries`` counts entries recorded under a key
    the library's password reset made unreadable (they can only be deleted)."""

    status: HistoryStatus
    entries: list[HistoryEntryView]
    unreadable_entries: int
    total_entries: int


class HistoryDeleted(_Body):
    """How many entries were deleted."""

    deleted: int


class SettingsView(_Body):
    """The patron's settings the gateway keeps."""

    email1: str | None
    email1_kind: EmailKind | None
    email2: str | None
    email2_kind: EmailKind | None
    hold_notice_to: HoldNoticeAddress | None
    default_pickup_library: str | None
    hold_contact_method: HoldContactMethod | None
    due_date_reminder: bool
    reading_history_enabled: bool

    @classmethod
    def of(cls, settings: PatronSettings) -> SettingsView:
        """The API view of stored settings."""
        return cls(
            email1=settings.email1,
            email1_kind=settings.email1_kind,
            email2=settings.email2,
            email2_kind=settings.email2_kind,
            hold_notice_to=settings.hold_notice_to,
            default_pickup_library=settings.default_pickup_library,
            hold_contact_method=settings.hold_contact_method,
            due_date_reminder=settings.due_date_reminder,
            reading_history_enabled=settings.reading_history_enabled,
        )


class SettingsUpdateRequest(_Body):
    """Fields to change (omit to keep, null to clear); the history switch has its own routes."""

    email1: str | None = Field(None, max_length=254)
    email1_kind: EmailKind | None = None
    email2: str | None = Field(None, max_length=254)
    email2_kind: EmailKind | None = None
    hold_notice_to: HoldNoticeAddress | None = None
    default_pickup_library: str | None = Field(None, max_length=128)
    hold_contact_method: HoldContactMethod | None = None
    due_date_reminder: bool | None = None


# -- what every handler needs -----------------------------------------------------------------


def _lists(tenant: TenantRuntime) -> MyLists:
    if tenant.mylists is None:
        raise FeatureDisabled(
            "my_lists",
            detail="This gateway keeps no lists",
            operator_detail="no store configured (GatewaySettings.store)",
        )
    return tenant.mylists


def _ctx(request: web.Request) -> tuple[MyLists, PatronContext, TenantRuntime]:
    tenant = runtime(request)
    lists = _lists(tenant)
    who = caller(request)
    return lists, lists.context(tenant.config, who.patron, who.channel), tenant


def _extra(request: web.Request) -> Mapping[str, JsonValue]:
    return request[SESSION].extra


async def _keep_in_session(request: web.Request, values: Mapping[str, JsonValue]) -> None:
    await request.app[STATE_KEY].sessions.update_extra(token(request), values)


# -- basket -----------------------------------------------------------------------------------


async def basket_list(request: web.Request) -> web.Response:
    """GET …/basket."""
    lists, ctx, _ = _ctx(request)
    items = await lists.basket.list(ctx)
    limit = ctx.policy.lists.basket_size or 0
    views = [BasketItemView(item_id=i.item_id, title=i.title, added_at=i.added_at) for i in items]
    return json_response(BasketView(items=views, count=len(views), limit=limit))


async def basket_add(request: web.Request) -> web.Response:
    """POST …/basket/items."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, BasketAddRequest)
    added = await lists.basket.add(
        ctx, tenant.context.backend, body.item_id, source=body.source, title=body.title
    )
    view = BasketAddedView(
        item_id=added.item_id, added=added.added, count=added.count, limit=added.limit
    )
    return json_response(view, status=201 if added.added else 200)


async def basket_remove(request: web.Request) -> web.Response:
    """DELETE …/basket/items/{item_id}."""
    lists, ctx, _ = _ctx(request)
    if not await lists.basket.remove(ctx, request.match_info["item_id"]):
        raise NotFound("This item is not in the basket")
    return web.Response(status=204)


async def basket_clear(request: web.Request) -> web.Response:
    """DELETE …/basket."""
    lists, ctx, _ = _ctx(request)
    await lists.basket.clear(ctx)
    return web.Response(status=204)


async def basket_confirm(request: web.Request) -> web.Response:
    """POST …/basket/holds: place holds on the chosen items; one result per item."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, BasketConfirmRequest)
    batch = await lists.basket.confirm(
        ctx,
        tenant.context.backend,
        body.item_ids,
        pickup_library=body.pickup_library,
        contact_method=body.contact_method,
    )
    return json_response(batch)


# -- hold sequences, skip, extension, cancelled holds -------------------------------------------


async def sequence_list(request: web.Request) -> web.Response:
    """GET …/hold-sequences."""
    lists, ctx, tenant = _ctx(request)
    views = await lists.sequences.list(ctx, tenant.context.backend)
    return json_response(SequenceList(sequences=[SequenceViewModel.of(v) for v in views]))


async def sequence_create(request: web.Request) -> web.Response:
    """POST …/hold-sequences."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, SequenceCreateRequest)
    if len(set(body.hold_ids)) != len(body.hold_ids):
        raise BadRequest("A hold is given twice")
    view = await lists.sequences.create(ctx, tenant.context.backend, body.hold_ids)
    await lists.sync_enrolment(ctx)
    return json_response(SequenceViewModel.of(view), status=201)


async def sequence_dissolve(request: web.Request) -> web.Response:
    """DELETE …/hold-sequences/{sequence_id}: the holds stay, no longer ordered."""
    lists, ctx, tenant = _ctx(request)
    await lists.sequences.dissolve(ctx, tenant.context.backend, request.match_info["sequence_id"])
    await lists.sync_enrolment(ctx)
    return web.Response(status=204)


async def sequence_leave(request: web.Request) -> web.Response:
    """DELETE …/holds/{hold_id}/sequence: take one hold out of its sequence."""
    lists, ctx, tenant = _ctx(request)
    await lists.sequences.remove(ctx, tenant.context.backend, request.match_info["hold_id"])
    await lists.sync_enrolment(ctx)
    return web.Response(status=204)


async def hold_skip(request: web.Request) -> web.Response:
    """POST …/holds/{hold_id}/skip."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, SkipRequest)
    hold = await lists.extras.skip(
        ctx, tenant.context.backend, request.match_info["hold_id"], body.until
    )
    return json_response(hold)


async def hold_resume(request: web.Request) -> web.Response:
    """DELETE …/holds/{hold_id}/skip: end a skip early."""
    lists, ctx, tenant = _ctx(request)
    hold = await lists.extras.resume(ctx, tenant.context.backend, request.match_info["hold_id"])
    return json_response(hold)


async def hold_extend_pickup(request: web.Request) -> web.Response:
    """POST …/holds/{hold_id}/pickup-extension."""
    lists, ctx, tenant = _ctx(request)
    hold = await lists.extras.extend_pickup(
        ctx, tenant.context.backend, request.match_info["hold_id"]
    )
    return json_response(hold)


async def cancelled_hold_list(request: web.Request) -> web.Response:
    """GET …/cancelled-holds."""
    lists, ctx, _ = _ctx(request)
    entries = await lists.cancelled.list(ctx)
    policy = ctx.policy.holds
    return json_response(
        CancelledHoldList(
            entries=[
                CancelledHoldView(hold_id=e.hold_id, title=e.title, reason=e.reason, at=e.at)
                for e in entries
            ],
            retention_days=policy.cancelled_history_days,
            deletable=policy.cancelled_history_deletable,
        )
    )


async def cancelled_hold_delete(request: web.Request) -> web.Response:
    """DELETE …/cancelled-holds/{hold_id}."""
    lists, ctx, _ = _ctx(request)
    await lists.cancelled.delete(ctx, request.match_info["hold_id"])
    return web.Response(status=204)


# -- bookshelves ------------------------------------------------------------------------------


async def shelf_list(request: web.Request) -> web.Response:
    """GET …/shelves."""
    lists, ctx, _ = _ctx(request)
    shelves = await lists.shelves.list(ctx)
    limits = ctx.policy.lists
    return json_response(
        ShelfList(
            shelves=[ShelfView.of(s) for s in shelves],
            max_shelves=limits.max_shelves,
            max_items_per_shelf=limits.max_items_per_shelf,
        )
    )


async def shelf_create(request: web.Request) -> web.Response:
    """POST …/shelves."""
    lists, ctx, _ = _ctx(request)
    body = await read_body(request, ShelfCreateRequest)
    shelf = await lists.shelves.create(ctx, body.name, body.comment)
    return json_response(ShelfView.of(shelf), status=201)


async def shelf_update(request: web.Request) -> web.Response:
    """PATCH …/shelves/{shelf_id}."""
    lists, ctx, _ = _ctx(request)
    body = await read_body(request, ShelfUpdateRequest)
    if body.name is None and body.comment is None:
        raise BadRequest("Give name, comment or both")
    shelf = await lists.shelves.update(
        ctx,
        request.match_info["shelf_id"],
        name=UNSET if body.name is None else body.name,
        comment=UNSET if body.comment is None else body.comment,
    )
    return json_response(ShelfView.of(shelf))


async def shelf_delete(request: web.Request) -> web.Response:
    """DELETE …/shelves/{shelf_id}: the shelf and everything on it."""
    lists, ctx, _ = _ctx(request)
    await lists.shelves.delete(ctx, request.match_info["shelf_id"])
    return web.Response(status=204)


async def shelf_items(request: web.Request) -> web.Response:
    """GET …/shelves/{shelf_id}/items."""
    lists, ctx, _ = _ctx(request)
    items = await lists.shelves.items(ctx, request.match_info["shelf_id"])
    return json_response(ShelfItemList(items=[ShelfItemView.of(i) for i in items]))


async def shelf_item_add(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items: by item id, or from a reading-history entry."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, ShelfItemAddRequest)
    shelf_id = request.match_info["shelf_id"]
    if body.item_id is not None and body.history_entry_id is None:
        item = await lists.shelves.add_item(
            ctx, tenant.context.backend, shelf_id, body.item_id, body.title
        )
    elif body.history_entry_id is not None and body.item_id is None:
        key = _history_key(lists, request)
        if key is None:
            raise HistoryLocked()
        item = await lists.shelves.add_from_history(ctx, key, shelf_id, body.history_entry_id)
    else:
        raise BadRequest("Give either item_id or history_entry_id")
    return json_response(ShelfItemView.of(item), status=201)


async def shelf_item_update(request: web.Request) -> web.Response:
    """PATCH …/shelves/{shelf_id}/items/{item_id}: rating and/or comment."""
    lists, ctx, _ = _ctx(request)
    body = await read_body(request, ShelfItemUpdateRequest)
    given = body.model_fields_set
    if not given:
        raise BadRequest("Give rating, comment or both")
    item = await lists.shelves.annotate(
        ctx,
        request.match_info["shelf_id"],
        request.match_info["item_id"],
        rating=body.rating if "rating" in given else UNSET,
        comment=body.comment if "comment" in given else UNSET,
    )
    return json_response(ShelfItemView.of(item))


async def shelf_item_remove(request: web.Request) -> web.Response:
    """DELETE …/shelves/{shelf_id}/items/{item_id}."""
    lists, ctx, _ = _ctx(request)
    await lists.shelves.remove_item(
        ctx, request.match_info["shelf_id"], request.match_info["item_id"]
    )
    return web.Response(status=204)


async def shelf_item_copy(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items/{item_id}/copy."""
    lists, ctx, _ = _ctx(request)
    body = await read_body(request, ShelfItemTransferRequest)
    item = await lists.shelves.copy_item(
        ctx,
        request.match_info["item_id"],
        from_shelf=request.match_info["shelf_id"],
        to_shelf=body.to_shelf,
    )
    return json_response(ShelfItemView.of(item), status=201)


async def shelf_item_move(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items/{item_id}/move."""
    lists, ctx, _ = _ctx(request)
    body = await read_body(request, ShelfItemTransferRequest)
    item = await lists.shelves.move_item(
        ctx,
        request.match_info["item_id"],
        from_shelf=request.match_info["shelf_id"],
        to_shelf=body.to_shelf,
    )
    return json_response(ShelfItemView.of(item))


# -- reading history --------------------------------------------------------------------------


def _history_key(lists: MyLists, request: web.Request) -> UnlockedHistoryKey | None:
    return lists.keys.from_extra(_extra(request))


async def _status(
    lists: MyLists, ctx: PatronContext, request: web.Request, *, unlocked: bool | None = None
) -> HistoryStatus:
    settings = await lists.history.status(ctx)
    return HistoryStatus(
        enabled=settings.reading_history_enabled,
        since=settings.reading_history_since,
        unlocked=_history_key(lists, request) is not None if unlocked is None else unlocked,
        key_reset=bool(_extra(request).get(RESET_FLAG, False)),
    )


async def history_status(request: web.Request) -> web.Response:
    """GET …/reading-history/status."""
    lists, ctx, _ = _ctx(request)
    return json_response(await _status(lists, ctx, request))


async def history_list(request: web.Request) -> web.Response:
    """GET …/reading-history?limit=&offset=: needs the key opened in this session."""
    lists, ctx, _ = _ctx(request)
    limit, offset = _paging(request)
    page = await lists.history.list(ctx, _history_key(lists, request), limit=limit, offset=offset)
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
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, PasswordRequest)
    opened = await lists.history.enable(ctx, tenant.context.backend, body.password)
    await _keep_opened(request, lists, opened.key, reset=opened.reset)
    await lists.sync_enrolment(ctx)
    return json_response(await _status(lists, ctx, request, unlocked=opened.key is not None))


async def history_disable(request: web.Request) -> web.Response:
    """POST …/reading-history/disable: stop recording; entries stay."""
    lists, ctx, _ = _ctx(request)
    await lists.history.disable(ctx)
    await lists.sync_enrolment(ctx)
    return json_response(await _status(lists, ctx, request))


async def history_unlock(request: web.Request) -> web.Response:
    """POST …/reading-history/unlock: open the history in this session with the password."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, PasswordRequest)
    opened = await lists.history.unlock(ctx, tenant.context.backend, body.password)
    await _keep_opened(request, lists, opened.key, reset=opened.reset)
    return json_response(await _status(lists, ctx, request, unlocked=opened.key is not None))


async def history_delete(request: web.Request) -> web.Response:
    """DELETE …/reading-history/entries/{entry_id}."""
    lists, ctx, _ = _ctx(request)
    await lists.history.delete(ctx, request.match_info["entry_id"])
    return web.Response(status=204)


async def history_delete_all(request: web.Request) -> web.Response:
    """DELETE …/reading-history/entries: every entry, readable or not."""
    lists, ctx, _ = _ctx(request)
    deleted = await lists.history.delete_all(ctx)
    await _keep_in_session(request, {RESET_FLAG: None})
    return json_response(HistoryDeleted(deleted=deleted))


async def _keep_opened(
    request: web.Request, lists: MyLists, key: UnlockedHistoryKey | None, *, reset: bool
) -> None:
    values: dict[str, JsonValue] = dict(lists.keys.extra_for(key))
    if reset:
        values[RESET_FLAG] = True
    await _keep_in_session(request, values)


def _paging(request: web.Request) -> tuple[int | None, int]:
    try:
        limit = int(request.query["limit"]) if "limit" in request.query else None
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise BadRequest("limit and offset must be whole numbers") from None
    if (limit is not None and not 1 <= limit <= 500) or offset < 0:
        raise BadRequest("limit: 1 to 500; offset: 0 or more")
    return limit, offset


# -- settings ---------------------------------------------------------------------------------


async def settings_get(request: web.Request) -> web.Response:
    """GET …/patron/settings."""
    lists, ctx, _ = _ctx(request)
    return json_response(SettingsView.of(await lists.settings.get(ctx)))


async def settings_update(request: web.Request) -> web.Response:
    """PATCH …/patron/settings."""
    lists, ctx, tenant = _ctx(request)
    body = await read_body(request, SettingsUpdateRequest)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("due_date_reminder", False) is None:
        raise BadRequest("due_date_reminder: true or false")
    saved = await lists.settings.update(ctx, tenant.context.backend, **changes)
    return json_response(SettingsView.of(saved))


# -- session steps the core handlers call -----------------------------------------------------


async def session_extra_at_login(
    tenant: TenantRuntime, patron: Patron, channel: Channel, password: str
) -> dict[str, JsonValue]:
    """What a new session keeps for the lists; call only after the library accepted
    ``password``. Opens the reading-history key (a new one when the library reset the
    password) and enrols the patron for the periodic jobs where needed."""
    if tenant.mylists is None:
        return {}
    lists = tenant.mylists
    outcome = await lists.at_login(lists.context(tenant.config, patron, channel), password)
    extra: dict[str, JsonValue] = {k: v for k, v in outcome.extra.items() if v is not None}
    if outcome.history_reset:
        extra[RESET_FLAG] = True
    return extra


async def rewrap_after_password_change(
    request: web.Request, old_password: str, new_password: str
) -> None:
    """Re-wrap the reading-history key under the new password (call after the library
    accepted the change) and keep the key in the session."""
    tenant = runtime(request)
    if tenant.mylists is None:
        return
    lists = tenant.mylists
    who = caller(request)
    ctx = lists.context(tenant.config, who.patron, who.channel)
    values = await lists.after_password_change(
        ctx, _extra(request), old_password=old_password, new_password=new_password
    )
    if values:
        await _keep_in_session(request, dict(values))


# -- the route table --------------------------------------------------------------------------


def routes() -> tuple[Route, ...]:
    """The entries ``api.routes.ROUTES`` appends (all need a patron session)."""
    from ils_gateway.api.routes import Route

    hold_batch = BatchResult[HoldResult]
    return (
        Route("GET", "/basket", basket_list, "The reservation basket", "basket",
              response=BasketView),
        Route("POST", "/basket/items", basket_add, "Put an item in the basket", "basket",
              BasketAddRequest, BasketAddedView, 201),
        Route("DELETE", "/basket/items/{item_id}", basket_remove, "Take an item out", "basket",
              status=204),
        Route("DELETE", "/basket", basket_clear, "Empty the basket", "basket", status=204),
        Route("POST", "/basket/holds", basket_confirm, "Place holds on chosen basket items",
              "basket", BasketConfirmRequest, hold_batch),
        Route("GET", "/hold-sequences", sequence_list, "Hold sequences", "hold sequences",
              response=SequenceList),
        Route("POST", "/hold-sequences", sequence_create, "Order waiting holds into a sequence",
              "hold sequences", SequenceCreateRequest, SequenceViewModel, 201),
        Route("DELETE", "/hold-sequences/{sequence_id}", sequence_dissolve,
              "Dissolve a sequence", "hold sequences", status=204),
        Route("DELETE", "/holds/{hold_id}/sequence", sequence_leave,
              "Take a hold out of its sequence", "hold sequences", status=204),
        Route("POST", "/holds/{hold_id}/skip", hold_skip, "Skip a waiting hold until a day",
              "holds", SkipRequest, Hold),
        Route("DELETE", "/holds/{hold_id}/skip", hold_resume, "End a skip", "holds",
              response=Hold),
        Route("POST", "/holds/{hold_id}/pickup-extension", hold_extend_pickup,
              "Keep a ready hold on the pickup shelf longer", "holds", response=Hold),
        Route("GET", "/cancelled-holds", cancelled_hold_list, "Cancelled and expired holds",
              "holds", response=CancelledHoldList),
        Route("DELETE", "/cancelled-holds/{hold_id}", cancelled_hold_delete,
              "Delete a cancelled-hold entry", "holds", status=204),
        Route("GET", "/shelves", shelf_list, "Bookshelves", "shelves", response=ShelfList),
        Route("POST", "/shelves", shelf_create, "Make a bookshelf", "shelves",
              ShelfCreateRequest, ShelfView, 201),
        Route("PATCH", "/shelves/{shelf_id}", shelf_update, "Rename or re-comment a shelf",
              "shelves", ShelfUpdateRequest, ShelfView),
        Route("DELETE", "/shelves/{shelf_id}", shelf_delete, "Delete a shelf", "shelves",
              status=204),
        Route("GET", "/shelves/{shelf_id}/items", shelf_items, "Items on a shelf", "shelves",
              response=ShelfItemList),
        Route("POST", "/shelves/{shelf_id}/items", shelf_item_add,
              "Put an item (or a reading-history entry) on a shelf", "shelves",
              ShelfItemAddRequest, ShelfItemView, 201),
        Route("PATCH", "/shelves/{shelf_id}/items/{item_id}", shelf_item_update,
              "Rate or comment an item", "shelves", ShelfItemUpdateRequest, ShelfItemView),
        Route("DELETE", "/shelves/{shelf_id}/items/{item_id}", shelf_item_remove,
              "Take an item off a shelf", "shelves", status=204),
        Route("POST", "/shelves/{shelf_id}/items/{item_id}/copy", shelf_item_copy,
              "Copy an item to another shelf", "shelves", ShelfItemTransferRequest,
              ShelfItemView, 201),
        Route("POST", "/shelves/{shelf_id}/items/{item_id}/move", shelf_item_move,
              "Move an item to another shelf", "shelves", ShelfItemTransferRequest,
              ShelfItemView),
        Route("GET", "/reading-history", history_list, "Reading history (opened key needed)",
              "reading history", response=HistoryPageView),
        Route("GET", "/reading-history/status", history_status, "Whether history is on",
              "reading history", response=HistoryStatus),
        Route("POST", "/reading-history/enable", history_enable, "Switch reading history on",
              "reading history", PasswordRequest, HistoryStatus),
        Route("POST", "/reading-history/disable", history_disable,
              "Switch reading history off (entries stay)", "reading history",
              response=HistoryStatus),
        Route("POST", "/reading-history/unlock", history_unlock,
              "Open the reading history in this session", "reading history",
              PasswordRequest, HistoryStatus),
        Route("DELETE", "/reading-history/entries/{entry_id}", history_delete,
              "Delete one entry", "reading history", status=204),
        Route("DELETE", "/reading-history/entries", history_delete_all, "Delete every entry",
              "reading history", response=HistoryDeleted),
        Route("GET", "/patron/settings", settings_get, "Patron settings", "patron",
              response=SettingsView),
        Route("PATCH", "/patron/settings", settings_update, "Change patron settings", "patron",
              SettingsUpdateRequest, SettingsView),
    )  # fmt: skip
