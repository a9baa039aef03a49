"""The gateway attacked as deployed (issue 15): password guessing, hostile input, connection
limits, and a scan of Redis, the store and the log for personal data.

Run::

    .venv/bin/python benchmarks/attack.py              # about a minute or two
    .venv/bin/python benchmarks/attack.py --quick      # a short run (fewer samples)
    .venv/bin/python benchmarks/attack.py --redis off  # without Redis (default: auto)

Processes, all on 127.0.0.1 (loopback only):

- the library system: ``ils-gateway simulate sip2 --data FILE --login …`` over the seeded
  sample library (every card valid until 2099 and unblocked, so a refusal is the gateway's);
- the gateway: ``ils-gateway serve --config <generated tenant file> --store <temp SQLite>
  [--redis redis://127.0.0.1:6379/N]`` on a free port, its log (stdout and stderr) captured to
  a file. The tenant file is the demo tenant's (card rule, pickup libraries, e-library
  simulator) with what the run needs: an e-library bridge key, the kiosk SIP2 face on a free
  port with short idle and frame timeouts, and the login policy printed at the start (the
  tenant defaults, but the per-address threshold lowered and, where the gateway has growing
  delays, their cap lowered, so the run stays short). Redis (``--redis auto``, the default)
  is used when 127.0.0.1:6379 answers, on the first empty database from 14 down (15 is the
  tests'); the keys it made are deleted afterwards.
- the attacker: this process, over real sockets, from several loopback source addresses
  (127.0.0.x) so that the per-address counts of one attack do not spill into another.

Printed: password guessing over HTTP (one card; one address across many cards), on the kiosk
SIP2 face (93 terminal logins per user and per address, 63 patron password checks) and on the
e-library bridge (one card written several ways); unknown card against wrong password (same
answer? median times); bad inputs by class and how each was answered; the kiosk face's
connection limits, idle timeout and frame deadline; a scan for the personal data of a patron
who used the portal with reading history on. Then the targets, PASS/FAIL: the lock at the
configured threshold, 0 × 5xx, 0 personal data in Redis and in the log. The exit code is 1
when a target fails. Every attack is bounded in count and in time.

Refusals are told apart by the problem type: ``login-locked`` (the lock) and
``login-throttled`` (a growing delay before the lock, where the gateway has one) are both
"refused", counted separately; an attacker waits out a short delay (Retry-After) and goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

BIN = Path(sys.executable).parent
TENANT = "demo"
ILS_LOGIN = ("gateway", "attack-ils-pass")
KIOSK_LOGINS = (("sc01", "kiosk-pass-01"), ("sc02", "kiosk-pass-02"))
BRIDGE_KEY = "attack-bridge-key-0123456789"
INSTITUTION = "MIDORI"

# Sample patrons (card, password) and their roles in the run; each card is used by one attack.
PII_PATRON = ("1000000001", "hanako01")  # the portal session whose data is looked for
BAD_INPUT_PATRON = ("1000000006", "yui00006")  # the session the bad inputs are sent with
HTTP_VICTIM = ("1000000005", "makoto05")
KIOSK_VICTIM = ("1000000007", "tadashi7")
BRIDGE_VICTIM = ("1000000009", "naoki009")
TIMING_CARDS = [f"10000000{n}" for n in range(10, 21)]  # each gets at most 2 wrong passwords
LOCKED_TEXT = ("Too many failed logins", "ログインの失敗")
BAD_LOGIN_TEXT = ("Wrong card number or password", "カード番号またはパスワード")


# -- login policy of the run ---------------------------------------------------------------


@dataclass(frozen=True)
class RunPolicy:
    """The tenant's ``[tenants.policy.login]`` for this run (written into the tenant file)."""

    max_failures: int = 10
    window_minutes: int = 15
    lock_minutes: int = 15
    max_failures_per_address: int = 30
    delays: bool = False  # the gateway knows growing delays (first_delay_seconds…)
    delay_after_failures: int = 3
    delay_after_failures_per_address: int = 20
    first_delay_seconds: int = 1
    max_delay_seconds: int = 1

    def toml(self) -> str:
        lines = [
            "[tenants.policy.login]",
            f"max_failures = {self.max_failures}",
            f"window_minutes = {self.window_minutes}",
            f"lock_minutes = {self.lock_minutes}",
            f"max_failures_per_address = {self.max_failures_per_address}",
        ]
        if self.delays:
            lines += [
                f"delay_after_failures = {self.delay_after_failures}",
                f"delay_after_failures_per_address = {self.delay_after_failures_per_address}",
                f"first_delay_seconds = {self.first_delay_seconds}",
                f"max_delay_seconds = {self.max_delay_seconds}",
            ]
        return "\n".join(lines)

    def describe(self) -> str:
        text = (
            f"lock after {self.max_failures} failures per card "
            f"(window {self.window_minutes} min, lock {self.lock_minutes} min), "
            f"{self.max_failures_per_address} per address (run settings; defaults 10 and 100)"
        )
        if self.delays:
            text += (
                f"; growing delays after {self.delay_after_failures} per card / "
                f"{self.delay_after_failures_per_address} per address (defaults 3 / 20), "
                f"{self.first_delay_seconds} s doubling to at most {self.max_delay_seconds} s "
                "(run setting; default cap 30 s)"
            )
        else:
            text += "; no growing delays in this gateway"
        return text

    @property
    def wait_cap(self) -> float:
        """How long a delay can last at most (0 when the gateway has none)."""
        return float(self.max_delay_seconds) if self.delays else 0.0


def run_policy(quick: bool) -> RunPolicy:
    """The tenant defaults (a lower per-address threshold; with ``quick`` lower thresholds
    still), with delays configured only when this gateway's tenant files know them."""
    from ils_gateway.tenants.policy import LoginPolicy

    delays = "first_delay_seconds" in LoginPolicy.model_fields
    if quick:  # lower thresholds: fewer guesses and delays to sit through
        return RunPolicy(
            max_failures=5,
            max_failures_per_address=15,
            delays=delays,
            delay_after_failures=2,
            delay_after_failures_per_address=10,
        )
    return RunPolicy(delays=delays)


# -- the processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on now (``serve`` and the simulator take a fixed ``--port``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stdout and stderr to ``log``, terminated on exit; no ``ILS_GATEWAY_*``
    variable of this environment reaches it (the run says what it uses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILS_GATEWAY_")}
    with open(log, "wb") as out:
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_port(port: int, child: subprocess.Popen[bytes], within: float = 60) -> None:
    """Until something listens on ``port`` (or the child has exited)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.args[2]} exited (see its log)")  # type: ignore[index]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


async def wait_healthy(base: str, child: subprocess.Popen[bytes], within: float = 90) -> None:
    """Poll ``/healthz`` until the gateway answers."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise RuntimeError("the gateway exited (see its log)")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not come up")


def write_library(path: Path) -> Any:
    """The sample library, every card valid and unblocked, as a ``--data`` file."""
    from ils_gateway.simulators.sample_data import sample_library

    library = sample_library()
    for patron in library.data.patrons:
        patron.expiry_date = date(2099, 3, 31)
        patron.block_note = None
        patron.temporary_password = False
    path.write_text(library.to_json(), encoding="utf-8")
    return library


