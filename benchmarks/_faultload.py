"""The write workload of the fault benchmark, and how its outcome is judged.

Shared by ``benchmarks/faults.py`` (gateway and ILS in their own processes) and
``tests/api/test_faults_short.py`` (in-process). Each patron is one portal client that runs
its operations one after the other (renew a loan, place a hold, move a hold's pickup library,
cancel a hold) through the HTTP API over real sockets; the patrons run concurrently. Before
an operation a fault is armed on the proxy with probability ``fault_rate``, aimed at that
operation's write: its SIP2 frame (29 renew, 15+ place, 15* change, 15- cancel, for that
patron) or its Koha REST call (POST …/checkouts/{id}/renewal, POST /holds for that patron,
PUT …/holds/{id}/pickup_location, DELETE …/holds/{id}).
A failed call (no answer, a 5xx, a 429, or a hold result with ``outcome: error``) is sent
again with the same Idempotency-Key, at most ``ATTEMPTS`` times with backoff, as the API docs
tell portals to.

The library system's own state of the patron (read from the simulator itself, never through
the gateway or the proxy) is taken before each operation; the state before the patron's next
operation (or the final state, taken once the proxy has relayed everything it held back) is
what the operation left behind. Each operation is then judged on that difference:

- **lost**: the client was told success (renew 200 ``ok``, hold result ``ok``, change 200,
  cancel 204/202) but the ILS does not show it (due date not moved, no open hold on the
  title, pickup library not the new one, the hold still open and no cancellation requested);
- **doubled**: the write was carried out more than once for one logical operation (renewal:
  the renewal count rose by 2 or more, or the due date moved by more than one renewal
  period; hold: more than one hold record created for the title);
- **contradicted**: the client was given a final "not done" (a 4xx refusal, 404) but the ILS
  shows it done by this operation;
- **still-unknown**: after the bounded retries the client still has no final answer (a 5xx,
  no answer, or a hold result ``outcome: error``), whatever the ILS did.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import aiohttp
from _faultproxy import Armed, Fault, FaultProxy, HttpFaultProxy, http_request, sip2_request

ATTEMPTS = 4  # per logical operation, the first included
BACKOFF = 0.25  # seconds before the second attempt; doubles each time, at most 2 s
CALL_TIMEOUT = 30.0  # seconds a client waits for one answer before it counts as no answer
PICKUPS = ("CEN", "KITA", "MINAMI", "EKI")
RENEWAL_DAYS = 14
TENANT = "faults"
DEADLINE = 10.0  # seconds: the default request deadline of a tenant (issue 13)
FAULT_KINDS = tuple(Fault)


# -- the library system's data and the tenant that serves it --------------------------------


def prepare_library(library: Any) -> None:
    """House rules under which every operation of the workload may succeed, so that any
    failure is the faults' doing: renewals without limit, each moving the due date by 14 days
    from the old due date (a double renewal shows as 28 days), renewals while others wait,
    overdue loans renewable, no hold limits; every demo patron's card valid and unblocked."""
    from ils_gateway.simulators.policy import OverdueRenewal, RenewalBasis

    library.data.rules = replace(
        library.data.rules,
        max_renewals=1_000_000,
        renewal_basis=RenewalBasis.DUE_DATE,
        renew_when_others_wait=True,
        overdue_renewal=OverdueRenewal.ALLOW,
        earliest_renewal_days_before_due=None,
        renew_interlibrary_loans=True,
        renewal_excluded_types=(),
        max_holds=None,
        hold_limits=(),
        overdue_days_blocking_holds=None,
        inactive_block_years=None,
    )
    for patron in library.data.patrons:
        patron.expiry_date = date(2099, 3, 31)
        patron.block_note = None
        patron.temporary_password = False
    for fee in getattr(library.data, "fees", []):
        fee.paid = fee.amount


