"""A simulated KinoDen-style e-library speaking ``docs/elibrary-api.md``.

Two parts: ``ElibraryState`` holds licensed copies, loans, hold queues and the event log and
applies the e-library's rules (no I/O; every rule reads the injected clock), and
``create_elibrary_app`` puts the HTTP API of the document in front of it. Time only moves when
the clock does: before every request the state catches up with the clock, replaying in order
each loan that returned itself and each ready hold that lapsed, so a test that advances a
``ManualClock`` by 30 days sees exactly what 30 real days would have done.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.domain.clock import Clock

__all__ = [
    "ELIBRARY_STATE",
    "JST",
    "SEED_TITLES",
    "ElibraryError",
    "ElibrarySimulatorConfig",
    "ElibraryState",
    "SimTitle",
    "create_elibrary_app",
    "load_simulator_config",
    "start_elibrary_simulator",
    "system_clock",
]

JST = timezone(timedelta(hours=9), "JST")


def system_clock() -> datetime:
    """Wall-clock time in Japan."""
    return datetime.now(JST)


class SimTitle(BaseModel):
    """A licensed title of the simulated e-library, with its number of copies."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="titleId", min_length=1)
    title: str
    author: str | None = None
    publisher: str | None = None
    isbn: str | None = None
    copies: int = Field(1, ge=0)


def _seed(rows: Iterable[tuple[str, str, str, int]]) -> tuple[SimTitle, ...]:
    return tuple(
        SimTitle(id=f"KD{n:06d}", title=t, author=a, publisher=p, copies=c)
        for n, (t, a, p, c) in enumerate(rows, start=1)
    )


# Japanese public-domain classics (as on 青空文庫), so the demo data is real but free of rights;
# copy counts vary so that some titles queue and some do not.
SEED_TITLES: tuple[SimTitle, ...] = _seed(
    [
        ("こころ", "夏目漱石", "電子文庫きのでん", 2),
        ("吾輩は猫である", "夏目漱石", "電子文庫きのでん", 1),
        ("坊っちゃん", "夏目漱石", "電子文庫きのでん", 3),
        ("三四郎", "夏目漱石", "電子文庫きのでん", 1),
        ("羅生門", "芥川龍之介", "電子文庫きのでん", 2),
        ("蜘蛛の糸", "芥川龍之介", "電子文庫きのでん", 1),
        ("河童", "芥川龍之介", "電子文庫きのでん", 1),
        ("銀河鉄道の夜", "宮沢賢治", "電子文庫きのでん", 3),
        ("注文の多い料理店", "宮沢賢治", "電子文庫きのでん", 2),
        ("風の又三郎", "宮沢賢治", "電子文庫きのでん", 1),
        ("人間失格", "太宰治", "電子文庫きのでん", 2),
        ("走れメロス", "太宰治", "電子文庫きのでん", 1),
        ("斜陽", "太宰治", "電子文庫きのでん", 1),
        ("舞姫", "森鷗外", "電子文庫きのでん", 1),
        ("高瀬舟", "森鷗外", "電子文庫きのでん", 1),
        ("たけくらべ", "樋口一葉", "電子文庫きのでん", 1),
        ("にごりえ", "樋口一葉", "電子文庫きのでん", 1),
        ("檸檬", "梶井基次郎", "電子文庫きのでん", 1),
        ("山月記", "中島敦", "電子文庫きのでん", 2),
        ("李陵", "中島敦", "電子文庫きのでん", 1),
        ("ごん狐", "新美南吉", "電子文庫きのでん", 2),
        ("手袋を買いに", "新美南吉", "電子文庫きのでん", 1),
        ("武蔵野", "国木田独歩", "電子文庫きのでん", 1),
        ("破戒", "島崎藤村", "電子文庫きのでん", 1),
        ("蟹工船", "小林多喜二", "電子文庫きのでん", 1),
        ("城の崎にて", "志賀直哉", "電子文庫きのでん", 1),
        ("桜の森の満開の下", "坂口安吾", "電子文庫きのでん", 1),
        ("怪人二十面相", "江戸川乱歩", "電子文庫きのでん", 2),
        ("遠野物語", "柳田国男", "電子文庫きのでん", 1),
        ("学問のすすめ", "福沢諭吉", "電子文庫きのでん", 1),
    ]
)