def tenant_toml(
    ils_port: int, kiosk_port: int, policy: RunPolicy, idle: float, frame_deadline: float
) -> str:
    """The demo tenant (``tenants/demo.py``) with the run's bridge key, kiosk face and policy."""
    pickups = "\n".join(
        f'[[tenants.pickup_libraries]]\ncode = "{code}"\nname = "{name}"'
        for code, name in (("CEN", "中央図書館"), ("KITA", "北図書館"), ("MINAMI", "南図書館"))
    )
    logins = ", ".join(f'{{ user = "{u}", password = "{p}" }}' for u, p in KIOSK_LOGINS)
    return f"""
[[tenants]]
id = "{TENANT}"
name = "デモ市立図書館"
name_en = "Demo City Library"

[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = {ils_port}
institution_id = "{INSTITUTION}"
login_user = "{ILS_LOGIN[0]}"
login_password = "{ILS_LOGIN[1]}"
title_hold_entries = "record_id_title"
expiry_field = "PA"
refusal_patterns = [
  {{ pattern = "on_reserve|予約", reason = "has_holds" }},
  {{ pattern = "too_many|回数", reason = "renewal_limit" }},
  {{ pattern = "too_soon", reason = "too_early" }},
  {{ pattern = "overdue|延滞", reason = "overdue" }},
]

[tenants.elibrary]
kind = "simulator"
bridge_keys = ["{BRIDGE_KEY}"]

[tenants.kiosk_sip2]
enabled = true
host = "127.0.0.1"
port = {kiosk_port}
institution_id = "{INSTITUTION}"
logins = [{logins}]
screen_language = "en"
idle_timeout = {idle}
frame_deadline = {frame_deadline}

{pickups}

[tenants.policy]
idle_timeout_minutes = 15

[tenants.policy.card]
strip = "- "
pattern = '^\\d{{6,10}}$'

[tenants.policy.renewal]
max_renewals = 1
period_days = 14

[tenants.policy.holds]
max_total = 20

{policy.toml()}

[tenants.policy.disabled_features]
kiosk = ["bookshelves", "reading_history", "new_arrival_alerts"]
"""


# The gateway's own key prefix (``GatewaySettings.redis_prefix``; ``serve`` has no option for
# it): the run reads and deletes only keys under it, and marks the database it took with
# CLAIM_KEY so that other runs picking "an empty database" (this one's included) pass it by.
GATEWAY_PREFIX = "ilsgw:"
CLAIM_KEY = "ilsgw-attack:claim"


