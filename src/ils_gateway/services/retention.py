"""How long the store keeps the account links and the sent mail (issue 18), and the purges
that the ``purge_account_tokens`` and ``purge_sent_mail`` jobs run.

The retentions are constants, not settings: each follows from how the data is used (below),
not from a library's policy, and a shorter one would break dedup or an operator's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ils_gateway.domain.clock import Clock
from ils_gateway.store.store import Store

__all__ = [
    "FAILED_MAIL_RETENTION",
    "SENT_MAIL_RETENTION",
    "TOKEN_GRACE",
    "MailPurge",
    "purge_account_tokens",
    "purge_sent_mail",
]

#: A link token used (or voided by a newer link) or expired is kept this long, then deleted.
#: Why a day: a token opens nothing once used or expired (``take_token`` checks both), but a
#: link whose library write failed is released (``release_token``) after its use, and an
#: operator answering "the link does not work" the same day can still see the row. Longer
#: keeps nothing useful; links themselves live minutes to a day (``*_link_minutes``).
TOKEN_GRACE = timedelta(days=1)

#: A sent mail's row (recipients, template, dedup key, times; its context was dropped at
#: sending) is kept this long. Why 30 days: its dedup key keeps an event from being mailed
#: twice only while the event can be seen again; every outbox key names a one-time event (a
#: hold, a loan's due date, a token, an SDI run date, a kiosk login time), and the polled
#: notices also have their own ledger, so a month is well past any re-sighting, and it lets an
#: operator answer "was I mailed?" for a month. The recipients are personal data: no longer.
SENT_MAIL_RETENTION = timedelta(days=30)

#: A ``failed`` mail is kept for an operator to read and retry (``ils-gateway mail failed |
#: retry``); one nobody retried goes this long after its last attempt. Why 90 days: longer than
#: sent mail because it needs a person's attention (holidays, a long SMTP outage), but its
#: context (names, titles, a link) is personal data and should not stay for ever.
FAILED_MAIL_RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class MailPurge:
    """What one ``purge_sent_mail`` run deleted."""

    sent: int
    failed: int


async def purge_account_tokens(store: Store, clock: Clock) -> int:
    """Delete the link tokens used or expired more than ``TOKEN_GRACE`` ago; how many."""
    return await store.account.purge_tokens(clock() - TOKEN_GRACE)


async def purge_sent_mail(store: Store, clock: Clock) -> MailPurge:
    """Delete sent mails past ``SENT_MAIL_RETENTION`` and failed ones past
    ``FAILED_MAIL_RETENTION``; pending and sending mails are never deleted."""
    now = clock()
    sent = await store.outbox.purge_sent(now - SENT_MAIL_RETENTION)
    failed = await store.outbox.purge_failed(now - FAILED_MAIL_RETENTION)
    return MailPurge(sent=sent, failed=failed)
