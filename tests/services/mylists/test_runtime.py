"""MyLists at login and after a password change, and the jobs' enrolment."""

from __future__ import annotations

from mylists_support import PASSWORD, SECRET, Clock, Library

from ils_gateway.domain.vocab import Channel
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.mylists.session_key import SESSION_FIELD
from ils_gateway.store.store import Store


async def test_login_opens_the_key_on_the_web_only_and_enrols_while_history_is_on(
    store: Store, ctx: PatronContext, kiosk_ctx: PatronContext, library: Library, clock: Clock
) -> None:
    lists = MyLists.build(store, SECRET, clock)
    nothing = await lists.at_login(ctx, PASSWORD)
    assert (nothing.extra, nothing.history_reset) == ({}, False)
    assert await lists.roster.patrons(ctx.tenant.id) == []

    await lists.history.enable(ctx, library.backend, PASSWORD)
    web = await lists.at_login(ctx, PASSWORD)
    assert lists.keys.from_extra(web.extra) is not None
    assert [p.card_number for p in await lists.roster.patrons(ctx.tenant.id)] == [
        ctx.patron.card_number
    ]
    kiosk = await lists.at_login(kiosk_ctx, PASSWORD)  # kiosks may not show it: no key
    assert kiosk_ctx.channel is Channel.KIOSK and kiosk.extra == {}

    rewrapped = await lists.after_password_change(
        ctx, web.extra, old_password=PASSWORD, new_password="newpass1"
    )
    assert lists.keys.from_extra(rewrapped) == lists.keys.from_extra(web.extra)
    assert not (await lists.at_login(ctx, "newpass1")).history_reset

    after_reset = await lists.at_login(ctx, "counter99")  # the library reset it
    assert after_reset.history_reset and SESSION_FIELD in after_reset.extra

    await lists.history.disable(ctx)
    assert not await lists.sync_enrolment(ctx)
    assert await lists.roster.patrons(ctx.tenant.id) == []