class ElibrarySimulatorConfig(BaseModel):
    """Rules, credentials and catalogue of the simulated e-library (Ibaraki's limits by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = "ils-gateway"
    client_secret: str = Field("simulator-secret", repr=False)
    token_lifetime_seconds: int = Field(3600, ge=1)
    loan_days: int = Field(15, ge=1)
    hold_ready_days: int = Field(7, ge=1, description="an available hold is kept this long")
    max_loans: int = Field(3, ge=0)
    max_holds: int = Field(3, ge=0)
    patrons: frozenset[str] | None = Field(
        None, description="registered card numbers; None registers any card on first use"
    )
    blocked_cards: frozenset[str] = frozenset()
    expired_cards: frozenset[str] = frozenset()
    titles: tuple[SimTitle, ...] = SEED_TITLES


def load_simulator_config(path: Path) -> ElibrarySimulatorConfig:
    """Read a simulator configuration (rules, patrons, titles) from a JSON file."""
    return ElibrarySimulatorConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))


class ElibraryError(Exception):
    """An error answer of the e-library API: HTTP status and errorCode from the document."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class _Loan:
    card: str
    title_id: str
    borrowed: datetime
    due: datetime


@dataclass
class _Hold:
    card: str
    title_id: str
    placed: datetime
    email: str | None = None
    ready_since: datetime | None = None
    ready_until: datetime | None = None

    @property
    def ready(self) -> bool:
        return self.ready_until is not None


@dataclass
class _Event:
    seq: int
    type: str
    card: str
    title_id: str
    at: datetime


