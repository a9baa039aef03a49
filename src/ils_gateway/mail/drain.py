"""Draining the outbox: claim due mails, render, send, settle; retry with backoff.

``drain_outbox(repository, tenants, …)`` is one run (the scheduler calls it every minute in
``serve``; ``ils-gateway mail drain`` once):

1. mails whose lease expired after their last attempt are marked ``failed`` and reported;
2. batches of due mails of the tenants that can send (a ``[tenants.mail]`` sender or the
   server's default, and an SMTP server) are claimed (see ``store.outbox``: several processes
   may drain at once, each mail is claimed by one), rendered and sent one by one;
3. a sent mail is marked ``sent``; a failed one goes back to ``pending`` with its next attempt
   after ``retry.wait_after(attempts)`` (exponential: 1, 2, 4… minutes, at most an hour by
   default), or is marked ``failed`` after ``retry.attempts`` attempts or at once when retrying
   cannot help (every recipient refused with a 5xx, a template that does not render). A failed
   mail is logged at error level and counted (``ils_gateway_mails_total{outcome="failed"}``);
   ``ils-gateway mail failed`` lists them and ``mail retry`` queues them again.

A mail whose tenant cannot send is left ``pending`` (kept, not failed): ``tenants_without_mail``
names such tenants so the caller can log it once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from ils_gateway.domain.clock import Clock
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.mail.message import build_message
from ils_gateway.mail.smtp import SendFailed, SmtpServer, SmtpSessions, Transport, server_for
from ils_gateway.mail.templates import MailTemplates, TemplateProblem, mail_language
from ils_gateway.observability import metrics
from ils_gateway.store.outbox import OutboxMail, OutboxRepository
from ils_gateway.tenants.mail import MailConfig
from ils_gateway.tenants.models import TenantConfig

__all__ = [
    "DEFAULT_RETRY",
    "DrainReport",
    "DrainSettings",
    "MailRoute",
    "drain_outbox",
    "mail_routes",
    "tenants_without_mail",
]

log = structlog.get_logger(__name__)

#: 8 attempts: 1, 2, 4, 8, 16, 32, 60 minutes apart (about two hours in all).
DEFAULT_RETRY = RetryPolicy(attempts=8, first_wait=60.0, max_wait=3600.0)


@dataclass(frozen=True)
class DrainSettings:
    """How a drain run claims and retries."""

    #: Mails claimed at once (each claim is one short transaction).
    batch: int = 20
    #: At most this many batches per run (the next run goes on).
    max_batches: int = 50
    #: How long a claim holds its mails: longer than a batch can take to send. A process that
    #: dies mid-send leaves its mails to be claimed again once this runs out.
    lease: timedelta = timedelta(minutes=15)
    retry: RetryPolicy = DEFAULT_RETRY


@dataclass
class DrainReport:
    """What one run did: counts by outcome, and the ids of the mails that failed for good."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    failed_ids: list[int] = field(default_factory=list)
    #: Tenants whose mails are kept because the tenant has no sender or no SMTP server.
    unconfigured: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "failed_ids": self.failed_ids,
            "unconfigured": self.unconfigured,
        }


@dataclass(frozen=True)
class MailRoute:
    """How one tenant's mails are made and sent."""

    tenant: TenantConfig
    config: MailConfig
    server: SmtpServer
    templates: MailTemplates


def _effective_config(tenant: TenantConfig, default_sender: str | None) -> MailConfig | None:
    if tenant.mail is not None:
        return tenant.mail
    if default_sender is not None:
        return MailConfig(sender=default_sender)
    return None


def mail_routes(
    tenants: Iterable[TenantConfig],
    default_server: SmtpServer | None,
    default_sender: str | None = None,
) -> tuple[dict[str, MailRoute], dict[str, str]]:
    """The tenants that can send (by id), and why each other one cannot (by id)."""
    routes: dict[str, MailRoute] = {}
    why_not: dict[str, str] = {}
    for tenant in tenants:
        config = _effective_config(tenant, default_sender)
        if config is None:
            why_not[tenant.id] = "no [tenants.mail] sender (and no server mail_sender)"
            continue
        try:
            server = server_for(config.smtp, default_server)
        except LookupError as exc:
            why_not[tenant.id] = f"[tenants.mail.smtp] password: {exc}"
            continue
        if server is None:
            why_not[tenant.id] = "no SMTP server ([tenants.mail.smtp] or the server's smtp_url)"
            continue
        routes[tenant.id] = MailRoute(tenant, config, server, MailTemplates.for_tenant(tenant))
    return routes, why_not


def tenants_without_mail(
    tenants: Iterable[TenantConfig],
    default_server: SmtpServer | None,
    default_sender: str | None = None,
) -> dict[str, str]:
    """Tenants whose mails stay in the outbox, with the reason (for a log line at start)."""
    return mail_routes(tenants, default_server, default_sender)[1]


def _sender_name(route: MailRoute, language: str) -> str:
    config, tenant = route.config, route.tenant
    if language == "en":
        return config.sender_name_en or tenant.name_en or config.sender_name or tenant.name
    return config.sender_name or tenant.name


