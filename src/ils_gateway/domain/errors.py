"""The one error tree of the gateway.

Every failure a patron or operator may see is one of these classes. Each class states its
problem document once, as class-level data: ``type_slug`` (unique; ``api/`` renders it as
``https://ils-gateway.dev/problems/<type_slug>``), HTTP ``status`` and a short ``title``.
Instances carry ``detail`` (a patron may read it), ``operator_detail`` (logs only, never sent
to a client) and extension members returned by ``extensions()``. Only ``api/`` turns these into
RFC 9457 ``application/problem+json``; the domain never imports ``api/``.

    GatewayError
    ├── BadRequest                 400 bad-request
    │   └── InvalidField           400 invalid-field           (field)
    ├── AuthenticationFailed       401 authentication-failed
    ├── SessionExpired             401 session-expired
    ├── PatronBlocked              403 patron-blocked          (blocks)
    ├── PasswordChangeRequired     403 password-change-required (change_url)
    ├── PasswordRejected           400 password-rejected       (problems, field)
    ├── FeatureDisabled            403 feature-disabled        (feature, channel)
    │   └── PasswordChangeElsewhere 403 password-change-elsewhere (change_url)
    ├── NotFound                   404 not-found
    ├── Conflict                   409 conflict
    ├── LinkInvalid                410 link-invalid
    ├── Refused                    422 refused                 (reason, backend_message)
    │   ├── RenewalRefused         422 renewal-refused
    │   ├── HoldRefused            422 hold-refused
    │   ├── CancelRefused          422 cancel-refused
    │   └── AccountChangeRefused   422 account-change-refused
    ├── MaintenanceWindow          503 maintenance             (until)
    ├── BackendUnavailable         503 backend-unavailable     (retry_after)
    ├── SearchUnavailable          501 search-unavailable
    ├── BackendProtocolError       502 backend-error
    └── OutcomeUnknown             504 outcome-unknown
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from ils_gateway.domain.vocab import BlockReason, Channel, Feature, RefusalReason

__all__ = [
    "AccountChangeRefused",
    "AuthenticationFailed",
    "BackendProtocolError",
    "BackendUnavailable",
    "BadRequest",
    "CancelRefused",
    "Conflict",
    "FeatureDisabled",
    "GatewayError",
    "HoldRefused",
    "InvalidField",
    "LinkInvalid",
    "MaintenanceWindow",
    "NotFound",
    "OutcomeUnknown",
    "PasswordChangeElsewhere",
    "PasswordChangeRequired",
    "PasswordRejected",
    "PatronBlocked",
    "Refused",
    "RenewalRefused",
    "SearchUnavailable",
    "SessionExpired",
]


class GatewayError(Exception):
    """Base of every error the gateway reports; 500 when nothing more specific applies."""

    type_slug: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    #: Seconds after which a retry may succeed (the ``Retry-After`` header), when known.
    retry_after: int | None = None

    def __init__(self, detail: str | None = None, *, operator_detail: str | None = None) -> None:
        self.detail = detail if detail is not None else self.title
        self.operator_detail = operator_detail
        super().__init__(self.detail)

    def extensions(self) -> dict[str, Any]:
        """Extension members of the problem document (JSON-ready values)."""
        return {}

    def __repr__(self) -> str:
        ext = "".join(f", {k}={v!r}" for k, v in self.extensions().items())
        return f"{type(self).__name__}({self.detail!r}{ext})"


class BadRequest(GatewayError):
    """The request is malformed or a value in it is invalid."""

    type_slug = "bad-request"
    status = 400
    title = "Bad request"


class AuthenticationFailed(GatewayError):
    """Card number or password is wrong; deliberately never says which."""

    type_slug = "authentication-failed"
    status = 401
    title = "Card number or password is incorrect"


class SessionExpired(GatewayError):
    """The patron's session ended (idle timeout or logout); log in again."""

    type_slug = "session-expired"
    status = 401
    title = "Session expired"


class PatronBlocked(GatewayError):
    """The patron's card cannot be used now, for the reasons listed in ``blocks``."""

    type_slug = "patron-blocked"
    status = 403
    title = "This card cannot be used now; please contact the library"

    def __init__(
        self,
        blocks: Iterable[BlockReason],
        detail: str | None = None,
        *,
        operator_detail: str | None = None,
    ) -> None:
        self.blocks: list[BlockReason] = list(blocks)
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {"blocks": [str(b) for b in self.blocks]}


class PasswordChangeRequired(GatewayError):
    """The patron logged in with a temporary password and must change it before anything else."""

    type_slug = "password-change-required"
    status = 403
    title = "Please change your temporary password"

    def __init__(
        self,
        detail: str | None = None,
        *,
        change_url: str | None = None,
        operator_detail: str | None = None,
    ) -> None:
        """``change_url``: the library's own page where the password can be changed, for
        libraries whose system cannot change it through the gateway (SIP2)."""
        self.change_url = change_url
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {"change_url": self.change_url} if self.change_url else {}