def tenant_toml(
    port: int, *, timeout: float | None, login_password: str, backend: str = "sip2"
) -> str:
    """The tenant file the gateway is served with: its library system at ``127.0.0.1:port``
    (the proxy), SIP2 (login ``gateway`` / ``login_password``) or Koha REST (the Koha
    simulator's OAuth client), each backend timeout ``timeout`` s (None: the defaults)."""
    timeouts = (
        f"timeouts = {{ connect = {timeout}, read = {timeout}, write = {timeout}, "
        f"pool = {timeout} }}"
        if timeout is not None
        else ""
    )
    if backend == "koha":
        connection = f"""
[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:{port}"
auth = "oauth2"
client_id = "koha-demo-gateway"
client_secret = "koha-demo-secret"
hold_level = "biblio"
{timeouts}
"""
    else:
        pickups = "\n".join(
            f'[[tenants.pickup_libraries]]\ncode = "{c}"\nname = "{c}"' for c in PICKUPS
        )
        connection = f"""
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = {port}
institution_id = "MIDORI"
login_user = "gateway"
login_password = "{login_password}"
title_hold_entries = "record_id_title"
expiry_field = "PA"
{timeouts}
refusal_patterns = [
  {{ pattern = "on_reserve|予約", reason = "has_holds" }},
  {{ pattern = "too_many|回数", reason = "renewal_limit" }},
]

{pickups}
"""
    return f"""
[[tenants]]
id = "{TENANT}"
name = "フォールト試験図書館"
{connection}
[tenants.policy.renewal]
max_renewals = 1000000
overdue = {{ mode = "allow" }}

[tenants.policy.holds]
max_total = 1000
"""


def holdable_titles(library: Any) -> dict[int, list[str]]:
    """Titles whose every copy is out (a hold on them stays pending, so it can be moved and
    cancelled), books only: record id → the barcodes of its copies (a hold is placed with the
    last)."""
    copies: dict[int, list[Any]] = {}
    for item in library.data.items:
        copies.setdefault(item.biblio_id, []).append(item)
    titles = {}
    for biblio_id, items in sorted(copies.items()):
        if library.biblio(biblio_id).item_type.value != "BK":
            continue
        if all(i.status.value not in ("available",) and not i.not_for_loan for i in items):
            titles[biblio_id] = [i.barcode for i in items]
    return titles


def patron_state(library: Any, card: str) -> dict[str, Any]:
    """What the library system holds for ``card``: its record id, loans (due date, renewals,
    loan record id = Koha's checkout_id) and every hold
    record, open or closed. JSON-ready (the benchmark's ILS process serves it)."""
    patron = next(p for p in library.data.patrons if p.card_number == card)
    items = {item.id: item for item in library.data.items}
    loans = {
        items[loan.item_id].barcode: [loan.due.isoformat(), loan.renewals, loan.id]
        for loan in library.data.loans
        if loan.patron_id == patron.id and loan.returned is None
    }
    holds = [
        {
            "id": hold.id,
            "biblio": hold.biblio_id,
            "state": hold.state.value,
            "pickup": hold.pickup,
            "cancellation_requested": hold.cancellation_requested,
            "suspended": hold.suspended,
            "item_level": hold.item_level,
        }
        for hold in library.data.holds
        if hold.patron_id == patron.id
    ]
    return {"patron_id": patron.id, "loans": loans, "holds": holds}


# -- one portal client -------------------------------------------------------------------------

Snapshot = Callable[[str], Awaitable[dict[str, Any]]]
_CLOSED = ("cancelled", "lapsed", "filled")


@dataclass
class Op:
    """One logical operation and everything seen about it."""

    kind: str  # renew | place | change | cancel
    card: str
    target: str  # loan barcode, or the hold's record id
    pickup: str | None = None
    fault: str | None = None  # armed and fired
    statuses: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    final: str = "unknown"  # ok | refused | not_found | unknown
    elapsed: float = 0.0
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""
    note: str = ""


