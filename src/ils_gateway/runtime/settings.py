"""``GatewaySettings``: everything the runtime is built from, as one frozen value."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.mail.smtp import SmtpServer
from ils_gateway.runtime.backends import BackendFactory, BackendWrapper, build_backend, resilient
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.state.ratelimit import RateLimit
from ils_gateway.tenants.loader import TenantRegistry

# A resource started before the gateway and stopped after it (an embedded simulator).
Resource = Callable[[], AsyncIterator[None]]


# Default: 300 a minute from one address (a library's public PCs share one), per tenant.
ANONYMOUS_LOOKUP_LIMIT = RateLimit(limit=300, window=60)


@dataclass(frozen=True)
class MailSettings:
    """Server-wide mail settings: the SMTP server and From: address of tenants that name none
    (``[tenants.mail]``), and how often ``serve`` drains the outbox (None: not at all)."""

    smtp: SmtpServer | None = None
    sender: str | None = None
    drain_interval: float | None = 60.0


@dataclass(frozen=True)
class GatewaySettings:
    """Tenants, limits, shared state and store, and the seams tests replace.

    Frozen: derive a changed copy with ``dataclasses.replace``.
    """

    tenants: TenantRegistry
    clock: Clock = system_clock
    backend_factory: BackendFactory = build_backend
    wrap_backend: BackendWrapper | None = resilient
    client_max_size: int = 64 * 1024
    kiosk_header: str = "X-Kiosk-Key"
    json_logs: bool | None = None
    # Sessions, Idempotency-Keys, read caches and rate limits in Redis (many processes): one
    # client per process. In memory when None. In Redis, names are keyed hashes and personal
    # values sealed under keys derived from the server secret (``server_secret``).
    redis_url: str | None = None
    redis_prefix: str = "ilsgw:"
    # The process's Redis pool (``runtime.shared.redis_client``): at most this many connections;
    # a request past them waits up to ``redis_pool_timeout`` seconds for one (then 503, never
    # 500); each command (and connecting) is bounded by ``redis_socket_timeout`` seconds.
    redis_max_connections: int = 64
    redis_pool_timeout: float = 2.0
    redis_socket_timeout: float = 2.0
    # A process-local near cache of decoded sessions and cached reads in front of Redis, kept
    # correct by invalidations on a Redis channel (``ils_gateway.nearcache``); at most this
    # many sessions and cache scopes. False: every request reads Redis.
    redis_near_cache: bool = True
    near_cache_entries: int = 100_000
    # One of several worker processes (``serve --workers``): the SIP2 faces listen with
    # SO_REUSEPORT beside the others' (the HTTP port is handled by ``serve_app``).
    reuse_port: bool = False
    # The tenant file or directory ``tenants`` came from; the SIP2 faces reload their terminal
    # profiles from it (SIGHUP, the operator call). None: no reload.
    tenants_source: Path | None = None
    # The gateway store (basket, sequences, shelves, reading history…); None: those are off.
    store: StoreSettings | None = None
    # The server secret shared state is sealed with; None: the store's (the usual case).
    secret: bytes | None = field(default=None, repr=False)
    # How long a patron's cached data (loans, holds, summary, e-book lists) is kept after its
    # last write, as last good data for when the library system is down; in memory and Redis.
    personal_data_minutes: float = 5.0
    # The in-process read cache (no Redis) of each library system: at most this many entries,
    # whose stored encoded answers come to at most this many bytes; past either the least
    # recently written patron's (or shared) scope goes first, one at a time.
    read_cache_entries: int = 50_000
    read_cache_bytes: int = 64 * 1024 * 1024
    # Of those, at most this many (the most recently used) are kept decoded as well; the others
    # are kept as deflated JSON and decoded again when asked for (issue 17: memory).
    read_cache_decoded: int = 1024
    # Resources started before the gateway (embedded simulators), closed after it.
    extra_cleanups: tuple[Resource, ...] = ()
    # Reverse proxies whose forwarding header names the client (``api.client``); none: the
    # socket peer is the client. The header read from them: X-Forwarded-For or Forwarded.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    forwarded_header: str = "X-Forwarded-For"
    # Requests without a session that look up the catalog (item, pickup libraries), per client
    # address and tenant: 429 with Retry-After past it (``api.limits``).
    anonymous_lookup_limit: RateLimit = ANONYMOUS_LOOKUP_LIMIT
    # Who may read /metrics (``api.metrics``): socket peers in these networks; none listed:
    # anyone who reaches the bind address (the default; bind to a private address).
    metrics_allowed: tuple[IPv4Network | IPv6Network, ...] = ()
    # Patron mail (``mail``): default SMTP server and sender, outbox drain interval.
    mail: MailSettings = MailSettings()

    def __post_init__(self) -> None:
        if self.forwarded_header.lower() not in ("x-forwarded-for", "forwarded"):
            raise ValueError("forwarded_header must be X-Forwarded-For or Forwarded")

    @property
    def server_secret(self) -> bytes | None:
        """The secret shared state is sealed with: ``secret``, else the store's, else None."""
        if self.secret is not None:
            return self.secret
        return self.store.secret if self.store is not None else None


def trusted_networks(values: Iterable[str]) -> tuple[IPv4Network | IPv6Network, ...]:
    """CIDRs (or single addresses) as networks, e.g. from ``--trusted-proxy``; ``ValueError``
    naming the first that is not one. Values may be separated by commas or spaces."""
    networks: list[IPv4Network | IPv6Network] = []
    for value in values:
        for text in value.replace(",", " ").split():
            try:
                networks.append(ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {text!r}") from None
    return tuple(networks)