def pick_redis(choice: str) -> str | None:
    """The Redis URL of the run: ``off``, a URL, or ``auto`` (an empty database on the local
    Redis, from 14 down, claimed for the run; none when Redis does not answer or every
    database is in use)."""
    if choice == "off":
        return None
    if choice != "auto":
        return choice
    try:
        with socket.create_connection(("127.0.0.1", 6379), 1.0):
            pass
    except OSError:
        return None
    import redis

    for db in range(14, 0, -1):
        client = redis.Redis(host="127.0.0.1", port=6379, db=db)
        try:
            # Empty, then claimed (SET NX: two runs starting at once cannot both take it).
            if client.dbsize() == 0 and client.set(CLAIM_KEY, os.getpid(), nx=True, ex=3600):
                if client.dbsize() == 1:
                    return f"redis://127.0.0.1:6379/{db}"
                client.delete(CLAIM_KEY)  # something else began writing here meanwhile
        finally:
            client.close()
    return None


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Every HTTP answer of the run, for the 5xx count."""

    statuses: Counter[int] = field(default_factory=Counter)
    five_xx: list[str] = field(default_factory=list)


TALLY = Tally()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    took: float

    @property
    def slug(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("type"), str):
            return str(self.body["type"]).rsplit("/", 1)[-1]
        return ""


class Client:
    """HTTP from one loopback source address (the gateway sees it as the client address)."""

    def __init__(self, base: str, source: str) -> None:
        self.base = base
        self.source = source
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0), force_close=False)
        timeout = aiohttp.ClientTimeout(total=30)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        label: str = "",
    ) -> Answer:
        assert self._session is not None
        sent_headers = dict(headers or {})
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8", "surrogatepass")
            sent_headers.setdefault("Content-Type", "application/json")
        url = URL(self.base + path, encoded=True)
        started = time.perf_counter()
        async with self._session.request(method, url, data=data, headers=sent_headers) as resp:
            raw = await resp.read()
            took = time.perf_counter() - started
            body: Any
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw[:200]
            answer = Answer(resp.status, body, dict(resp.headers), took)
        TALLY.statuses[answer.status] += 1
        if answer.status >= 500:
            TALLY.five_xx.append(f"{label or method + ' ' + path[:60]} → {answer.status}")
        return answer

    async def login(self, card: str, password: str) -> Answer:
        return await self.call(
            "POST",
            f"/v1/tenants/{TENANT}/sessions",
            json_body={"card_number": card, "password": password},
            label="login",
        )


def login_kind(answer: Answer) -> str:
    """checked (the guess reached the check), throttled, locked, ok, or the status."""
    if answer.status == 401:
        return "checked"
    if answer.status == 429:
        return {"login-throttled": "throttled", "login-locked": "locked"}.get(
            answer.slug, answer.slug or "429"
        )
    if answer.status in (200, 201):
        return "ok"
    return f"status {answer.status}"


def retry_after(answer: Answer) -> float | None:
    value = answer.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# -- guessing ----------------------------------------------------------------------------------


@dataclass
class Guessing:
    """What one guessing attack saw."""

    reached: int = 0  # wrong guesses that reached the check
    throttled: int = 0  # refused by a growing delay (then waited out)
    waited: float = 0.0
    refused_by: str | None = None  # locked / rate-limited / … (None: never refused)
    retry_after: float | None = None
    right_while_locked: str | None = None
    took: float = 0.0
    note: str = ""

    def line(self) -> str:
        refused = self.refused_by or f"not refused within the run's bounds{self.note}"
        text = f"{self.reached} wrong guesses reached the check, then {refused}"
        if self.throttled:
            text += f"; {self.throttled} refused by growing delays ({self.waited:.1f} s waited)"
        if self.retry_after is not None:
            text += f"; Retry-After {self.retry_after:.0f} s"
        if self.right_while_locked is not None:
            text += f"; the right password while refused: {self.right_while_locked}"
        return text + f" [{self.took:.1f} s]"


Probe = Callable[[int], Awaitable[tuple[str, float | None]]]


async def guess(
    probe: Probe, *, max_attempts: int, budget: float, wait_cap: float, refused_kinds: set[str]
) -> Guessing:
    """Wrong guesses through ``probe`` (attempt number → kind, Retry-After) until refused by a
    kind in ``refused_kinds``, ``max_attempts`` or ``budget`` seconds. A throttle whose delay
    fits the budget is waited out. ``refused`` (a face that cannot say why, SIP2) is taken as
    a lock once it persists after waiting longer than the longest delay."""
    run = Guessing()
    started = time.monotonic()
    deadline = started + budget
    refused_in_a_row = 0
    for attempt in range(max_attempts):
        if time.monotonic() > deadline:
            run.note = f" ({budget:.0f} s budget)"
            break
        kind, wait = await probe(attempt)
        if kind == "checked":
            run.reached += 1
            refused_in_a_row = 0
            continue
        if kind == "throttled":
            run.throttled += 1
            pause = wait if wait is not None else wait_cap + 0.2
            if time.monotonic() + pause > deadline:
                run.note = f" (next delay {pause:.0f} s exceeds the budget)"
                break
            run.waited += pause
            await asyncio.sleep(pause)
            continue
        if kind == "refused" and wait_cap > 0 and refused_in_a_row == 0:
            refused_in_a_row += 1
            run.throttled += 1
            run.waited += wait_cap + 0.3
            await asyncio.sleep(wait_cap + 0.3)
            continue
        if kind in refused_kinds or kind == "refused":
            run.refused_by = kind
            run.retry_after = wait
            break
        run.refused_by = f"an unexpected answer: {kind}"
        break
    run.took = time.monotonic() - started
    return run


# -- SIP2 ----------------------------------------------------------------------------------------


def sip_now() -> str:
    return time.strftime("%Y%m%d    %H%M%S")


def frame(body: str, seq: int = 0, *, checksum: bool = True) -> bytes:
    """A request frame with AY/AZ (the face checks AZ when one is sent), CR-terminated."""
    from ils_gateway.sip2.checksum import checksum_of_bytes

    if not checksum:
        return body.encode("utf-8", "surrogateescape") + b"\r"
    head = f"{body}AY{seq % 10}AZ".encode("utf-8", "surrogateescape")
    return head + checksum_of_bytes(head).encode() + b"\r"


def msg_93(user: str, password: str) -> str:
    return f"9300CN{user}|CO{password}|CPATTACK|"


def msg_63(card: str, password: str, summary: str = "          ", extra: str = "") -> str:
    return f"63001{sip_now()}{summary}AO{INSTITUTION}|AA{card}|AD{password}|{extra}"


class Sip:
    """One SIP2 connection to the kiosk face, from a loopback source address."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port = port
        self.source = source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Sip:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, local_addr=(self.source, 0)
        )
        return self

    async def send(self, data: bytes, wait: float = 5.0) -> str:
        """Send ``data``; the answer's text, ``closed`` or ``no answer``."""
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
            line = await asyncio.wait_for(self.reader.readuntil(b"\r"), wait)
        except (asyncio.IncompleteReadError, ConnectionError):
            return "closed"
        except TimeoutError:
            return "no answer"
        return line.decode("utf-8", "replace").rstrip("\r")

    async def receive(self, wait: float) -> str:
        """The next answer's text, ``closed`` or ``no answer`` (nothing is sent)."""
        assert self.reader is not None
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\r"), wait)
        except (asyncio.IncompleteReadError, ConnectionError):
            return "closed"
        except TimeoutError:
            return "no answer"
        return line.decode("utf-8", "replace").rstrip("\r")

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds`` (nothing sent)."""
        assert self.reader is not None
        try:
            data = await asyncio.wait_for(self.reader.read(1024), seconds)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return data == b""

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def terminal_login(port: int, source: str, user: str, password: str) -> bool:
    conn = await Sip(port, source).open()
    try:
        answer = await conn.send(frame(msg_93(user, password)))
    finally:
        await conn.close()
    return answer.startswith("941")


def patron_kind(answer: str) -> str:
    """A 64/24 answer: checked (wrong password), refused (locked or delayed), ok, or other."""
    if not answer.startswith(("64", "24")):
        return f"answer {answer[:12]!r}"
    if any(text in answer for text in LOCKED_TEXT):
        return "refused"
    if "|CQY" in answer:
        return "ok"
    if any(text in answer for text in BAD_LOGIN_TEXT) or "|CQN" in answer:
        return "checked"
    return f"answer {answer[:12]!r}"


# -- the attacks ---------------------------------------------------------------------------------


@dataclass
class Run:
    """Where things are, and what the attacks found (for the targets)."""

    base: str
    kiosk_port: int
    policy: RunPolicy
    quick: bool
    idle: float
    frame_deadline: float
    work: Path
    library: Any
    redis_url: str | None
    results: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # passwords and tokens sent

    @property
    def budget(self) -> float:
        return 20.0 if self.quick else 45.0


async def http_card_guessing(run: Run) -> None:
    policy = run.policy
    card, password = HTTP_VICTIM
    async with Client(run.base, "127.0.0.11") as client:

        async def probe(n: int) -> tuple[str, float | None]:
            answer = await client.login(card, f"wrong-{n:04d}")
            return login_kind(answer), retry_after(answer)

        result = await guess(
            probe,
            max_attempts=policy.max_failures * 3 + 10,
            budget=run.budget,
            wait_cap=policy.wait_cap,
            refused_kinds={"locked"},
        )
        if result.refused_by == "locked":
            right = await client.login(card, password)
            result.right_while_locked = f"{right.status} {right.slug}".strip()
    run.results["http_card"] = result
    print(f"  HTTP, one card ({policy.max_failures} allowed): {result.line()}")


async def http_address_guessing(run: Run) -> None:
    policy = run.policy
    async with Client(run.base, "127.0.0.12") as client:

        async def probe(n: int) -> tuple[str, float | None]:
            answer = await client.login(f"{5000000000 + n}", "wrong-password")
            return login_kind(answer), retry_after(answer)

        result = await guess(
            probe,
            max_attempts=policy.max_failures_per_address + 10,
            budget=run.budget,
            wait_cap=policy.wait_cap,
            refused_kinds={"locked"},
        )
        if result.refused_by == "locked":
            right = await client.login("1000000020", "pass0020")
            result.right_while_locked = f"{right.status} {right.slug} (another card)".strip()
    run.results["http_address"] = result
    print(
        f"  HTTP, one address, a new card each guess "
        f"({policy.max_failures_per_address} allowed): {result.line()}"
    )


async def kiosk_patron_guessing(run: Run) -> None:
    policy = run.policy
    card, password = KIOSK_VICTIM
    conn = await Sip(run.kiosk_port, "127.0.0.21").open()
    try:
        user, kiosk_password = KIOSK_LOGINS[1]
        logged_in = await conn.send(frame(msg_93(user, kiosk_password)))
        if not logged_in.startswith("941"):
            print(f"  kiosk 63: the terminal login failed ({logged_in[:20]!r}); skipped")
            return

        async def probe(n: int) -> tuple[str, float | None]:
            return patron_kind(await conn.send(frame(msg_63(card, f"wrong-{n:04d}"), n))), None

        result = await guess(
            probe,
            max_attempts=policy.max_failures * 3 + 10,
            budget=run.budget,
            wait_cap=policy.wait_cap,
            refused_kinds=set(),
        )
        if result.refused_by == "refused":
            right = patron_kind(await conn.send(frame(msg_63(card, password), 7)))
            result.right_while_locked = "accepted" if right == "ok" else right
    finally:
        await conn.close()
    run.results["kiosk_63"] = result
    print(f"  kiosk 63 patron password, one card: {result.line()}")


async def kiosk_terminal_guessing(run: Run) -> None:
    """93: a wrong login per user counts until the lock; the right one clears the user's count,
    so the threshold is shown by two tries: ``max_failures - 1`` wrong then the right one
    (accepted), and ``max_failures`` wrong then the right one (refused, and still refused after
    any delay). Per address: a new user name each wrong login, the right login after each."""
    policy = run.policy
    user, password = KIOSK_LOGINS[0]
    port = run.kiosk_port
    pause = policy.wait_cap + 0.2 if policy.delays else 0.0

    paused = [0]

    async def attempt(wrong: int, source: str) -> bool:
        for n in range(wrong):
            if pause and n >= policy.delay_after_failures:
                paused[0] += 1
                await asyncio.sleep(pause)
            await terminal_login(port, source, user, f"wrong-{n}")
        if pause:
            await asyncio.sleep(pause)
        ok = await terminal_login(port, source, user, password)
        if not ok and pause:
            await asyncio.sleep(pause)
            ok = await terminal_login(port, source, user, password)
        return ok

    started = time.monotonic()
    below = await attempt(policy.max_failures - 1, "127.0.0.22")
    at = await attempt(policy.max_failures, "127.0.0.23")
    took = time.monotonic() - started
    run.results["kiosk_93_user"] = (below, at)
    run.results["kiosk_93_paused"] = paused[0]
    waited = (
        f"; waited {pause:.1f} s before each of {paused[0]} tries past "
        f"{policy.delay_after_failures} failures (a 940 does not say whether a delay refused it)"
        if paused[0]
        else ""
    )
    print(
        f"  kiosk 93 terminal login, one user: after {policy.max_failures - 1} wrong the right "
        f"login {'accepted' if below else 'REFUSED'}; after {policy.max_failures} wrong "
        f"{'ACCEPTED (no lock)' if at else 'refused (locked)'}{waited} [{took:.1f} s]"
    )

    # Per address: unknown users, one wrong login each, the right login (sc02) after each.
    other, other_password = KIOSK_LOGINS[1]
    source = "127.0.0.24"
    started = time.monotonic()
    wrong = 0
    locked_after: int | None = None
    while wrong < policy.max_failures_per_address + 5 and time.monotonic() - started < run.budget:
        await terminal_login(port, source, f"guess{wrong:03d}", "x")
        wrong += 1
        ok = await terminal_login(port, source, other, other_password)
        if not ok and pause:
            await asyncio.sleep(pause)
            ok = await terminal_login(port, source, other, other_password)
        if not ok:
            locked_after = wrong
            break
    took = time.monotonic() - started
    run.results["kiosk_93_address"] = locked_after
    said = (
        f"the right login refused after {locked_after} wrong"
        if locked_after is not None
        else f"never refused ({wrong} wrong)"
    )
    print(
        f"  kiosk 93, one address, a new user each ({policy.max_failures_per_address} allowed): "
        f"{said} [{took:.1f} s]"
    )


def card_variants(card: str) -> list[str]:
    """The same card as people (and attackers) write it."""
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in card)
    hyphens = f"{card[:4]}-{card[4:7]}-{card[7:]}"
    spaces = f"{card[:4]} {card[4:7]} {card[7:]}"
    mixed = f"{full_width[:4]}-{card[4:]}"
    return [card, hyphens, spaces, full_width, mixed, f" {card} ", f"{card[:2]}-{card[2:]}"]


async def bridge_guessing(run: Run) -> None:
    card, password = BRIDGE_VICTIM
    variants = card_variants(card)
    seen: list[str] = []
    async with Client(run.base, "127.0.0.31") as client:
        path = f"/elibrary/v1/libraries/{TENANT}/patron-check"
        headers = {"Authorization": f"Bearer {BRIDGE_KEY}"}

        async def check(card_text: str, pw: str) -> Answer:
            return await client.call(
                "POST",
                path,
                json_body={"cardNumber": card_text, "password": pw},
                headers=headers,
                label="bridge",
            )

        result = Guessing()
        refused: Answer | None = None
        started = time.monotonic()
        for n in range(len(variants) * 3):
            answer = await check(variants[n % len(variants)], f"wrong-{n}")
            if answer.status == 200:
                result.reached += 1
                seen.append("valid" if answer.body.get("valid") else "no")
                continue
            wait = retry_after(answer)
            if answer.slug == "login-throttled" and wait is not None and wait <= run.budget:
                result.throttled += 1  # a growing delay: waited out, as an attacker would
                result.waited += wait
                await asyncio.sleep(wait)
                continue
            refused = answer
            break
        right = await check(variants[(n + 1) % len(variants)], password)
        result.took = time.monotonic() - started
    if refused is not None:
        result.refused_by = f"{refused.status} {refused.slug}"
        result.retry_after = retry_after(refused)
        result.right_while_locked = (
            f"{right.status} {right.slug}" if right.status != 200 else f"200 valid={right.body}"
        )
    run.results["bridge"] = result
    print(
        f"  e-library bridge, one card written {len(variants)} ways "
        f"(plain, hyphens, spaces, full-width…): {result.line()}"
    )


def comparable(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("instance", "request_id")}
    return body


async def unknown_vs_wrong(run: Run) -> None:
    """Each card gets at most two wrong passwords (under any delay); addresses rotate."""
    per_kind = 6 if run.quick else 22
    wrong_times: list[float] = []
    unknown_times: list[float] = []
    answers: dict[str, set[str]] = {"wrong": set(), "unknown": set()}
    for n in range(per_kind):
        async with Client(run.base, f"127.0.1.{1 + n // 4}") as client:
            card = TIMING_CARDS[n % len(TIMING_CARDS)]
            for kind, card_text in (("wrong", card), ("unknown", f"{7000000000 + n}")):
                answer = await client.login(card_text, f"wrong-{n}")
                body = json.dumps(comparable(answer.body), sort_keys=True, ensure_ascii=False)
                answers[kind].add(f"{answer.status} {body}")
                (wrong_times if kind == "wrong" else unknown_times).append(answer.took)
    same = answers["wrong"] == answers["unknown"] and len(answers["wrong"]) == 1
    wrong_median = statistics.median(wrong_times) * 1000
    unknown_median = statistics.median(unknown_times) * 1000
    run.results["same_answer"] = same
    print(
        f"  unknown card vs wrong password ({per_kind} each): same status and body: "
        f"{'yes' if same else 'NO'}; median {unknown_median:.1f} ms vs {wrong_median:.1f} ms "
        f"(ratio {unknown_median / wrong_median:.2f}, informational)"
    )
    if not same:
        for kind, seen in answers.items():
            print(f"    {kind}: {sorted(seen)[:3]}")


# -- bad inputs ------------------------------------------------------------------------------


@dataclass
class Case:
    cls: str
    method: str
    path: str
    body: Any = None  # JSON value, or bytes sent as is
    headers: dict[str, str] | None = None
    session: bool = False


def bad_http_cases(item: str) -> list[Case]:
    t = f"/v1/tenants/{TENANT}"
    bad = {"|": "|", "CR": "\r", "LF": "\n", "NUL": "\x00"}
    enc = {"|": "%7C", "CR": "%0D", "LF": "%0A", "NUL": "%00"}
    cases: list[Case] = []
    for name, ch in bad.items():
        cls = f"{name} in a SIP2 field"
        cases += [
            Case(cls, "POST", t + "/sessions", {"card_number": "4000000001", "password": f"{ch}"}),
            Case(cls, "POST", t + "/sessions", {"card_number": f"40000{ch}00002", "password": "x"}),
            Case(cls, "GET", t + f"/items/21{enc[name]}00", None),
            Case(cls, "POST", t + f"/loans/21{enc[name]}00/renewal", None, session=True),
            Case(cls, "DELETE", t + f"/holds/9{enc[name]}9", None, session=True),
            Case(cls, "POST", t + "/holds", {"item_ids": [f"21{ch}00"], "pickup_library": "CEN"},
                 session=True),
            Case(cls, "POST", t + "/holds", {"item_ids": [item], "pickup_library": f"C{ch}N"},
                 session=True),
            Case(cls, "POST", t + "/basket/items", {"item_id": f"21{ch}00"}, session=True),
            Case(cls, "POST", f"/elibrary/v1/libraries/{TENANT}/patron-check",
                 {"cardNumber": "4000000003", "password": f"p{ch}w"},
                 {"Authorization": f"Bearer {BRIDGE_KEY}"}),
        ]  # fmt: skip
    long = "9" * 300
    cases += [
        Case("over-long field", "POST", t + "/sessions", {"card_number": long, "password": "x"}),
        Case("over-long field", "POST", t + "/sessions",
             {"card_number": "4000000004", "password": "p" * 10_000}),
        Case("over-long field", "GET", t + "/items/" + "1" * 300),
        Case("over-long field", "POST", t + "/loans/" + "1" * 1000 + "/renewal", session=True),
        Case("over-long field", "POST", t + "/holds",
             {"item_ids": [item], "pickup_library": "C" * 300}, session=True),
        Case("over-long field", "POST", t + "/holds",
             {"item_ids": [f"{n}" for n in range(500)], "pickup_library": "CEN"}, session=True),
        Case("over-long field", "POST", t + "/basket/items",
             {"item_id": item, "title": "t" * 5000}, session=True),
        Case("over-long field", "POST", t + "/shelves", {"name": "n" * 500}, session=True),
    ]  # fmt: skip
    surrogate = "\ud800"
    cases += [
        Case("not encodable", "POST", t + "/sessions",
             {"card_number": f"4000{surrogate}", "password": "x"}),
        Case("not encodable", "POST", t + "/sessions",
             {"card_number": "4000000005", "password": f"p{surrogate}"}),
        Case("not encodable", "POST", t + "/holds",
             {"item_ids": [f"21{surrogate}"], "pickup_library": "CEN"}, session=True),
        Case("not encodable", "GET", t + "/items/21%ED%A0%8000"),
        Case("not encodable", "GET", t + "/items/21%FF%FE00"),
    ]  # fmt: skip
    deep_list = b"[" * 1000 + b"]" * 1000
    deep_obj = b'{"a":' * 1000 + b"1" + b"}" * 1000
    big = "9" * 5000
    cases += [
        Case("JSON nested 1000 deep", "POST", t + "/sessions", deep_list),
        Case("JSON nested 1000 deep", "POST", t + "/sessions", deep_obj),
        Case("JSON nested 1000 deep", "POST", t + "/holds",
             b'{"item_ids": ' + deep_list + b', "pickup_library": "CEN"}', session=True),
        Case("JSON nested 1000 deep", "POST", f"/elibrary/v1/libraries/{TENANT}/patron-check",
             deep_obj, {"Authorization": f"Bearer {BRIDGE_KEY}"}),
        Case("5000-digit integer", "POST", t + "/sessions",
             f'{{"card_number": {big}, "password": "x"}}'.encode()),
        Case("5000-digit integer", "POST", t + "/holds",
             f'{{"item_ids": [{big}], "pickup_library": "CEN"}}'.encode(), session=True),
        Case("5000-digit integer", "POST", t + "/shelves",
             f'{{"name": "s", "comment": {big}}}'.encode(), session=True),
        Case("5000-digit integer", "POST", t + "/sessions",
             b'{"card_number": "4000000006", "password": "x", "n": 1e99999}'),
    ]  # fmt: skip
    login = json.dumps({"card_number": "4000000007", "password": "x"}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "", "application/xml",
                  "multipart/form-data; boundary=x"):  # fmt: skip
        cases.append(
            Case("wrong content type", "POST", t + "/sessions", login, {"Content-Type": ctype})
        )
    cases += [
        Case("huge body", "POST", t + "/sessions",
             b'{"card_number": "4000000008", "password": "' + b"x" * 2_000_000 + b'"}'),
        Case("huge body", "POST", t + "/holds",
             b'{"item_ids": [' + b'"1",' * 40_000 + b'"1"], "pickup_library": "CEN"}',
             session=True),
        Case("malformed JSON", "POST", t + "/sessions", b'{"card_number": "40000'),
        Case("malformed JSON", "POST", t + "/sessions",
             b'{"card_number": "\xff\xfe", "password": "x"}'),
        Case("malformed JSON", "POST", t + "/sessions", b"NaN"),
        Case("malformed JSON", "POST", t + "/sessions", b'["card_number", "password"]'),
        Case("malformed JSON", "POST", t + "/sessions", b'{"card_number": "4000000009"}',
             {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    ]  # fmt: skip
    return cases


RAW_TOKEN = "LEAKCHECK" + uuid.uuid4().hex[:16]


def bad_raw_requests() -> list[bytes]:
    """Requests aiohttp's parser must refuse; each carries an Authorization header."""
    auth = f"Authorization: Bearer {RAW_TOKEN}\r\n".encode()
    path = f"/v1/tenants/{TENANT}/loans".encode()
    head = b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    return [
        head + auth + b"This line has no colon\r\n\r\n",
        head + auth + b"X-Bad\x00Header: v\r\n\r\n",
        head + auth + b"Bad Name: v\r\n\r\n",
        head + auth + b"X-Long: " + b"a" * 100_000 + b"\r\n\r\n",
        head + auth + b"X-Folded: a\r\n  continued\r\n\r\n",
        b"G\x01T " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        b"GET " + path + b" HTTP/9.9\r\nHost: x\r\n" + auth + b"\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        head + auth + b"Content-Length: -5\r\n\r\n",
        head + auth + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        head + auth + b"Authorization: Bearer " + RAW_TOKEN.encode() + b"\x7f\r\n\r\n",
    ]