class Client:
    """A portal acting for one patron, over its own HTTP connection pool."""

    def __init__(
        self,
        base: str,
        card: str,
        password: str,
        session: aiohttp.ClientSession,
        rng: random.Random,
    ) -> None:
        self.base, self.card, self.password = f"{base}/v1/tenants/{TENANT}", card, password
        self.session, self.rng = session, rng
        self.token = ""

    async def login(self) -> bool:
        for _ in range(ATTEMPTS):
            try:
                async with self.session.post(
                    f"{self.base}/sessions",
                    json={"card_number": self.card, "password": self.password},
                ) as response:
                    if response.status == 201:
                        self.token = (await response.json())["token"]
                        return True
                    if response.status < 500:
                        return False
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.5)
        return False

    async def call(self, op: Op, method: str, path: str, body: Any = None) -> None:
        """Send until a final answer or ``ATTEMPTS`` tries, one Idempotency-Key throughout."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": f"{op.kind}-{self.rng.getrandbits(64):016x}",
        }
        started = time.perf_counter()
        for attempt in range(ATTEMPTS):
            if attempt:
                wait = min(2.0, BACKOFF * 2 ** (attempt - 1))
                await asyncio.sleep(wait * (0.5 + self.rng.random()))
            t0 = time.perf_counter()
            try:
                async with self.session.request(
                    method, self.base + path, json=body, headers=headers
                ) as response:
                    status = response.status
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                op.latencies.append(time.perf_counter() - t0)
                op.statuses.append(f"no answer ({type(exc).__name__})")
                continue
            op.latencies.append(time.perf_counter() - t0)
            final, label = _judge_answer(op.kind, status, text)
            op.statuses.append(label)
            if final != "retry":
                op.final = final
                break
        op.elapsed = time.perf_counter() - started


def _judge_answer(kind: str, status: int, text: str) -> tuple[str, str]:
    """(ok | refused | not_found | retry, label for the table) for one HTTP answer."""
    body: Any = None
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    slug = ""
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        slug = body["type"].rsplit("/", 1)[-1]
    label = f"{status} {slug}".strip()
    if status >= 500 or status == 429:
        return "retry", label
    if kind == "place" and status == 200:
        result = (body or {}).get("results", [{}])[0]
        outcome = result.get("outcome")
        label = f"200 {outcome}" + (f" {result.get('error_type')}" if outcome == "error" else "")
        if outcome == "ok":
            return "ok", label
        if outcome == "refused":
            return "refused", f"200 refused {result.get('reason')}"
        return "retry", label
    if kind == "renew" and status == 200:
        return ("ok" if (body or {}).get("outcome") == "ok" else "refused"), label
    if status in (200, 202, 204):
        return "ok", label
    if status == 404:
        return "not_found", label
    return "refused", label


# -- the workload -------------------------------------------------------------------------------


@dataclass
class Workload:
    base: str
    proxy: FaultProxy | HttpFaultProxy
    snapshot: Snapshot
    patrons: list[tuple[str, str]]
    titles: dict[int, list[str]]
    operations: int
    fault_rate: float
    seed: int
    backend: str = "sip2"
    ops: list[Op] = field(default_factory=list)
    logins_failed: list[str] = field(default_factory=list)
    _left: int = 0

    async def run(self) -> list[Op]:
        self._left = self.operations
        timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(
                *(
                    self._patron(session, number, card, password)
                    for number, (card, password) in enumerate(self.patrons)
                )
            )
        return self.ops

    async def settle(self, wait: float) -> None:
        """Let the proxy relay what it held, then judge every operation on the final state."""
        await self.proxy.idle(wait)
        final: dict[str, dict[str, Any]] = {}
        for op in reversed(self.ops):  # each op's after is the next op's before
            if op.card not in final:
                final[op.card] = await self.snapshot(op.card)
                op.after = final[op.card]
            judge(op)

    async def _patron(
        self, session: aiohttp.ClientSession, number: int, card: str, password: str
    ) -> None:
        rng = random.Random(self.seed * 1000 + number)
        client = Client(self.base, card, password, session, rng)
        if not await client.login():
            self.logins_failed.append(card)
            return
        previous: Op | None = None
        while self._left > 0:
            self._left -= 1
            state = await self.snapshot(card)
            if previous is not None:
                previous.after = state
            op = self._choose(rng, card, state)
            op.before = state
            armed: Armed | None = None
            if rng.random() < self.fault_rate:
                match = _frame_of(op, state) if self.backend == "sip2" else _call_of(op, state)
                armed = self.proxy.arm(rng.choice(FAULT_KINDS), match)
            try:
                await self._send(client, op)
            finally:
                if armed is not None:
                    self.proxy.disarm(armed)
                    op.fault = armed.kind.value if armed.fired else None
            self.ops.append(op)
            previous = op

    def _choose(self, rng: random.Random, card: str, state: dict[str, Any]) -> Op:
        # Holds the patron may move or cancel: waiting, not suspended, on the whole title.
        open_held = sorted(
            h["biblio"] for h in state["holds"] if _movable(h) and h["biblio"] in self.titles
        )
        all_open = {h["biblio"] for h in state["holds"] if h["state"] not in _CLOSED}
        on_loan = set(state["loans"])
        free = [
            b
            for b, barcodes in self.titles.items()
            if b not in all_open and not (on_loan & set(barcodes))
        ]
        kinds = ["renew"] * 4
        if free and len(open_held) < 6:
            kinds += ["place"] * 3
        if open_held:
            kinds += ["change"] * 2 + ["cancel"] * 2
        kind = rng.choice(kinds) if state["loans"] or len(kinds) > 4 else "place"
        if kind == "renew" and state["loans"]:
            return Op("renew", card, rng.choice(sorted(state["loans"])))
        if kind == "change":
            biblio = rng.choice(open_held)
            current = _open_hold(state, biblio)["pickup"]
            pickup = rng.choice([p for p in PICKUPS if p != current])
            return Op("change", card, str(biblio), pickup=pickup)
        if kind == "cancel":
            return Op("cancel", card, str(rng.choice(open_held)))
        return Op("place", card, str(rng.choice(free)), pickup=rng.choice(PICKUPS))

    async def _send(self, client: Client, op: Op) -> None:
        if op.kind == "renew":
            await client.call(op, "POST", f"/loans/{op.target}/renewal")
        elif op.kind == "place":
            body = {"item_ids": [self.titles[int(op.target)][-1]], "pickup_library": op.pickup}
            await client.call(op, "POST", "/holds", body)
        elif op.kind == "change":
            ref = self._hold_ref(op)
            await client.call(op, "PATCH", f"/holds/{ref}", {"pickup_library": op.pickup})
        else:
            await client.call(op, "DELETE", f"/holds/{self._hold_ref(op)}")

    def _hold_ref(self, op: Op) -> str:
        """The API's id of the open hold on the title: ``title:<record id>`` over SIP2 (a
        title-level hold is listed by its record), Koha's hold_id over Koha."""
        if self.backend == "sip2":
            return f"title:{op.target}"
        return str(_open_hold(op.before, int(op.target))["id"])


