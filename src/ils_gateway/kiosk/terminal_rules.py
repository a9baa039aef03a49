"""The reply shaping and policy one connection is answered by (``TerminalRules``).

The tenant's ``[tenants.kiosk_sip2.reply]`` and ``[tenants.kiosk_sip2.policy]`` apply to every
machine; a terminal profile chosen for a connection (by address, port, location code or login)
may carry its own ``reply`` or ``policy``, each replacing the tenant's whole (a profile that
names a ``reply`` says all of it, so a profile never half-inherits a rule set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping

__all__ = ["RulesOverride", "TerminalRules", "resolve_rules"]


class RulesOverride(Protocol):
    """What a terminal profile may carry: its own reply shaping or policy (None: the
    tenant's)."""

    @property
    def reply(self) -> ReplyShaping | None: ...

    @property
    def policy(self) -> TerminalPolicy | None: ...


@dataclass(frozen=True)
class TerminalRules:
    """How one connection's answers are worded and what its machine may lend."""

    reply: ReplyShaping
    policy: TerminalPolicy


def resolve_rules(config: KioskSip2Config, override: RulesOverride | None = None) -> TerminalRules:
    """The tenant's rules, with ``override``'s reply or policy where it has one."""
    reply = override.reply if override is not None and override.reply is not None else None
    policy = override.policy if override is not None and override.policy is not None else None
    return TerminalRules(reply=reply or config.reply, policy=policy or config.policy)
