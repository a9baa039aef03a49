"""The gateway's Prometheus metrics, and the small calls that count into them.

Every label is bounded: route names (never paths), configured tenant ids, backend kinds,
operation names, outcomes from a fixed list, SIP2 message codes, job names, configured ACS
addresses. No card number, patron, item, hold or title id is ever a label value.

``/metrics`` (``render``) answers with the multi-process collector when
``PROMETHEUS_MULTIPROC_DIR`` is set (``observability.multiprocess``), else with this process's
registry. The hot path (one request) adds to a batch that is added to the families within a
second (``flush``: one increment per label combination and second, on children looked up once
per label combination, ``_children``).

``prometheus_client`` is imported, and the families made, when the first metric is touched (or
``/metrics`` is read), not when this module is imported: the SIP2 client, the resilience layer
and the API import this module, and a command that counts nothing does not pay for it. The
multi-process directory must still be set before that first touch (``observability.multiprocess``).

Metric names (``METRIC_NAMES``; docs/grafana/ils-gateway.json uses them):

- ``ils_gateway_http_requests_total{route,tenant,status}``
- ``ils_gateway_http_request_duration_seconds{route,tenant}`` (histogram)
- ``ils_gateway_backend_call_duration_seconds{backend,operation,outcome}`` (histogram; its
  ``_count`` by ``outcome`` is the error rate)
- ``ils_gateway_cache_requests_total{tenant,system,result}`` (result: hit, miss)
- ``ils_gateway_breaker_state{breaker}`` (0 closed, 1 half open, 2 open; the worst process)
- ``ils_gateway_breaker_transitions_total{breaker,state}``
- ``ils_gateway_sip2_pool_connections{acs,state}`` (state: in_use, idle; summed over processes)
- ``ils_gateway_sip2_pool_waits_total{acs,result}`` (result: served, timeout)
- ``ils_gateway_login_failures_total{tenant,key}`` (key: card, address)
- ``ils_gateway_login_locks_total{tenant,key}``
- ``ils_gateway_login_refused_total{tenant,reason}`` (reason: locked, throttled)
- ``ils_gateway_job_runs_total{job,outcome}`` (outcome: ok, failed)
- ``ils_gateway_job_duration_seconds{job}`` (histogram)
- ``ils_gateway_kiosk_messages_total{tenant,message,outcome}`` (the SIP2 face's requests by
  code; outcome: ok, refused, disallowed, failed)
- ``ils_gateway_kiosk_errors_total{tenant,kind}`` (the SIP2 face's faults: bad_frame,
  login_required, login_outside_subnet, login_refused, proxy_refused, idle_timeout, …)
"""

from __future__ import annotations

import asyncio
import threading
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

from ils_gateway.observability.multiprocess import multiprocess_dir

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "CONTENT_TYPE",
    "METRIC_NAMES",
    "backend_call",
    "breaker_changed",
    "cache_lookup",
    "flush",
    "job_ran",
    "kiosk_error",
    "kiosk_message",
    "login_failed",
    "login_refused",
    "mail_sent",
    "render",
    "request_done",
    "sip2_pool",
]