@dataclass
class ElibraryState:
    """Licensed copies, loans, hold queues and mail-worthy events of one simulated e-library."""

    config: ElibrarySimulatorConfig
    clock: Clock
    titles: dict[str, SimTitle] = field(init=False)
    loans: list[_Loan] = field(default_factory=list)
    # Per title, holds in queue order; ready holds stay at the front until borrowed or lapsed.
    holds: dict[str, list[_Hold]] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    tokens: dict[str, datetime] = field(default_factory=dict)
    _token_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _caught_up_to: datetime | None = None

    def __post_init__(self) -> None:
        self.titles = {t.id: t for t in self.config.titles}

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        """Catch up with the clock (auto returns, lapsed holds) and return the time."""
        now = self.clock()
        if self._caught_up_to is not None and now < self._caught_up_to:
            raise RuntimeError("the simulator clock went backwards")
        self._catch_up(now)
        self._caught_up_to = now
        return now

    def _catch_up(self, now: datetime) -> None:
        # Replay due instants in time order: a copy freed on day 15 may make a hold ready
        # that then lapses on day 22, all within one jump of the clock.
        while True:
            due: list[tuple[datetime, int, str, str, _Loan | _Hold]] = [
                (loan.due, 0, loan.card, loan.title_id, loan) for loan in self.loans
            ]
            due += [
                (h.ready_until, 1, h.card, h.title_id, h)
                for queue in self.holds.values()
                for h in queue
                if h.ready_until is not None
            ]
            due = [d for d in due if d[0] <= now]
            if not due:
                return
            at, kind, card, title_id, what = min(due, key=lambda d: d[:4])
            if kind == 0:
                assert isinstance(what, _Loan)
                self.loans.remove(what)
                self._record("loan_returned", card, title_id, at)
            else:
                assert isinstance(what, _Hold)
                self.holds[title_id].remove(what)
                self._record("hold_expired", card, title_id, at)
            self._allocate(title_id, at)

    def _allocate(self, title_id: str, at: datetime) -> None:
        """Give free copies to the first queued holds, from instant ``at``."""
        for hold in self.holds.get(title_id, []):
            if self._free_copies(title_id) <= 0:
                return
            if not hold.ready:
                hold.ready_since = at
                hold.ready_until = at + timedelta(days=self.config.hold_ready_days)
                self._record("hold_ready", hold.card, title_id, at)

    def _record(self, kind: str, card: str, title_id: str, at: datetime) -> None:
        self.events.append(_Event(next(self._seq), kind, card, title_id, at))

    # -- counts ------------------------------------------------------------------------

    def _free_copies(self, title_id: str) -> int:
        lent = sum(1 for loan in self.loans if loan.title_id == title_id)
        kept = sum(1 for h in self.holds.get(title_id, []) if h.ready)
        return self.titles[title_id].copies - lent - kept

    def _queued(self, title_id: str) -> list[_Hold]:
        return [h for h in self.holds.get(title_id, []) if not h.ready]

    # -- auth --------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int]:
        """A new bearer token for the library's client credentials."""
        if (client_id, client_secret) != (self.config.client_id, self.config.client_secret):
            raise ElibraryError(401, "invalid_client", "client authentication failed")
        token = f"kd-token-{next(self._token_ids):06d}"
        lifetime = self.config.token_lifetime_seconds
        self.tokens[token] = self.clock() + timedelta(seconds=lifetime)
        return token, lifetime

    def check_token(self, token: str | None) -> None:
        """Raise InvalidToken unless ``token`` was issued, is unexpired and not revoked."""
        expires = self.tokens.get(token or "")
        if expires is None or self.clock() >= expires:
            raise ElibraryError(401, "InvalidToken", "アクセストークンが無効です")

    def revoke_tokens(self) -> None:
        """Forget every issued token (a key rotation or restart on the e-library's side)."""
        self.tokens.clear()

    # -- patrons and titles --------------------------------------------------------------

    def check_patron(self, card: str | None) -> str:
        """The card number if the patron may use the e-library now, else the API's error."""
        if not card:
            raise ElibraryError(400, "InvalidRequest", "X-Patron-Card ヘッダーが必要です")
        patrons = self.config.patrons
        if patrons is not None and card not in patrons:
            raise ElibraryError(404, "PatronNotFound", "利用者が登録されていません")
        if card in self.config.blocked_cards:
            raise ElibraryError(403, "PatronBlocked", "利用が停止されています")
        if card in self.config.expired_cards:
            raise ElibraryError(403, "PatronCardExpired", "利用者カードの有効期限が切れています")
        return card

    def title(self, title_id: str) -> SimTitle:
        """The title, or TitleNotFound."""
        try:
            return self.titles[title_id]
        except KeyError:
            raise ElibraryError(404, "TitleNotFound", "資料が見つかりません") from None

    def title_json(self, title_id: str) -> dict[str, Any]:
        """A Title object of the API document."""
        t = self.titles[title_id]
        return {
            "titleId": t.id,
            "title": t.title,
            "author": t.author,
            "publisher": t.publisher,
            "isbn": t.isbn,
            "copiesOwned": t.copies,
            "copiesAvailable": max(0, self._free_copies(t.id)),
            "holdsWaiting": len(self._queued(t.id)),
        }

    # -- loans -------------------------------------------------------------------------

    def checkouts(self, card: str) -> list[_Loan]:
        """The patron's loans, earliest due first."""
        return sorted((x for x in self.loans if x.card == card), key=lambda x: (x.due, x.title_id))

    def borrow(self, card: str, title_id: str) -> _Loan:
        """Lend the title: a free copy, or the one kept for the patron's available hold."""
        now = self.now()
        self.title(title_id)
        if any(x.card == card and x.title_id == title_id for x in self.loans):
            raise ElibraryError(409, "TitleAlreadyCheckedOut", "この資料は貸出中です")
        if len(self.checkouts(card)) >= self.config.max_loans:
            raise ElibraryError(409, "PatronLoanLimitReached", "貸出できる点数の上限に達しています")
        own = self._hold_of(card, title_id)
        if own is not None and own.ready:
            self.holds[title_id].remove(own)  # the kept copy becomes the loan
        elif self._free_copies(title_id) <= 0:
            raise ElibraryError(409, "NoCopiesAvailable", "全ての貸出枠が利用中です")
        elif own is not None:
            self.holds[title_id].remove(own)  # a copy is free anyway: the hold is fulfilled
        loan = _Loan(card, title_id, now, now + timedelta(days=self.config.loan_days))
        self.loans.append(loan)
        return loan

    def return_early(self, card: str, title_id: str) -> None:
        """End the patron's loan now; the copy goes to the next hold."""
        now = self.now()
        for loan in self.loans:
            if loan.card == card and loan.title_id == title_id:
                self.loans.remove(loan)
                self._allocate(title_id, now)
                return
        raise ElibraryError(404, "TitleNotCheckedOut", "この資料は借りていません")

    # -- holds -------------------------------------------------------------------------

    def _hold_of(self, card: str, title_id: str) -> _Hold | None:
        return next((h for h in self.holds.get(title_id, []) if h.card == card), None)

    def patron_holds(self, card: str) -> list[_Hold]:
        """The patron's holds, in the order they were placed."""
        mine = [h for queue in self.holds.values() for h in queue if h.card == card]
        return sorted(mine, key=lambda h: (h.placed, h.title_id))

    def position(self, hold: _Hold) -> int | None:
        """1-based place among queued holds of the title; None once available."""
        if hold.ready:
            return None
        return self._queued(hold.title_id).index(hold) + 1

    def place_hold(self, card: str, title_id: str, email: str | None) -> _Hold:
        """Queue the patron for the next free copy of the title."""
        now = self.now()
        self.title(title_id)
        if any(x.card == card and x.title_id == title_id for x in self.loans):
            raise ElibraryError(409, "TitleAlreadyCheckedOut", "この資料は貸出中です")
        if self._hold_of(card, title_id) is not None:
            raise ElibraryError(409, "AlreadyOnHold", "すでに予約しています")
        if len(self.patron_holds(card)) >= self.config.max_holds:
            raise ElibraryError(409, "PatronHoldLimitReached", "予約できる点数の上限に達しています")
        if self._free_copies(title_id) > 0:
            raise ElibraryError(409, "TitleAvailableForCheckout", "貸出可能です。予約は不要です")
        hold = _Hold(card, title_id, now, email)
        self.holds.setdefault(title_id, []).append(hold)
        return hold

    def cancel_hold(self, card: str, title_id: str) -> None:
        """Withdraw the patron's hold; a copy kept for it goes to the next in the queue."""
        now = self.now()
        hold = self._hold_of(card, title_id)
        if hold is None:
            raise ElibraryError(404, "HoldNotFound", "この資料は予約していません")
        self.holds[title_id].remove(hold)
        self._allocate(title_id, now)