def _movable(hold: dict[str, Any]) -> bool:
    return hold["state"] == "pending" and not hold["suspended"] and not hold["item_level"]


def _open_hold(state: dict[str, Any], biblio: int) -> dict[str, Any]:
    return next(h for h in state["holds"] if h["biblio"] == biblio and _movable(h))


def _call_of(op: Op, state: dict[str, Any]) -> Callable[[bytes], bool]:
    """The Koha REST call of ``op`` (``_faultproxy.http_request``)."""
    if op.kind == "renew":
        checkout = state["loans"][op.target][2]
        return http_request("POST", f"/api/v1/checkouts/{checkout}/renewal")
    if op.kind == "place":
        return http_request("POST", "/api/v1/holds", patron_id=state["patron_id"])
    hold = _open_hold(state, int(op.target))["id"]
    if op.kind == "change":
        return http_request("PUT", f"/api/v1/holds/{hold}/pickup_location")
    return http_request("DELETE", f"/api/v1/holds/{hold}")


def _frame_of(op: Op, state: dict[str, Any]) -> Callable[[bytes], bool]:
    """The SIP2 request frame of ``op`` (29, 15+, 15*, 15-, this patron's)."""
    if op.kind == "renew":
        return sip2_request("29", card=op.card, item=op.target)
    mode = {"place": "15+", "change": "15*", "cancel": "15-"}[op.kind]
    return sip2_request(mode, card=op.card)


# -- judging ------------------------------------------------------------------------------------


def judge(op: Op) -> None:
    """Set ``op.verdict``: good, lost, doubled, contradicted or unknown (see module doc)."""
    done, doubled, note = _effect(op)
    op.note = note
    told_done = op.final == "ok"
    if doubled:
        op.verdict = "doubled"
    elif told_done and not done:
        op.verdict = "lost"
    elif op.final in ("refused", "not_found") and done:
        op.verdict = "contradicted"
    elif op.final == "unknown":
        op.verdict = "unknown"
    else:
        op.verdict = "good"


def _effect(op: Op) -> tuple[bool, bool, str]:
    """(the ILS shows the operation done, done more than once, detail) from before/after."""
    before, after = op.before, op.after
    if op.kind == "renew":
        due0, n0, _ = before["loans"][op.target]
        due1, n1, _ = after["loans"].get(op.target, before["loans"][op.target])
        moved = (date.fromisoformat(due1) - date.fromisoformat(due0)).days
        renewals = n1 - n0
        note = f"renewals +{renewals}, due +{moved} d"
        return renewals >= 1, renewals >= 2 or moved > RENEWAL_DAYS, note
    biblio = int(op.target)
    known = {h["id"] for h in before["holds"]}
    new = [h for h in after["holds"] if h["biblio"] == biblio and h["id"] not in known]
    open_after = [h for h in after["holds"] if h["biblio"] == biblio and h["state"] not in _CLOSED]
    note = f"new hold records {len(new)}, open after {len(open_after)}"
    if op.kind == "place":
        return bool(open_after), len(new) >= 2, note
    if op.kind == "change":
        moved = bool(open_after) and all(h["pickup"] == op.pickup for h in open_after)
        return moved, len(new) >= 2 or len(open_after) >= 2, note + f", pickup → {op.pickup}"
    gone = not open_after or all(h["cancellation_requested"] for h in open_after)
    return gone, False, note


# -- the table ----------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, count: int, v: Counter[str]) -> str:
    return (
        f"  {name:<14}{count:>5}{v['good']:>6}{v['lost']:>6}{v['doubled']:>9}"
        f"{v['contradicted']:>14}{v['unknown']:>9}"
    )


