"""A small ACS built on pysip2's server framework over a tiny fixture library.

Written against the SIP2 2.00 specification and pysip2's typed models only, not our own
simulator, so the SIP2 adapter meets a server whose idea of the protocol is independent of
ours. pysip2 is strict: a frame that does not decode into its model (a field at the wrong
width, a required field missing, a bad checksum trailer) closes the connection, as strict
servers do.

The library: two patrons, six copies, loans, a hold on the shelf and one in the queue.
Answers echo AO/AA/AB as the spec asks; dates are ``YYYYMMDD    HHMMSS`` local time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from pysip2 import (
    CHECKIN,
    CHECKOUT,
    END_PATRON_SESSION,
    HOLD,
    ITEM_INFORMATION,
    LOGIN,
    PATRON_INFORMATION,
    RENEW,
    RENEW_ALL,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    RequestContext,
    SIP2Server,
)

LOGIN_USER, LOGIN_PASSWORD = "gateway", "acs-pw"
INSTITUTION = "PEERLIB"
TODAY = date(2026, 2, 1)
CARD, PASSWORD = "2000000001", "1234"
OTHER_CARD, OTHER_PASSWORD = "2000000002", "5678"
ON_LOAN, OVERDUE, FREE, ON_SHELF, QUEUED, FREE_2 = (
    "B101",
    "B102",
    "B103",
    "B104",
    "B105",
    "B106",
)
LOAN_DAYS = 14
TITLE_RECORD, TITLE = "900", "門"  # a title on order: no copy yet


@dataclass
class Copy:
    barcode: str
    title: str
    home: str = "CEN"
    borrower: str | None = None
    due: date | None = None
    holds: list[Hold] = field(default_factory=list)

    @property
    def on_shelf_for(self) -> str | None:
        ready = [h for h in self.holds if h.ready]
        return ready[0].card if ready else None


@dataclass
class Hold:
    card: str
    pickup: str
    ready: bool = False
    pickup_by: date | None = None


@dataclass
class Reader:
    card: str
    password: str
    name: str


@dataclass
class FixtureLibrary:
    """Patrons, copies, loans and holds; every change the ACS makes lands here."""

    readers: dict[str, Reader]
    copies: dict[str, Copy]
    title_holds: dict[str, list[Hold]] = field(default_factory=dict)
    """Holds on a title with no copy yet, by title record id (listed ``<id> <title>``)."""

    @classmethod
    def build(cls) -> FixtureLibrary:
        readers = {
            CARD: Reader(CARD, PASSWORD, "山田 花子"),
            OTHER_CARD: Reader(OTHER_CARD, OTHER_PASSWORD, "佐藤 一郎"),
        }
        copies = {
            ON_LOAN: Copy(ON_LOAN, "吾輩は猫である", borrower=CARD, due=date(2026, 2, 10)),
            OVERDUE: Copy(OVERDUE, "坊っちゃん", borrower=CARD, due=date(2026, 1, 25)),
            FREE: Copy(FREE, "こころ"),
            ON_SHELF: Copy(
                ON_SHELF,
                "ぐりとぐら",
                holds=[Hold(CARD, "CEN", ready=True, pickup_by=date(2026, 2, 8))],
            ),
            QUEUED: Copy(
                QUEUED,
                "三四郎",
                borrower=OTHER_CARD,
                due=date(2026, 2, 12),
                holds=[Hold(CARD, "NIS")],
            ),
            FREE_2: Copy(FREE_2, "それから"),
        }
        return cls(readers, copies, {TITLE_RECORD: [Hold(CARD, "CEN")]})

    def loans(self, card: str) -> list[Copy]:
        return [c for c in self.copies.values() if c.borrower == card]

    def holds(self, card: str) -> list[tuple[Copy, Hold]]:
        return [(c, h) for c in self.copies.values() for h in c.holds if h.card == card]


def sip_date(day: date | None, at: time = time(23, 59, 59)) -> str:
    """A spec date (``YYYYMMDDZZZZHHMMSS``, local time: ZZZZ blank)."""
    if day is None:
        return ""
    return datetime.combine(day, at).strftime("%Y%m%d    %H%M%S")


def count4(n: int) -> str:
    return f"{n:04d}"


class PeerACS:
    """The pysip2 server and its handlers over one ``FixtureLibrary``."""

    def __init__(self, library: FixtureLibrary, *, renew: bool = True) -> None:
        self.library = library
        self.server = SIP2Server(
            encoding="utf-8",
            institution_id=INSTITUTION,
            library_name="ピア図書館",
            login_required=True,
            timeout_period="600",
            offline_ok=False,
        )
        self.requests: list[str] = []
        s = self.server
        s.route(LOGIN)(self.login)
        s.route(PATRON_INFORMATION)(self.patron_information)
        s.route(ITEM_INFORMATION)(self.item_information)
        if renew:
            s.route(RENEW)(self.renew)
        s.route(RENEW_ALL)(self.renew_all)
        s.route(HOLD)(self.hold)
        s.route(CHECKOUT)(self.checkout)
        s.route(CHECKIN)(self.checkin)
        s.route(END_PATRON_SESSION)(self.end_session)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        """Serve on a free port of 127.0.0.1 in a task of its own; yields the port.

        pysip2's ``start()`` holds an AnyIO task group, which must be left in the task that
        entered it: one task owns it from start to stop.
        """
        port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()

        async def serve() -> None:
            async with self.server.start("127.0.0.1", 0) as bound:
                port.set_result(bound)
                await stop.wait()

        task = asyncio.create_task(serve())
        try:
            yield await port
        finally:
            stop.set()
            await task

    def _now(self, ctx: RequestContext) -> str:
        return ctx.now_18()

    # --- handlers (one per request; pysip2 decodes and validates before they run) ---------

    async def login(self, req: LoginRequest, ctx: RequestContext) -> LoginResponse:
        self.requests.append("93")
        ok = req.login_user_id == LOGIN_USER and req.login_password == LOGIN_PASSWORD
        return LoginResponse(ok="1" if ok else "0")

    async def patron_information(
        self, req: PatronInformationRequest, ctx: RequestContext
    ) -> PatronInformationResponse:
        self.requests.append("63")
        lib = self.library
        reader = lib.readers.get(req.patron_identifier)
        blank = {
            "patron_status": " " * 14,
            "language": req.language,
            "transaction_date": self._now(ctx),
            "institution_id": req.institution_id,
            "patron_identifier": req.patron_identifier,
        }
        if reader is None:
            return PatronInformationResponse(
                **blank,
                hold_items_count=count4(0),
                overdue_items_count=count4(0),
                charged_items_count=count4(0),
                fine_items_count=count4(0),
                recall_items_count=count4(0),
                unavailable_holds_count=count4(0),
                personal_name="",
                valid_patron="N",
                valid_patron_password="N",
                screen_message=("利用者が見つかりません",),
            )
        loans = lib.loans(reader.card)
        overdue = [c for c in loans if c.due is not None and c.due < TODAY]
        holds = lib.holds(reader.card)
        ready = [c.barcode for c, h in holds if h.ready]
        waiting = [c.barcode for c, h in holds if not h.ready] + [
            f"{record} {TITLE}"
            for record, queue in lib.title_holds.items()
            if any(h.card == reader.card for h in queue)
        ]
        lists = {
            0: ("hold_items", ready),
            1: ("overdue_items", [c.barcode for c in overdue]),
            2: ("charged_items", [c.barcode for c in loans]),
            5: ("unavailable_hold_items", waiting),
        }
        wanted = req.summary.find("Y")
        entries: dict[str, tuple[str, ...]] = {}
        if wanted in lists:
            name, values = lists[wanted]
            first = int(req.start_item) if (req.start_item or "").isdigit() else 1
            last = int(req.end_item) if (req.end_item or "").isdigit() else len(values)
            entries[name] = tuple(values[max(first, 1) - 1 : last])
        password_ok = None
        if req.patron_password is not None:
            password_ok = "Y" if req.patron_password == reader.password else "N"
        status = [" "] * 14
        if overdue:
            status[6] = "Y"  # too many items overdue
        return PatronInformationResponse(
            **{**blank, "patron_status": "".join(status)},
            hold_items_count=count4(len(ready)),
            overdue_items_count=count4(len(overdue)),
            charged_items_count=count4(len(loans)),
            fine_items_count=count4(0),
            recall_items_count=count4(0),
            unavailable_holds_count=count4(len(waiting)),
            personal_name=reader.name,
            hold_items_limit="0010",
            valid_patron="Y",
            valid_patron_password=password_ok,
            **entries,
        )

    async def item_information(
        self, req: ItemInformationRequest, ctx: RequestContext
    ) -> ItemInformationResponse:
        self.requests.append("17")
        copy = self.library.copies.get(req.item_identifier)
        if copy is None:
            return ItemInformationResponse(
                circulation_status="01",
                security_marker="00",
                fee_type="01",
                transaction_date=self._now(ctx),
                item_identifier=req.item_identifier,
                title_identifier="",
                screen_message=("資料が見つかりません",),
            )
        if copy.borrower is not None:
            status = "04"  # charged
        elif copy.on_shelf_for is not None:
            status = "08"  # waiting on hold shelf
        else:
            status = "03"  # available
        pickup_by = next((h.pickup_by for h in copy.holds if h.ready), None)
        return ItemInformationResponse(
            circulation_status=status,
            security_marker="02",
            fee_type="01",
            transaction_date=self._now(ctx),
            hold_queue_length=str(len([h for h in copy.holds if not h.ready])),
            due_date=sip_date(copy.due) or None,
            hold_pickup_date=sip_date(pickup_by) or None,
            item_identifier=copy.barcode,
            title_identifier=copy.title,
            media_type="001",
            permanent_location=copy.home,
            current_location=next((h.pickup for h in copy.holds if h.ready), copy.home),
        )

    def _renew_one(self, card: str, barcode: str | None) -> tuple[Copy | None, str | None]:
        copy = self.library.copies.get(barcode or "")
        if copy is None or copy.borrower != card:
            return copy, "貸出中の資料ではありません"
        if copy.holds:
            return copy, "予約があるため延長できません"
        if copy.due is not None and copy.due < TODAY:
            return copy, "返却期限を過ぎています"
        copy.due = TODAY + timedelta(days=LOAN_DAYS)
        return copy, None

    async def renew(self, req: RenewRequest, ctx: RequestContext) -> RenewResponse:
        self.requests.append("29")
        copy, refusal = self._renew_one(req.patron_identifier, req.item_identifier)
        return RenewResponse(
            ok="0" if refusal else "1",
            renewal_ok="N" if refusal else "Y",
            magnetic_media="N",
            desensitize="N" if refusal else "Y",
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier or "",
            title_identifier=copy.title if copy else "",
            due_date=sip_date(copy.due if copy else None),
            media_type="001",
            screen_message=(refusal,) if refusal else (),
        )

    async def renew_all(self, req: RenewAllRequest, ctx: RequestContext) -> RenewAllResponse:
        self.requests.append("65")
        renewed, unrenewed, notes = [], [], []
        for copy in self.library.loans(req.patron_identifier):
            _, refusal = self._renew_one(req.patron_identifier, copy.barcode)
            if refusal:
                unrenewed.append(copy.barcode)
                notes.append(refusal)
            else:
                renewed.append(copy.barcode)
        return RenewAllResponse(
            ok="1",
            renewed_count=count4(len(renewed)),
            unrenewed_count=count4(len(unrenewed)),
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            renewed_items=tuple(renewed),
            unrenewed_items=tuple(unrenewed),
            screen_message=tuple(dict.fromkeys(notes)),
        )

    async def hold(self, req: HoldRequest, ctx: RequestContext) -> HoldResponse:
        self.requests.append("15")
        card = req.patron_identifier
        if req.item_identifier is None and req.title_identifier is not None:
            return self._title_hold(req, ctx)
        copy = self.library.copies.get(req.item_identifier or "")

        def answer(ok: bool, note: str | None = None, hold: Hold | None = None) -> HoldResponse:
            return HoldResponse(
                ok="1" if ok else "0",
                available="Y" if ok and copy is not None and copy.borrower is None else "N",
                transaction_date=self._now(ctx),
                queue_position=(
                    str(copy.holds.index(hold) + 1) if hold and copy and not hold.ready else None
                ),
                pickup_location=hold.pickup if hold else None,
                institution_id=req.institution_id,
                patron_identifier=card,
                item_identifier=req.item_identifier,
                title_identifier=copy.title if copy else None,
                screen_message=(note,) if note else (),
            )

        if copy is None or card not in self.library.readers:
            return answer(False, "資料が見つかりません")
        mine = next((h for h in copy.holds if h.card == card), None)
        if req.hold_mode == "+":
            if mine is not None:
                return answer(False, "すでに予約しています")
            mine = Hold(card, req.pickup_location or "CEN")
            copy.holds.append(mine)
            return answer(True, hold=mine)
        if mine is None:
            return answer(False, "該当する予約がありません")
        if req.hold_mode == "-":
            copy.holds.remove(mine)
            return answer(True)
        if not req.pickup_location:
            return answer(False, "受取館を指定してください")
        mine.pickup = req.pickup_location
        return answer(True, hold=mine)

    def _title_hold(self, req: HoldRequest, ctx: RequestContext) -> HoldResponse:
        """A hold named by its title record (AJ): cancel or move one; none placed this way."""
        queue = self.library.title_holds.get(req.title_identifier or "", [])
        mine = next((h for h in queue if h.card == req.patron_identifier), None)
        ok = mine is not None and req.hold_mode in "-*"
        if ok and mine is not None:
            if req.hold_mode == "-":
                queue.remove(mine)
            elif req.pickup_location:
                mine.pickup = req.pickup_location
            else:
                ok = False
        return HoldResponse(
            ok="1" if ok else "0",
            available="N",
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            title_identifier=TITLE if ok else req.title_identifier,
            screen_message=() if ok else ("該当する予約がありません",),
        )

    async def checkout(self, req: CheckoutRequest, ctx: RequestContext) -> CheckoutResponse:
        self.requests.append("11")
        copy = self.library.copies.get(req.item_identifier)
        refusal = None
        if req.patron_identifier not in self.library.readers:
            refusal = "利用者が見つかりません"
        elif copy is None:
            refusal = "資料が見つかりません"
        elif copy.borrower is not None or copy.on_shelf_for not in (None, req.patron_identifier):
            refusal = "貸出できない資料です"
        else:
            copy.borrower = req.patron_identifier
            copy.due = TODAY + timedelta(days=LOAN_DAYS)
            copy.holds = [h for h in copy.holds if h.card != req.patron_identifier]
        return CheckoutResponse(
            ok="0" if refusal else "1",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="N" if refusal else "Y",
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier,
            title_identifier=copy.title if copy else "",
            due_date=sip_date(copy.due) if copy and not refusal else "",
            media_type="001" if copy else None,
            screen_message=(refusal,) if refusal else (),
        )

    async def checkin(self, req: CheckinRequest, ctx: RequestContext) -> CheckinResponse:
        self.requests.append("09")
        copy = self.library.copies.get(req.item_identifier)
        if copy is None:
            return CheckinResponse(
                ok="0",
                resensitize="N",
                magnetic_media="N",
                alert="Y",
                transaction_date=self._now(ctx),
                institution_id=req.institution_id,
                item_identifier=req.item_identifier,
                permanent_location="",
                screen_message=("資料が見つかりません",),
            )
        borrower, copy.borrower, copy.due = copy.borrower, None, None
        waiting = next((h for h in copy.holds if not h.ready), None)
        if waiting is not None:
            waiting.ready = True
            waiting.pickup_by = TODAY + timedelta(days=7)
        return CheckinResponse(
            ok="1",
            resensitize="N" if waiting else "Y",
            magnetic_media="N",
            alert="Y" if waiting else "N",
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            item_identifier=copy.barcode,
            permanent_location=copy.home,
            title_identifier=copy.title,
            patron_identifier=borrower,
            media_type="001",
        )

    async def end_session(
        self, req: EndPatronSessionRequest, ctx: RequestContext
    ) -> EndSessionResponse:
        self.requests.append("35")
        return EndSessionResponse(
            end_session="Y",
            transaction_date=self._now(ctx),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
        )