# -- HTTP face -------------------------------------------------------------------------

ELIBRARY_STATE = web.AppKey("elibrary_state", ElibraryState)


def _error(exc: ElibraryError, state: ElibraryState) -> web.Response:
    body = {"errorCode": exc.code, "message": exc.message, "token": f"err-{len(state.events)}"}
    if exc.code in ("invalid_client", "unsupported_grant_type"):
        body = {"error": exc.code, "error_description": exc.message}
    headers = {}
    if exc.status == 401 and exc.code == "InvalidToken":
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return web.json_response(body, status=exc.status, headers=headers)


@web.middleware
async def _api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[ELIBRARY_STATE]
    try:
        if request.path.startswith(("/v1/", "/admin/events")):
            auth = request.headers.get("Authorization", "")
            state.check_token(auth[7:] if auth.startswith("Bearer ") else None)
        return await handler(request)
    except ElibraryError as exc:
        return _error(exc, state)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _checkout_json(state: ElibraryState, loan: _Loan) -> dict[str, Any]:
    return {
        "titleId": loan.title_id,
        "title": state.title_json(loan.title_id),
        "checkedOutAt": _iso(loan.borrowed),
        "dueAt": _iso(loan.due),
        "autoReturn": True,
    }


def _hold_json(state: ElibraryState, hold: _Hold) -> dict[str, Any]:
    return {
        "titleId": hold.title_id,
        "title": state.title_json(hold.title_id),
        "placedAt": _iso(hold.placed),
        "status": "available" if hold.ready else "queued",
        "position": state.position(hold),
        "availableAt": _iso(hold.ready_since),
        "expiresAt": _iso(hold.ready_until),
    }


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ElibraryError(400, "InvalidRequest", "JSON が読めません") from None
    if not isinstance(body, dict) or not isinstance(body.get("titleId"), str):
        raise ElibraryError(400, "InvalidRequest", "titleId が必要です")
    return body