async def _deliver(
    route: MailRoute, mail: OutboxMail, clock: Clock, transport: Transport
) -> list[str]:
    language = mail_language(route.tenant, mail.language)
    config = route.config
    rendered = route.templates.render(
        mail.template,
        language,
        mail.context,
        library=_sender_name(route, language),
        portal_url=config.portal_url,
        signature=config.signature_en if language == "en" else config.signature,
    )
    built = build_message(
        rendered,
        config=config,
        sender_name=_sender_name(route, language),
        recipients=mail.recipients,
        mail_id=mail.id,
        tenant_id=mail.tenant_id,
        now=clock(),
    )
    if built.fell_back:
        log.warning(
            "mail text does not fit ISO-2022-JP; sent as UTF-8",
            tenant=mail.tenant_id,
            mail_id=mail.id,
            template=mail.template,
        )
    return await transport(route.server, built.message, config.sender, mail.recipients)


async def _settle_failure(
    repository: OutboxRepository,
    mail: OutboxMail,
    error: str,
    permanent: bool,
    settings: DrainSettings,
    clock: Clock,
    report: DrainReport,
) -> None:
    if permanent or mail.attempts >= settings.retry.attempts:
        if await repository.mark_failed(mail, error):
            report.failed += 1
            report.failed_ids.append(mail.id)
            metrics.mail_sent(mail.tenant_id, "failed")
            log.error(
                "mail failed; not retried",
                tenant=mail.tenant_id,
                mail_id=mail.id,
                template=mail.template,
                attempts=mail.attempts,
                permanent=permanent,
                error=error,
            )
        return
    wait = timedelta(seconds=settings.retry.wait_after(mail.attempts))
    if await repository.mark_retry(mail, error, clock() + wait):
        report.retried += 1
        metrics.mail_sent(mail.tenant_id, "retry")
        log.warning(
            "mail not sent; will retry",
            tenant=mail.tenant_id,
            mail_id=mail.id,
            attempts=mail.attempts,
            retry_in_seconds=wait.total_seconds(),
            error=error,
        )


async def drain_outbox(
    repository: OutboxRepository,
    tenants: Iterable[TenantConfig] | Mapping[str, MailRoute],
    *,
    clock: Clock,
    default_server: SmtpServer | None = None,
    default_sender: str | None = None,
    settings: DrainSettings = DrainSettings(),
    transport: Transport | None = None,
) -> DrainReport:
    """One drain run over the outbox (see the module's docstring); returns what it did.

    ``tenants``: the tenant configurations (their routes are worked out here), or routes from
    ``mail_routes`` (worked out once by a long-running caller). ``transport`` sends one
    message; by default an ``SmtpSessions`` for this run (one connection per SMTP server,
    closed at the end).
    """
    report = DrainReport()
    if isinstance(tenants, Mapping):
        routes = dict(tenants)
    else:
        routes, why_not = mail_routes(tenants, default_server, default_sender)
        report.unconfigured = sorted(why_not)
    for mail in await repository.abandon_exhausted(settings.retry.attempts):
        report.failed += 1
        report.failed_ids.append(mail.id)
        metrics.mail_sent(mail.tenant_id, "failed")
        log.error(
            "mail failed; its last attempt never finished (process ended mid-send?)",
            tenant=mail.tenant_id,
            mail_id=mail.id,
            template=mail.template,
            attempts=mail.attempts,
        )
    if not routes:
        return report
    if transport is None:
        sessions = SmtpSessions()
        try:
            return await _drain(repository, routes, report, clock, settings, sessions)
        finally:
            await sessions.aclose()
    return await _drain(repository, routes, report, clock, settings, transport)


async def _drain(
    repository: OutboxRepository,
    routes: Mapping[str, MailRoute],
    report: DrainReport,
    clock: Clock,
    settings: DrainSettings,
    transport: Transport,
) -> DrainReport:
    outcomes: Counter[str] = Counter()
    # The lease must outlast a batch sent to the slowest server (each send may take a few of its
    # timeouts: connect, EHLO, STARTTLS, AUTH, DATA), or a live drainer's mails could be taken.
    slowest = max(route.server.timeout for route in routes.values())
    lease = max(settings.lease, timedelta(seconds=settings.batch * slowest * 3))
    for _ in range(settings.max_batches):
        claimed = await repository.claim(
            limit=settings.batch,
            lease=lease,
            max_attempts=settings.retry.attempts,
            tenant_ids=sorted(routes),
        )
        if not claimed:
            break
        for mail in claimed:
            route = routes[mail.tenant_id]
            try:
                refused = await _deliver(route, mail, clock, transport)
            except TemplateProblem as exc:
                await _settle_failure(
                    repository, mail, f"template: {exc}", True, settings, clock, report
                )
                continue
            except SendFailed as exc:
                await _settle_failure(
                    repository, mail, str(exc), exc.permanent, settings, clock, report
                )
                continue
            except Exception as exc:  # a fault of ours: kept and retried, never lost
                log.exception("mail could not be made or sent", mail_id=mail.id)
                error = f"{type(exc).__name__}: {exc}"
                await _settle_failure(repository, mail, error, False, settings, clock, report)
                continue
            if await repository.mark_sent(mail):
                report.sent += 1
                outcomes[mail.tenant_id] += 1
                metrics.mail_sent(mail.tenant_id, "sent")
            if refused:
                log.warning(
                    "mail sent; some recipients refused",
                    tenant=mail.tenant_id,
                    mail_id=mail.id,
                    refused=len(refused),
                )
        if len(claimed) < settings.batch:
            break
    if outcomes:
        log.info("mail sent", **{f"sent_{tenant}": n for tenant, n in outcomes.items()})
    return report