async def raw_http(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.42", 0))
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 10)
    except (ConnectionError, TimeoutError):
        data = b""
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    try:
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (IndexError, ValueError):
        status = 0
    return status, data


def bad_sip2_frames() -> list[tuple[str, bytes, bool]]:
    """(class, frame, log in first) for the kiosk face."""
    long, ao, now = "9" * 300, f"AO{INSTITUTION}|", sip_now()
    fee, holds, loans = f"37{now}0100JPY", "  Y       ", "Y         "
    return [
        ("SIP2 field > 255 chars", frame(msg_63(long, "x")), True),
        ("SIP2 field > 255 chars", frame(f"17{now}{ao}AB{'1' * 2000}|"), True),
        ("SIP2 field > 255 chars", frame(msg_93("u" * 400, "p")), False),
        ("SIP2 non-numeric BP/BQ", frame(msg_63("4000000010", "x", holds, "BPabc|BQxy|")), True),
        ("SIP2 non-numeric BP/BQ", frame(msg_63("4000000011", "x", loans, "BP-1|BQ9e99|")), True),
        ("SIP2 amount nan", frame(f"{fee}BVnan|{ao}AA4000000012|"), True),
        ("SIP2 amount nan", frame(f"{fee}BVinf|{ao}AA4000000012|"), True),
        ("SIP2 amount nan", frame(f"{fee}BV1e999|{ao}AA4000000012|"), True),
        ("SIP2 garbage", b"\x00\xff\xfe garbage \x01\x02\r", True),
        ("SIP2 garbage", b"ZZ unknown message code|\r", True),
        ("SIP2 garbage", b"63\r", True),
        ("SIP2 garbage", b"\r", True),
        ("SIP2 garbage", frame(msg_63("4000000013", "x"))[:-6] + b"0000\r", True),
        ("SIP2 garbage", b"63001" + b"\xff" * 30 + b"AO|AA\xff\xfe|AD|\r", True),
        ("SIP2 garbage", b"11NN" + b"x" * 36 + b"AO|AA|AB|AC|\r", True),
    ]  # fmt: skip