async def _token(request: web.Request) -> web.Response:
    state = request.app[ELIBRARY_STATE]
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        raise ElibraryError(400, "unsupported_grant_type", "client_credentials only")
    token, lifetime = state.issue_token(
        str(form.get("client_id", "")), str(form.get("client_secret", ""))
    )
    return web.json_response(
        {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
    )


async def _titles(request: web.Request) -> web.Response:
    state = request.app[ELIBRARY_STATE]
    state.now()
    ids = request.query.get("ids")
    wanted = [i for i in ids.split(",") if i in state.titles] if ids else list(state.titles)
    return web.json_response({"titles": [state.title_json(i) for i in wanted]})


async def _title(request: web.Request) -> web.Response:
    state = request.app[ELIBRARY_STATE]
    state.now()
    title = state.title(request.match_info["title_id"])
    return web.json_response(state.title_json(title.id))


def _patron(request: web.Request) -> tuple[ElibraryState, str]:
    state = request.app[ELIBRARY_STATE]
    state.now()
    return state, state.check_patron(request.headers.get("X-Patron-Card"))


async def _list_checkouts(request: web.Request) -> web.Response:
    state, card = _patron(request)
    return web.json_response(
        {"checkouts": [_checkout_json(state, x) for x in state.checkouts(card)]}
    )


async def _borrow(request: web.Request) -> web.Response:
    state, card = _patron(request)
    body = await _body(request)
    loan = state.borrow(card, body["titleId"])
    return web.json_response(_checkout_json(state, loan), status=201)


async def _return(request: web.Request) -> web.Response:
    state, card = _patron(request)
    state.return_early(card, request.match_info["title_id"])
    return web.Response(status=204)


async def _list_holds(request: web.Request) -> web.Response:
    state, card = _patron(request)
    return web.json_response({"holds": [_hold_json(state, h) for h in state.patron_holds(card)]})


async def _place_hold(request: web.Request) -> web.Response:
    state, card = _patron(request)
    body = await _body(request)
    email = body.get("emailAddress")
    hold = state.place_hold(card, body["titleId"], email if isinstance(email, str) else None)
    return web.json_response(_hold_json(state, hold), status=201)


async def _cancel_hold(request: web.Request) -> web.Response:
    state, card = _patron(request)
    state.cancel_hold(card, request.match_info["title_id"])
    return web.Response(status=204)


async def _events(request: web.Request) -> web.Response:
    state = request.app[ELIBRARY_STATE]
    state.now()
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise ElibraryError(400, "InvalidRequest", "after must be an integer") from None
    events = [
        {
            "seq": e.seq,
            "type": e.type,
            "cardNumber": e.card,
            "titleId": e.title_id,
            "at": _iso(e.at),
        }
        for e in state.events
        if e.seq > after
    ]
    return web.json_response({"events": events})


async def _revoke_tokens(request: web.Request) -> web.Response:
    # Simulator only: lets tests make every issued token stale, as a key rotation would.
    request.app[ELIBRARY_STATE].revoke_tokens()
    return web.Response(status=204)


def create_elibrary_app(
    config: ElibrarySimulatorConfig | None = None, clock: Clock = system_clock
) -> web.Application:
    """The simulated e-library as an aiohttp application (state under ``ELIBRARY_STATE``)."""
    app = web.Application(middlewares=[_api_errors])
    app[ELIBRARY_STATE] = ElibraryState(config or ElibrarySimulatorConfig(), clock)
    app.router.add_post("/oauth/token", _token)
    app.router.add_get("/v1/titles", _titles)
    app.router.add_get("/v1/titles/{title_id}", _title)
    app.router.add_get("/v1/patron/checkouts", _list_checkouts)
    app.router.add_post("/v1/patron/checkouts", _borrow)
    app.router.add_delete("/v1/patron/checkouts/{title_id}", _return)
    app.router.add_get("/v1/patron/holds", _list_holds)
    app.router.add_post("/v1/patron/holds", _place_hold)
    app.router.add_delete("/v1/patron/holds/{title_id}", _cancel_hold)
    app.router.add_get("/admin/events", _events)
    app.router.add_post("/admin/revoke-tokens", _revoke_tokens)
    return app


async def start_elibrary_simulator(
    config: ElibrarySimulatorConfig | None = None,
    clock: Clock = system_clock,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> tuple[web.AppRunner, str]:
    """Start the simulator in this event loop; returns the runner (to clean up) and base URL."""
    runner = web.AppRunner(create_elibrary_app(config, clock))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}"