@dataclass
class Summary:
    operations: int
    lost: int
    doubled: int
    contradicted: int
    unknown: int
    table: str

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.operations if self.operations else 0.0


def summarise(ops: list[Op], *, title: str) -> Summary:
    """The printed table: operations, faults, verdicts, statuses, latency."""
    verdicts = Counter(op.verdict for op in ops)
    by_kind = Counter(op.kind for op in ops)
    lines = [title, ""]
    lines.append(f"operations            {len(ops)}  ("
                 + ", ".join(f"{k} {by_kind[k]}" for k in ("renew", "place", "change", "cancel"))
                 + ")")  # fmt: skip
    faults = Counter(op.fault for op in ops if op.fault)
    lines.append(f"faults that struck    {sum(faults.values())}  ("
                 + ", ".join(f"{k} {faults[k]}" for k in FAULT_KINDS) + ")")  # fmt: skip
    unknown = verdicts["unknown"]
    share = unknown / len(ops) if ops else 0.0
    lines.append(f"lost                  {verdicts['lost']}   (target 0)")
    lines.append(f"doubled               {verdicts['doubled']}   (target 0)")
    lines.append(f"contradicted          {verdicts['contradicted']}   (told 'not done', was done)")
    lines.append(f"still unknown         {unknown}  = {share:.1%}   (target <= 1 %)")
    lines.append("")
    lines.append("by fault          ops  good  lost  doubled  contradicted  unknown")
    for kind in (None, *FAULT_KINDS):
        chosen = [op for op in ops if op.fault == (kind.value if kind else None)]
        v = Counter(op.verdict for op in chosen)
        name = kind.value if kind else "none"
        lines.append(_row(name, len(chosen), v))
    lines.append("")
    lines.append("by operation      ops  good  lost  doubled  contradicted  unknown")
    for kind in ("renew", "place", "change", "cancel"):
        v = Counter(op.verdict for op in ops if op.kind == kind)
        lines.append(_row(kind, by_kind[kind], v))
    lines.append("")
    statuses = Counter(s for op in ops for s in op.statuses)
    lines.append("statuses seen (every attempt): "
                 + ", ".join(f"{s} ×{n}" for s, n in statuses.most_common()))  # fmt: skip
    attempts = [t for op in ops for t in op.latencies]
    elapsed = [op.elapsed for op in ops]
    worst = max(attempts, default=0.0)
    lines.append(f"latency per call      p50 {_pct(attempts, 0.5) * 1000:.0f} ms, "
                 f"p99 {_pct(attempts, 0.99) * 1000:.0f} ms, max {worst:.1f} s")  # fmt: skip
    late = sum(t > DEADLINE + 1 for t in attempts)
    lines.append(f"calls over {DEADLINE + 1:g} s     {late}  (the tenant's default request "
                 f"deadline {DEADLINE:g} s + 1 s)")  # fmt: skip
    lines.append(f"latency per operation p50 {_pct(elapsed, 0.5) * 1000:.0f} ms, "
                 f"p99 {_pct(elapsed, 0.99) * 1000:.0f} ms (retries included)")  # fmt: skip
    bad = [op for op in ops if op.verdict in ("lost", "doubled", "contradicted")]
    if bad:
        lines.append("")
        lines.append("examples (operation, fault, what the client saw → what the ILS did):")
        shown: Counter[tuple[str, str, str | None]] = Counter()
        for op in bad:
            key = (op.verdict, op.kind, op.fault)
            shown[key] += 1
            if shown[key] <= 2:
                lines.append(f"  {op.verdict}: {op.kind} {op.target}, fault {op.fault}: "
                             f"{' → '.join(op.statuses)} | ILS: {op.note}")  # fmt: skip
    unknown_ops = [op for op in ops if op.verdict == "unknown"]
    if unknown_ops:
        lines.append("")
        lines.append("still unknown (operation, fault, answers | ILS):")
        shown_u: Counter[tuple[str, str | None]] = Counter()
        for op in unknown_ops:
            key_u = (op.kind, op.fault)
            shown_u[key_u] += 1
            if shown_u[key_u] <= 2:
                lines.append(f"  {op.kind} {op.target}, fault {op.fault}: "
                             f"{' → '.join(op.statuses)} | ILS: {op.note}")  # fmt: skip
    return Summary(
        operations=len(ops),
        lost=verdicts["lost"],
        doubled=verdicts["doubled"],
        contradicted=verdicts["contradicted"],
        unknown=unknown,
        table="\n".join(lines),
    )