async def bad_inputs(run: Run) -> None:
    item = run.results["available_items"][-1]
    by_class: dict[str, Counter[str]] = {}
    n_http = 0
    async with Client(run.base, "127.0.0.41") as client:
        login = await client.login(*BAD_INPUT_PATRON)
        token = login.body.get("token") if isinstance(login.body, dict) else None
        if token is None:
            print(f"  (the bad-input session did not start: {login.status}; session cases skipped)")
        for case in bad_http_cases(item):
            if case.session and token is None:
                continue
            kwargs: dict[str, Any] = {"headers": dict(case.headers or {}), "label": case.cls}
            if isinstance(case.body, bytes):
                kwargs["data"] = case.body
                kwargs["headers"].setdefault("Content-Type", "application/json")
            elif case.body is not None:
                kwargs["json_body"] = case.body
            try:
                answer = await client.call(
                    case.method, case.path, token=token if case.session else None, **kwargs
                )
                key = f"{answer.status}{' ' + answer.slug if answer.slug else ''}"
            except aiohttp.ClientError as exc:
                key = f"no answer ({type(exc).__name__})"
            by_class.setdefault(case.cls, Counter())[key] += 1
            n_http += 1
    echoed = 0
    raw = bad_raw_requests()
    for request in raw:
        status, data = await raw_http(int(run.base.rsplit(":", 1)[1]), request)
        key = str(status) if status else "closed"
        by_class.setdefault("malformed HTTP header lines", Counter())[key] += 1
        if status >= 500:
            TALLY.five_xx.append(f"malformed HTTP → {status}")
        if status:
            TALLY.statuses[status] += 1
        echoed += RAW_TOKEN.encode() in data
    sip_cases = bad_sip2_frames()
    user, password = KIOSK_LOGINS[1]
    for cls, data, login_first in sip_cases:
        conn = await Sip(run.kiosk_port, "127.0.0.43").open()
        try:
            if login_first:
                await conn.send(frame(msg_93(user, password)))
            answer = await conn.send(data, wait=3.0)
        finally:
            await conn.close()
        key = answer if answer in ("closed", "no answer") else f"answered {answer[:2]}"
        by_class.setdefault(cls, Counter())[key] += 1
    alive_conn = await Sip(run.kiosk_port, "127.0.0.44").open()
    try:
        alive = (await alive_conn.send(frame(msg_93(user, password)))).startswith("941")
    finally:
        await alive_conn.close()
    total = n_http + len(raw) + len(sip_cases)
    print(f"  {total} bad inputs tried ({n_http} HTTP, {len(raw)} raw HTTP, "
          f"{len(sip_cases)} SIP2 frames):")  # fmt: skip
    for cls, counts in by_class.items():
        said = ", ".join(f"{k} × {v}" for k, v in sorted(counts.items()))
        print(f"    {cls:<32} {said}")
    print(f"  Authorization value echoed in an answer to a malformed request: {echoed}")
    print(f"  kiosk face answers a login after the hostile frames: {'yes' if alive else 'NO'}")
    run.results["kiosk_alive"] = alive
    run.secrets.append(RAW_TOKEN)