#: The type of what ``render`` writes (``generate_latest``: the classic text format), as
#: prometheus-client's own handler sends it for a scraper that asks for plain text (a test checks
#: it); spelled out so that reading it does not import prometheus-client.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request and backend latencies: from a cached read (sub-millisecond) to a slow ACS (30 s).
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Families:
    """The metric families, made (and ``prometheus_client`` imported, which reads
    ``PROMETHEUS_MULTIPROC_DIR``) when the first metric is touched or ``/metrics`` is read: a
    command that counts nothing (``--help``, ``simulate``, library code importing the SIP2
    client) does not pay for prometheus-client."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.http_requests = Counter(
            "ils_gateway_http_requests",
            "API requests answered, by route name, tenant and status",
            ("route", "tenant", "status"),
        )
        self.http_duration = Histogram(
            "ils_gateway_http_request_duration_seconds",
            "Time to answer an API request, by route name and tenant",
            ("route", "tenant"),
            buckets=_LATENCY,
        )
        self.backend_duration = Histogram(
            "ils_gateway_backend_call_duration_seconds",
            "Calls to library systems and e-libraries, by backend kind, operation and outcome",
            ("backend", "operation", "outcome"),
            buckets=_LATENCY,
        )
        self.cache_requests = Counter(
            "ils_gateway_cache_requests",
            "Read cache look-ups, by tenant, system (ils, e-library) and result (hit, miss)",
            ("tenant", "system", "result"),
        )
        self.breaker_state = Gauge(
            "ils_gateway_breaker_state",
            "Circuit breaker state: 0 closed, 1 half open, 2 open (the worst of the live "
            "processes)",
            ("breaker",),
            multiprocess_mode="livemax",
        )
        self.breaker_transitions = Counter(
            "ils_gateway_breaker_transitions",
            "Circuit breaker state changes, by breaker and the state entered",
            ("breaker", "state"),
        )
        self.sip2_pool_connections = Gauge(
            "ils_gateway_sip2_pool_connections",
            "SIP2 client pool connections, by ACS address and state (in_use, idle)",
            ("acs", "state"),
            multiprocess_mode="livesum",
        )
        self.sip2_pool_waits = Counter(
            "ils_gateway_sip2_pool_waits",
            "Requests that waited for a free SIP2 connection, by ACS and result (served, timeout)",
            ("acs", "result"),
        )
        self.login_failures = Counter(
            "ils_gateway_login_failures",
            "Failed logins counted against a key (card, address), by tenant",
            ("tenant", "key"),
        )
        self.login_locks = Counter(
            "ils_gateway_login_locks",
            "Keys locked after too many failed logins, by tenant and key kind",
            ("tenant", "key"),
        )
        self.login_refused = Counter(
            "ils_gateway_login_refused",
            "Logins refused before checking the password, by tenant and reason (locked, throttled)",
            ("tenant", "reason"),
        )
        self.job_runs = Counter(
            "ils_gateway_job_runs",
            "Periodic job runs, by job and outcome (ok, failed)",
            ("job", "outcome"),
        )
        self.job_duration = Histogram(
            "ils_gateway_job_duration_seconds",
            "Time a periodic job run took",
            ("job",),
            buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0),
        )
        self.kiosk_messages = Counter(
            "ils_gateway_kiosk_messages",
            "Requests on the SIP2 face, by tenant, message code and outcome (ok, refused, "
            "disallowed, failed)",
            ("tenant", "message", "outcome"),
        )
        self.kiosk_errors = Counter(
            "ils_gateway_kiosk_errors",
            "Faults on the SIP2 face, by tenant and kind (bad_frame, login_outside_subnet, ...)",
            ("tenant", "kind"),
        )
        self.mails = Counter(
            "ils_gateway_mails",
            "Outbox send attempts, by tenant and outcome (sent, retry, failed)",
            ("tenant", "outcome"),
        )


_families: _Families | None = None
_families_lock = threading.Lock()


def _made() -> _Families:
    """The metric families, made on the first call (once, whichever thread calls first)."""
    global _families
    families = _families
    if families is None:
        with _families_lock:
            families = _families
            if families is None:
                families = _families = _Families()
    return families


METRIC_NAMES: tuple[str, ...] = (
    "ils_gateway_http_requests_total",
    "ils_gateway_http_request_duration_seconds",
    "ils_gateway_backend_call_duration_seconds",
    "ils_gateway_cache_requests_total",
    "ils_gateway_breaker_state",
    "ils_gateway_breaker_transitions_total",
    "ils_gateway_sip2_pool_connections",
    "ils_gateway_sip2_pool_waits_total",
    "ils_gateway_login_failures_total",
    "ils_gateway_login_locks_total",
    "ils_gateway_login_refused_total",
    "ils_gateway_job_runs_total",
    "ils_gateway_job_duration_seconds",
    "ils_gateway_mails_total",
    "ils_gateway_kiosk_messages_total",
    "ils_gateway_kiosk_errors_total",
)
"""The series names as exposed (counters with ``_total``; histograms' base name)."""

# Children by label values, looked up once: ``labels()`` validates and locks on every call.
_children: dict[tuple[Any, ...], Any] = {}
_MAX_CHILDREN = 10_000  # labels are bounded; this only guards against a mistake


def _child(family: str, *values: str) -> Any:
    """The child of the family named ``family`` (a ``_Families`` attribute) for ``values``."""
    key = (family, *values)
    child = _children.get(key)
    if child is None:
        child = getattr(_made(), family).labels(*values)
        if len(_children) < _MAX_CHILDREN:
            _children[key] = child
    return child


BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def request_done(route: str, tenant: str, status: int, seconds: float) -> None:
    """One API request answered (``route``: its route name; ``tenant``: a configured id or
    ``""``). Counted into the batch (see ``flush``)."""
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    key = (route, tenant, status)
    if loop is None:  # outside an event loop: at once
        _add_requests(key, [1, seconds, *_one_bucket(seconds)])
        return
    if loop is not _flush_loop:
        _schedule_flush(loop)
    pending = _pending_requests.get(key)
    if pending is None:
        pending = _pending_requests[key] = [0, 0.0, *_NO_BUCKETS]
    pending[0] += 1
    pending[1] += seconds
    pending[2 + bisect_left(_BOUNDS, seconds)] += 1


def cache_lookup(tenant: str, system: str, hit: bool) -> None:
    """One read cache look-up (counted into the batch, see ``flush``)."""
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:  # outside an event loop: at once
        _child("cache_requests", tenant, system, "hit" if hit else "miss").inc()
        return
    if loop is not _flush_loop:
        _schedule_flush(loop)
    key = (tenant, system, hit)
    _pending_lookups[key] = _pending_lookups.get(key, 0) + 1


# The two counts made on every request are gathered and added to the families at most
# ``FLUSH_AFTER`` seconds later (``flush``, on a timer of the running event loop): a counter
# increment and a histogram observation cost several Python calls and locks each, and a
# callback per turn of the loop costs as much again; a batch costs a dict look-up and a
# bisection per request, and the families' calls once per interval and label combination.
# ``registry``/``render`` flush first, so this process's ``/metrics`` never misses a request
# answered before; with several processes (multi-process mode) another process's requests
# show within ``FLUSH_AFTER``. The app flushes at shutdown (``api.app``).
FLUSH_AFTER = 1.0
_BOUNDS = (*_LATENCY, float("inf"))  # the histogram's buckets, ``+Inf`` last (as its children)
_NO_BUCKETS = (0,) * len(_BOUNDS)
# (route, tenant, status) -> [count, sum of seconds, count in each bucket (not cumulative)]
_pending_requests: dict[tuple[str, str, int], list[Any]] = {}
_pending_lookups: dict[tuple[str, str, bool], int] = {}
# The event loop a flush is scheduled on (None: none scheduled).
_flush_loop: asyncio.AbstractEventLoop | None = None


def _one_bucket(seconds: float) -> list[int]:
    buckets = list(_NO_BUCKETS)
    buckets[bisect_left(_BOUNDS, seconds)] = 1
    return buckets


def _schedule_flush(loop: asyncio.AbstractEventLoop) -> None:
    """A flush ``FLUSH_AFTER`` from now on ``loop`` (the batch may hold counts made under a
    loop that has ended before its flush: they go with this one)."""
    global _flush_loop
    loop.call_later(FLUSH_AFTER, flush)
    _flush_loop = loop


def flush() -> None:
    """Add the batched counts to the metric families (``FLUSH_AFTER`` after the first of
    them, before ``/metrics`` is read, and at shutdown)."""
    global _flush_loop
    _flush_loop = None
    if _pending_requests:
        requests = list(_pending_requests.items())
        _pending_requests.clear()
        for key, pending in requests:
            _add_requests(key, pending)
    if _pending_lookups:
        lookups = list(_pending_lookups.items())
        _pending_lookups.clear()
        for (tenant, system, hit), count in lookups:
            _child("cache_requests", tenant, system, "hit" if hit else "miss").inc(count)


def _add_requests(key: tuple[str, str, int], pending: list[Any]) -> None:
    """Add ``pending`` ([count, seconds, bucket counts]) to the children of ``key``: what as
    many ``observe`` calls would have added (a histogram child keeps a sum and one count per
    bucket, not cumulative: the exposition sums them)."""
    pair = _requests.get(key)
    if pair is None:
        families = _made()
        route, tenant, status = key
        pair = (
            families.http_requests.labels(route, tenant, str(status)),
            families.http_duration.labels(route, tenant),
        )
        if len(_requests) < _MAX_CHILDREN:
            _requests[key] = pair
    counter, histogram = pair
    counter.inc(pending[0])
    histogram._sum.inc(pending[1])
    buckets = histogram._buckets
    for index, count in enumerate(pending[2:]):
        if count:
            buckets[index].inc(count)


_requests: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def backend_call(backend: str, operation: str, outcome: str, seconds: float) -> None:
    """One call to a backend ended with ``outcome`` (ok, refused, unavailable, timeout,
    protocol_error, unknown, rejected, error) after ``seconds``."""
    _child("backend_duration", backend, operation, outcome).observe(seconds)


def breaker_changed(breaker: str, state: str) -> None:
    """A circuit breaker entered ``state`` (closed, half_open, open)."""
    _child("breaker_state", breaker).set(BREAKER_VALUES[state])
    _child("breaker_transitions", breaker, state).inc()


def sip2_pool(acs: str, in_use: int, idle: int) -> None:
    """A SIP2 pool's connections now."""
    _child("sip2_pool_connections", acs, "in_use").set(in_use)
    _child("sip2_pool_connections", acs, "idle").set(idle)


def sip2_pool_waited(acs: str, served: bool) -> None:
    """A request waited for a free SIP2 connection (and got one, or timed out)."""
    _child("sip2_pool_waits", acs, "served" if served else "timeout").inc()


def login_failed(tenant: str, key: str, locked: bool) -> None:
    """A failed login counted against a ``key`` kind (card, address); ``locked``: it locked it."""
    _child("login_failures", tenant, key).inc()
    if locked:
        _child("login_locks", tenant, key).inc()


def login_refused(tenant: str, reason: str) -> None:
    """A login refused while its card or address is locked or held back."""
    _child("login_refused", tenant, reason).inc()


def job_ran(job: str, ok: bool, seconds: float) -> None:
    """A periodic job run ended."""
    _child("job_runs", job, "ok" if ok else "failed").inc()
    _child("job_duration", job).observe(seconds)


def mail_sent(tenant: str, outcome: str) -> None:
    """An outbox mail's attempt ended: ``sent``, ``retry`` (will be tried again) or ``failed``."""
    _child("mails", tenant, outcome).inc()


def kiosk_message(tenant: str, message: str, outcome: str) -> None:
    """A request on the SIP2 face answered (``message``: its two-digit code)."""
    _child("kiosk_messages", tenant, message, outcome).inc()


def kiosk_error(tenant: str, kind: str) -> None:
    """A fault on the SIP2 face (a bad frame, a refused login, a refused PROXY header…)."""
    _child("kiosk_errors", tenant, kind).inc()


def registry() -> CollectorRegistry:
    """The registry ``/metrics`` reads: every process's (multi-process mode) or this one's."""
    _made()  # every family is listed, counted into yet or not
    flush()  # what this turn of the event loop counted so far
    from prometheus_client import REGISTRY, CollectorRegistry

    if multiprocess_dir() is None:
        return REGISTRY
    from prometheus_client import multiprocess

    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    return collected


def render() -> bytes:
    """The text exposition ``/metrics`` sends."""
    from prometheus_client import generate_latest

    return generate_latest(registry())