class PasswordRejected(GatewayError):
    """The new password breaks the tenant's password rules (``problems``, in English) or the
    library system's own."""

    type_slug = "password-rejected"
    status = 400
    title = "The new password is not acceptable"

    def __init__(
        self,
        detail: str | None = None,
        *,
        problems: Iterable[str] = (),
        operator_detail: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problems: list[str] = list(problems)
        self.field = field
        if detail is None and self.problems:
            detail = "The new password is not acceptable: " + "; ".join(self.problems)
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        if self.field is None:
            return {"problems": self.problems}
        return {"problems": self.problems, "field": self.field}


class FeatureDisabled(GatewayError):
    """The tenant does not offer this feature on this channel (or at all)."""

    type_slug = "feature-disabled"
    status = 403
    title = "This feature is not available here"

    def __init__(
        self,
        feature: Feature | str,
        channel: Channel | None = None,
        detail: str | None = None,
        *,
        operator_detail: str | None = None,
    ) -> None:
        self.feature = feature
        self.channel = channel
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {
            "feature": str(self.feature),
            "channel": str(self.channel) if self.channel is not None else None,
        }


class PasswordChangeElsewhere(FeatureDisabled):
    """The library system cannot change passwords through the gateway (SIP2): the patron
    changes it on the library's own page, ``change_url``."""

    type_slug = "password-change-elsewhere"
    title = "Please change your password on the library's own page"

    def __init__(self, change_url: str, *, operator_detail: str | None = None) -> None:
        self.change_url = change_url
        super().__init__(
            Feature.PASSWORD_CHANGE,
            None,
            "This library's password is changed on its own page: " + change_url,
            operator_detail=operator_detail,
        )

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "change_url": self.change_url}


class NotFound(GatewayError):
    """The patron, item, loan, hold or library asked for does not exist (for this patron)."""

    type_slug = "not-found"
    status = 404
    title = "Not found"


class Conflict(GatewayError):
    """The request conflicts with earlier state (e.g. an Idempotency-Key reused, other body)."""

    type_slug = "conflict"
    status = 409
    title = "Conflict"


class Refused(GatewayError):
    """The library said no to an action, for a machine-readable ``reason``."""

    type_slug = "refused"
    status = 422
    title = "The library refused this request"

    def __init__(
        self,
        reason: RefusalReason,
        detail: str | None = None,
        *,
        backend_message: str | None = None,
        operator_detail: str | None = None,
    ) -> None:
        self.reason = reason
        self.backend_message = backend_message
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "backend_message": self.backend_message}


class InvalidField(BadRequest):
    """One field of the request is missing or wrong (``field`` names it), found before any
    I/O: an identity proof a library does not ask for, an address of the wrong shape…"""

    type_slug = "invalid-field"
    title = "A field of the request is not acceptable"

    def __init__(
        self, field: str, detail: str | None = None, *, operator_detail: str | None = None
    ) -> None:
        self.field = field
        super().__init__(detail or f"{field}: not acceptable", operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {"field": self.field}


class LinkInvalid(GatewayError):
    """A mailed link's token is unknown, already used or expired: one answer for all three,
    so a link says nothing about anyone."""

    type_slug = "link-invalid"
    status = 410
    title = "This link is no longer valid"


class AccountChangeRefused(Refused):
    """The library system refused a change to the patron's record (an address, a phone)."""

    type_slug = "account-change-refused"
    title = "The library refused this change to your record"


class RenewalRefused(Refused):
    """A loan could not be renewed."""

    type_slug = "renewal-refused"
    title = "The loan cannot be renewed"


class HoldRefused(Refused):
    """A hold could not be placed or changed."""

    type_slug = "hold-refused"
    title = "The hold cannot be placed"


class CancelRefused(Refused):
    """A hold could not be cancelled."""

    type_slug = "cancel-refused"
    title = "The hold cannot be cancelled"


class MaintenanceWindow(GatewayError):
    """Writes are paused for the library's maintenance window, ``until`` the given time."""

    type_slug = "maintenance"
    status = 503
    title = "Service paused for maintenance"

    def __init__(
        self,
        until: datetime,
        detail: str | None = None,
        *,
        now: datetime | None = None,
        operator_detail: str | None = None,
    ) -> None:
        self.until = until
        if detail is None:
            detail = f"Service paused until {until:%H:%M}"
        super().__init__(detail, operator_detail=operator_detail)
        # Seconds to ``until``, counted once from ``now`` (the gateway's clock, which judged the
        # window); None when ``until`` has no time zone.
        if until.tzinfo is not None:
            now = now if now is not None else datetime.now(until.tzinfo)
            self.retry_after = max(0, int((until - now).total_seconds()))

    def extensions(self) -> dict[str, Any]:
        return {"until": self.until.isoformat()}


class BackendUnavailable(GatewayError):
    """The library system cannot be reached or its breaker is open; try again later."""

    type_slug = "backend-unavailable"
    status = 503
    title = "The library system is not available"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int = 30,
        operator_detail: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, operator_detail=operator_detail)

    def extensions(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class SearchUnavailable(GatewayError):
    """The tenant has no catalogue search source: a SIP2 library system cannot search, and the
    tenant file names no SRU server for it (issue 19)."""

    type_slug = "search-unavailable"
    status = 501
    title = "Catalogue search is not available for this library"


class BackendProtocolError(GatewayError):
    """The library system answered in a way its protocol does not allow (the peer broke it)."""

    type_slug = "backend-error"
    status = 502
    title = "The library system answered incorrectly"


class OutcomeUnknown(GatewayError):
    """A write may or may not have reached the library system; check before trying again."""

    type_slug = "outcome-unknown"
    status = 504
    title = "The result of this request is unknown"