# -- connection limits ---------------------------------------------------------------------------


SC_STATUS = "9900302.00"  # 99: answered before a login (98), by the face itself


async def open_many(port: int, sources: list[str], per_source: int) -> tuple[int, int]:
    """Open ``per_source`` connections from each source (quickly, before any idle timeout),
    each sending an SC status (99) at once; then see which the face answered (kept) and which
    it closed unanswered. (kept, closed unanswered).

    Judged by the answer, not by a short wait for a close: on a loaded machine the kernel
    accepts connections long before the face's loop reaches them, and a wait that gives up
    first lets the attacker's own closes free the slots the late ones then take."""
    conns: list[Sip] = []
    try:
        for source in sources:
            for _ in range(per_source):
                with contextlib.suppress(OSError):
                    conn = await Sip(port, source).open()
                    conns.append(conn)
                    assert conn.writer is not None
                    conn.writer.write(frame(SC_STATUS))
        answers = await asyncio.gather(*(c.receive(15.0) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    kept = sum(1 for a in answers if a.startswith("98"))
    return kept, len(conns) - kept


async def connection_limits(run: Run) -> None:
    from ils_gateway.tenants.kiosk import KioskSip2Config

    defaults = KioskSip2Config()
    per_address, total = defaults.max_connections_per_address, defaults.max_connections
    port = run.kiosk_port
    assert per_address is not None and total is not None
    kept, refused = await open_many(port, ["127.0.0.51"], per_address + 4)
    run.results["per_address"] = (kept, per_address)
    print(
        f"  SIP2 face, one address: {per_address + 4} opened, {kept} kept, {refused} closed "
        f"unanswered (limit {per_address})"
    )
    sources = [f"127.0.2.{n}" for n in range(1, total // (per_address - 2) + 3)]
    kept, refused = await open_many(port, sources, per_address - 2)
    run.results["total"] = (kept, total)
    print(
        f"  SIP2 face, {len(sources)} addresses: {len(sources) * (per_address - 2)} opened, "
        f"{kept} kept, {refused} closed unanswered (limit {total})"
    )
    # Idle: nothing sent; and after a login.
    conn = await Sip(port, "127.0.0.52").open()
    started = time.monotonic()
    closed = await conn.closed_within(run.idle + 5)
    idle_took = time.monotonic() - started
    await conn.close()
    conn = await Sip(port, "127.0.0.52").open()
    user, password = KIOSK_LOGINS[1]
    await conn.send(frame(msg_93(user, password)))
    started = time.monotonic()
    closed_after_login = await conn.closed_within(run.idle + 5)
    idle_login_took = time.monotonic() - started
    await conn.close()
    run.results["idle"] = closed and closed_after_login
    print(
        f"  idle connection (timeout {run.idle:g} s): closed after {idle_took:.1f} s"
        f"{'' if closed else ' — NOT closed'}; after a login, closed after "
        f"{idle_login_took:.1f} s{'' if closed_after_login else ' — NOT closed'}"
    )
    # Slowloris: a frame begun, one byte every quarter of the idle timeout, never finished.
    conn = await Sip(port, "127.0.0.53").open()
    assert conn.writer is not None
    partial = frame(msg_63("4000000020", "x"))[:-1] * 4
    started = time.monotonic()
    sent = 0
    limit = run.frame_deadline + run.idle + 5
    closed = False
    try:
        while time.monotonic() - started < limit:
            conn.writer.write(partial[sent : sent + 1])
            await conn.writer.drain()
            sent += 1
            if await conn.closed_within(min(0.25, run.idle / 4)):
                closed = True
                break
    except ConnectionError:
        closed = True
    slow_took = time.monotonic() - started
    await conn.close()
    run.results["slowloris"] = closed
    print(
        f"  slowloris (frame deadline {run.frame_deadline:g} s): {sent} bytes trickled, "
        f"{'closed after ' + format(slow_took, '.1f') + ' s' if closed else 'NOT closed'}"
    )


# -- personal data ---------------------------------------------------------------------------


async def portal_session(run: Run) -> dict[str, str]:
    """The sample patron uses the portal with reading history on; the kiosk lends them one
    more item. Returns what each step answered."""
    card, password = PII_PATRON
    steps: dict[str, str] = {}
    t = f"/v1/tenants/{TENANT}"
    async with Client(run.base, "127.0.0.61") as client:
        login = await client.login(card, password)
        steps["login"] = str(login.status)
        token = login.body.get("token") if isinstance(login.body, dict) else None
        if token is None:
            return steps

        async def step(name: str, method: str, path: str, body: Any = None) -> Answer:
            answer = await client.call(method, t + path, json_body=body, token=token, label=name)
            steps[name] = str(answer.status)
            return answer

        await step("history on", "POST", "/reading-history/enable", {"password": password})
        await step("patron", "GET", "/patron")
        loans = await step("loans", "GET", "/loans")
        loan_ids = [entry["item"]["id"] for entry in (loans.body or {}).get("loans", [])]
        if loan_ids:
            await step("renew", "POST", f"/loans/{loan_ids[0]}/renewal")
        await step("holds", "GET", "/holds")
        item = run.results["available_items"][0]
        await step("place hold", "POST", "/holds", {"item_ids": [item], "pickup_library": "CEN"})
        shelf = await step("shelf", "POST", "/shelves", {"name": "お気に入り"})
        shelf_id = (shelf.body or {}).get("shelf_id")
        if shelf_id and loan_ids:
            await step("shelf item", "POST", f"/shelves/{shelf_id}/items", {"item_id": loan_ids[0]})
        # Lent at the kiosk with history on: captured sealed.
        conn = await Sip(run.kiosk_port, "127.0.0.62").open()
        try:
            user, kiosk_password = KIOSK_LOGINS[1]
            await conn.send(frame(msg_93(user, kiosk_password)))
            lent = run.results["available_items"][2]
            answer = await conn.send(
                frame(f"11NN{sip_now()}{' ' * 18}AO{INSTITUTION}|AA{card}|AB{lent}|AD{password}|")
            )
            steps["kiosk checkout"] = answer[:3]
            answer = await conn.send(frame(msg_63(card, password, "Y         ", "BP1|BQ5|"), 1))
            steps["kiosk 63"] = answer[:2]
        finally:
            await conn.close()
        await step("loans again", "GET", "/loans")
        await step("history", "GET", "/reading-history")
        await step("summary", "GET", "/patron")
        await step("logout", "DELETE", "/sessions/current")
    return steps


def search_terms(run: Run) -> dict[str, list[str]]:
    """The sample patron's personal data: name, card, titles and barcodes of their items."""
    library = run.library
    card, password = PII_PATRON
    patron = next(p for p in library.data.patrons if p.card_number == card)
    items = {item.id: item for item in library.data.items}
    barcode_of = {item.barcode: item for item in library.data.items}
    barcodes = [
        items[loan.item_id].barcode
        for loan in library.data.loans
        if loan.patron_id == patron.id and loan.returned is None
    ]
    barcodes += run.results["available_items"][:3]
    titles = {library.biblio(barcode_of[b].biblio_id).title for b in barcodes}
    titles |= {
        library.biblio(h.biblio_id).title for h in library.data.holds if h.patron_id == patron.id
    }
    return {
        "name": [patron.name, patron.name.replace(" ", ""), patron.name_kana],
        "card number": [card],
        "titles": sorted(titles),
        "barcodes": sorted(set(barcodes)),
        "email/phone": [patron.email, patron.phone],
        "password or token": [password, *run.secrets],
    }


def forms(term: str) -> list[bytes]:
    """How a term may be written down: UTF-8, JSON-escaped (\\uXXXX)."""
    found = {term.encode()}
    escaped = json.dumps(term)[1:-1]
    found.add(escaped.encode())
    found.add(escaped.lower().encode())
    return [f for f in found if f]


def count_in(blob: bytes, terms: list[str]) -> int:
    return sum(blob.count(f) for term in terms for f in forms(term))


async def redis_dump(url: str) -> tuple[bytes, dict[str, Any], int]:
    """Every key and value (any type) the gateway wrote to the run's database (its prefix),
    a summary of key families, and how many other keys were there (not the run's: ignored)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    parts: list[bytes] = []
    families: dict[str, list[int]] = {}
    foreign = 0
    try:
        async for key in client.scan_iter(count=500):
            if not key.startswith(GATEWAY_PREFIX.encode()):
                foreign += key != CLAIM_KEY.encode()
                continue
            kind = (await client.type(key)).decode()
            parts.append(key)
            if kind == "string":
                parts.append(await client.get(key) or b"")
            elif kind == "hash":
                for k, v in (await client.hgetall(key)).items():
                    parts += [k, v]
            elif kind == "list":
                parts += await client.lrange(key, 0, -1)
            elif kind == "set":
                parts += list(await client.smembers(key))
            elif kind == "zset":
                parts += [m for m, _ in await client.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                for _id, fields in await client.xrange(key):
                    for k, v in fields.items():
                        parts += [k, v]
            ttl = await client.ttl(key)
            family = ":".join(key.decode("utf-8", "replace").split(":")[:2])
            families.setdefault(family, []).append(ttl)
    finally:
        await client.aclose()
    return b"\n".join(parts), families, foreign


async def redis_cleanup(url: str) -> None:
    """Delete the gateway's keys (its prefix) and the run's claim; nothing else."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        async for key in client.scan_iter(match=GATEWAY_PREFIX + "*", count=500):
            await client.delete(key)
        await client.delete(CLAIM_KEY)
    finally:
        await client.aclose()


def read_store(store: Path) -> bytes:
    """The SQLite file and its journal/WAL files, as bytes."""
    files = sorted(store.parent.glob(store.name + "*"))
    return b"".join(p.read_bytes() for p in files if p.is_file())


def file_mode(path: Path) -> int | None:
    return path.stat().st_mode & 0o777 if path.exists() else None


async def personal_data_scan(run: Run, log: Path, store: Path) -> None:
    steps = await portal_session(run)
    print("  the session: " + ", ".join(f"{k} {v}" for k, v in steps.items()))
    await asyncio.sleep(0.5)  # log lines flushed
    terms = search_terms(run)
    places: dict[str, bytes | None] = {}
    families: dict[str, Any] = {}
    if run.redis_url is not None:
        places["Redis"], families, foreign = await redis_dump(run.redis_url)
        if foreign:
            print(f"  Redis: {foreign} keys not under {GATEWAY_PREFIX} (not the run's) ignored")
    else:
        places["Redis"] = None
    store_bytes = await asyncio.to_thread(read_store, store)
    places["store"] = store_bytes
    places["log"] = await asyncio.to_thread(log.read_bytes)
    expected = {
        "Redis": "none",
        "log": "none",
        "store": "lists the patron made (basket, shelf: item ids and titles) by design; "
        "reading history sealed; no name, card or password",
    }
    found: dict[str, int] = {}
    for place, blob in places.items():
        if blob is None:
            print(f"  {place}: not used in this run")
            continue
        counts = {kind: count_in(blob, values) for kind, values in terms.items()}
        found[place] = sum(counts.values())
        said = ", ".join(f"{kind} {n}" for kind, n in counts.items())
        print(f"  {place} ({len(blob):,} bytes): {said}  (expected: {expected[place]})")
    if families:
        print("  Redis keys after the session (family: count, longest TTL s):")
        for family, ttls in sorted(families.items()):
            print(f"    {family}: {len(ttls)}, {max(ttls)}")
    run.results["pii"] = found
    mode = await asyncio.to_thread(file_mode, store)
    print(f"  store file mode: {oct(mode) if mode is not None else 'absent'}")


# -- main ----------------------------------------------------------------------------------------


async def find_available(run: Run) -> list[str]:
    """Copies on the shelf (books), for holds, basket and a kiosk checkout."""
    library = run.library
    on_shelf = [
        i.barcode
        for i in library.data.items
        if i.status.value == "available"
        and not i.not_for_loan
        and library.biblio(i.biblio_id).item_type.value == "BK"
    ]
    return on_shelf[:3] + on_shelf[-1:]


def delays_said(run: Run) -> str:
    """Guesses refused by a growing delay on each face (before the lock), and the time the
    attacker waited them out."""
    if not run.policy.delays:
        return "none (this gateway has no growing delays)"
    parts = []
    for key, label in (
        ("http_card", "HTTP one card"),
        ("http_address", "HTTP one address"),
        ("kiosk_63", "kiosk 63"),
        ("bridge", "bridge"),
    ):
        result = run.results.get(key)
        if isinstance(result, Guessing):
            parts.append(f"{label} {result.throttled} ({result.waited:.1f} s)")
    paused = run.results.get("kiosk_93_paused")
    if paused:
        parts.append(f"kiosk 93 waited before {paused} tries")
    return ", ".join(parts)


def targets(run: Run) -> bool:
    policy = run.policy
    http = run.results.get("http_card")
    kiosk = run.results.get("kiosk_63")
    below, at = run.results.get("kiosk_93_user", (False, True))
    lock_ok = (
        http is not None
        and http.refused_by == "locked"
        and http.reached == policy.max_failures
        and (http.right_while_locked or "").startswith("429")
        and kiosk is not None
        and kiosk.refused_by == "refused"
        and kiosk.reached == policy.max_failures
        and kiosk.right_while_locked != "accepted"
        and below
        and not at
    )
    lock_said = (
        f"HTTP {http.reached if http else '?'}, kiosk 63 {kiosk.reached if kiosk else '?'}, "
        f"kiosk 93 {'locked at it' if below and not at else 'not at it'}"
    )
    five = len(TALLY.five_xx)
    pii = run.results.get("pii", {})
    leaked = {p: n for p, n in pii.items() if p in ("Redis", "log")}
    pii_ok = "log" in pii and all(n == 0 for n in leaked.values())
    answered = sum(TALLY.statuses.values())
    lines = [
        (lock_ok, f"lock at the configured threshold ({policy.max_failures}): {lock_said}"),
        (five == 0, f"0 × 5xx: {five} of {answered} HTTP answers"),
        (pii_ok, "0 personal data in Redis and logs: "
         + ", ".join(f"{p} {n}" for p, n in leaked.items())
         + ("" if "Redis" in pii else " (Redis not used)")),
    ]  # fmt: skip
    print("\ntargets:")
    for ok, text in lines:
        print(f"TARGET {'PASS' if ok else 'FAIL'}  {text}")
    print(f"refused by growing delays (waited out, not counted above): {delays_said(run)}")
    for line in TALLY.five_xx[:10]:
        print(f"  5xx: {line}")
    return all(ok for ok, _ in lines)


async def attack(run: Run, log: Path, store: Path) -> bool:
    run.results["available_items"] = await find_available(run)
    sections: list[tuple[str, Callable[[Run], Awaitable[None]]]] = [
        ("password guessing", guessing),
        ("unknown card vs wrong password", unknown_vs_wrong),
        ("bad inputs", bad_inputs),
        ("connection limits (kiosk SIP2 face)", connection_limits),
    ]
    for title, section in sections:
        print(f"\n{title}:")
        started = time.monotonic()
        try:
            await asyncio.wait_for(section(run), 240)
        except TimeoutError:
            print(f"  (stopped: {title} ran past its bound)")
        print(f"  [{time.monotonic() - started:.1f} s]")
    print("\npersonal data (after a portal session with reading history on):")
    await personal_data_scan(run, log, store)
    return targets(run)


async def guessing(run: Run) -> None:
    await http_card_guessing(run)
    await http_address_guessing(run)
    await kiosk_patron_guessing(run)
    await kiosk_terminal_guessing(run)
    await bridge_guessing(run)


async def main_async(args: argparse.Namespace, work: Path) -> bool:
    policy = run_policy(args.quick)
    idle, frame_deadline = (1.5, 1.5) if args.quick else (3.0, 2.0)
    library = write_library(work / "library.json")
    ils_port, kiosk_port, port = free_port(), free_port(), free_port()
    config = work / "tenants.toml"
    config.write_text(tenant_toml(ils_port, kiosk_port, policy, idle, frame_deadline), "utf-8")
    store = work / "store.sqlite3"
    redis_url = pick_redis(args.redis)
    ils_args = [str(BIN / "ils-gateway"), "simulate", "sip2", "--data", str(work / "library.json")]
    ils_args += ["--port", str(ils_port), "--login", ":".join(ILS_LOGIN)]
    serve = [str(BIN / "ils-gateway"), "serve", "--config", str(config), "--port", str(port)]
    serve += ["--store", f"sqlite+aiosqlite:///{store}"]
    if redis_url is not None:
        serve += ["--redis", redis_url]
    log = work / "gateway.log"
    print(f"attack run ({'quick' if args.quick else 'full'}); files in {work}")
    print(f"  login policy: {policy.describe()}")
    print(f"  kiosk face: idle timeout {idle:g} s, frame deadline {frame_deadline:g} s (run)")
    print(f"  Redis: {redis_url or 'not used'}; store: SQLite in the run's directory")
    started = time.monotonic()
    try:
        with process(ils_args, work / "ils.log") as ils:
            wait_port(ils_port, ils)
            with process(serve, log) as gateway:
                base = f"http://127.0.0.1:{port}"
                await wait_healthy(base, gateway)
                wait_port(kiosk_port, gateway)
                run = Run(
                    base=base,
                    kiosk_port=kiosk_port,
                    policy=policy,
                    quick=args.quick,
                    idle=idle,
                    frame_deadline=frame_deadline,
                    work=work,
                    library=library,
                    redis_url=redis_url,
                )
                ok = await attack(run, log, store)
                still = gateway.poll() is None
                print(f"  gateway process still running at the end: {'yes' if still else 'NO'}")
    finally:
        if redis_url is not None and args.redis == "auto":
            await redis_cleanup(redis_url)
    print(f"run took {time.monotonic() - started:.0f} s")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer samples)")
    parser.add_argument(
        "--redis",
        default="auto",
        help="auto (an empty database of the local Redis when it answers), off, or a URL",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ilsgw-attack-"))
    try:
        ok = asyncio.run(main_async(args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
