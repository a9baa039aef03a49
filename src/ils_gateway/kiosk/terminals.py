"""Which terminal profile each connected machine gets, now and after a reload.

``TerminalDesk`` holds one tenant's ``[tenants.kiosk_sip2]`` (profiles, logins, framing
defaults) and answers, per session:

- ``framing(session)``: the codec and timeouts the server face reads the next frame with
  (``SIP2ServerSettings.framing``): the profile chosen at connection (address, listening
  port), then at login (CP, CN prefix; from the 94 on). Where a profile matches on the login,
  the 93 itself is read with error detection as the machine sent it. Cached per session until
  the profile or the desk changes, so the server's per-frame question costs a dict look-up;
- ``allowed(session, code)`` and ``restrict(supported, session)``: the messages the profile
  lets the machine send, and the 98's BX accordingly;
- ``apply(config)``: a reload. Connected machines stay connected; their next frame is read
  with the profile the new settings give them (by the same address, port, CP and login).
  Listeners (ports, TLS, PROXY) are bound at start: a change to them is reported, not applied.

``refusal_for(face, msg, text)`` is the "not on this machine" answer of a request the profile
does not allow, in the request's own refusal shape (nothing was done, so a write may be
refused safely).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ils_gateway.sip2.acs import ACSFace
from ils_gateway.sip2.fields import SUPPORTED_MESSAGE_ORDER, SupportedMessages
from ils_gateway.sip2.messages import (
    BlockPatron,
    CheckinRequest,
    CheckoutRequest,
    CheckoutResponse,
    FeePaidRequest,
    HoldRequest,
    ItemStatusUpdateRequest,
    Message,
    PatronStatusResponse,
    RenewAllRequest,
    RenewRequest,
    RenewResponse,
)
from ils_gateway.sip2.server import SessionFraming, SIP2Session
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.kiosk_profiles import (
    ALWAYS_ALLOWED,
    KioskListener,
    TerminalProfile,
    codec_for,
    select_profile,
)

__all__ = ["TerminalDesk", "refusal_for"]

_PROFILE = "kiosk.profile"  # session.data: (desk generation, login key, profile, framing)
_LOGIN = "kiosk.login"  # session.data: (CP, CN) of the accepted 93


@dataclass(frozen=True)
class _Chosen:
    generation: int
    login: tuple[str | None, str | None] | None
    profile: TerminalProfile
    framing: SessionFraming


class TerminalDesk:
    """One tenant's terminal profiles and accounts, reloadable while machines are connected."""

    def __init__(self, tenant_id: str, config: KioskSip2Config) -> None:
        self.tenant_id = tenant_id
        self._config = config
        self._generation = 0
        self._listeners: dict[int, KioskListener | None] = {}

    @property
    def config(self) -> KioskSip2Config:
        """The tenant's kiosk settings now (after the last reload)."""
        return self._config

    @property
    def generation(self) -> int:
        """How many reloads were applied."""
        return self._generation

    def bind_listener(self, port: int, listener: KioskListener | None) -> None:
        """The listener bound to ``port`` (None: the face's own ``host:port``)."""
        self._listeners[port] = listener

    def apply(self, config: KioskSip2Config) -> list[str]:
        """Take ``config``'s profiles, logins and defaults for every next frame and login;
        returns what could not be applied (listener changes need a restart)."""
        notes = []
        if config.listeners != self._config.listeners or (config.host, config.port) != (
            self._config.host,
            self._config.port,
        ):
            notes.append("listeners changed: restart the gateway to bind them")
        if config.tls != self._config.tls:
            notes.append("tls changed: restart the gateway to load the certificate")
        self._config = config
        self._generation += 1
        return notes

    # --- per session -----------------------------------------------------------------------

    def logged_in(self, session: SIP2Session, location: str | None, user: str) -> None:
        """A 93 was accepted: profiles matching on CP or login apply from the 94 on."""
        session.data[_LOGIN] = (location, user)

    def profile(self, session: SIP2Session) -> TerminalProfile:
        """The profile (every knob resolved) the session gets now."""
        return self._chosen(session).profile

    def framing(self, session: SIP2Session) -> SessionFraming:
        """The server face's hook: codec and timeouts for the session's next frame."""
        return self._chosen(session).framing

    def _chosen(self, session: SIP2Session) -> _Chosen:
        login = session.data.get(_LOGIN)
        cached: _Chosen | None = session.data.get(_PROFILE)
        if cached is not None and cached.generation == self._generation and cached.login == login:
            return cached
        profile = self._select(session, login)
        if cached is not None and cached.profile == profile:
            framing = cached.framing  # same framing object: the server keeps its codec
        else:
            framing = SessionFraming(
                codec_for(profile),
                idle_timeout=profile.idle_timeout or None,
                login_timeout=profile.login_timeout or None,
            )
        chosen = _Chosen(self._generation, login, profile, framing)
        session.data[_PROFILE] = chosen
        return chosen

    def _select(
        self, session: SIP2Session, login: tuple[str | None, str | None] | None
    ) -> TerminalProfile:
        config = self._config
        fallback = config.default_profile
        listener = self._listeners.get(session.local_port or -1)
        if listener is not None and listener.profile is not None:
            named = next((p for p in config.profiles if p.name == listener.profile), None)
            if named is not None:
                fallback = named.over(fallback)
        location, user = login if login is not None else (None, None)
        chosen = select_profile(
            config.profiles,
            fallback,
            address=session.address,
            port=session.local_port,
            location=location,
            user=user,
        )
        if (
            login is None
            and chosen.error_detection == "on"
            and any(p.needs_login for p in config.profiles)
        ):
            # The 93 decides the profile: read it as sent (a machine whose profile has error
            # detection off sends no AZ), checked where it has one.
            chosen = chosen.model_copy(update={"error_detection": "mirror"})
        return chosen

    def allowed(self, session: SIP2Session, code: str) -> bool:
        """Whether the session's profile lets its machine send ``code``."""
        allowed = self.profile(session).allowed_messages
        return allowed is None or code in ALWAYS_ALLOWED or code in allowed

    def restrict(self, supported: SupportedMessages, session: SIP2Session) -> SupportedMessages:
        """BX: what the face supports and the session's profile allows."""
        allowed = self.profile(session).allowed_messages
        if allowed is None:
            return supported
        flags = [
            supported.supports(code) and (code in ALWAYS_ALLOWED or code in allowed)
            for code in SUPPORTED_MESSAGE_ORDER
        ]
        return SupportedMessages(*flags)

    def describe(self, session: SIP2Session) -> dict[str, Any]:
        """For logs: the profile's name and framing (never a password)."""
        profile = self.profile(session)
        return {
            "profile": profile.name,
            "encoding": profile.encoding,
            "terminator": profile.terminator,
            "error_detection": profile.error_detection,
        }


def refusal_for(face: ACSFace, msg: Message, text: str) -> Message | None:
    """The refusal of ``msg`` in its answer's shape (None: a code with no answer to refuse)."""
    read = face.refusal(msg, text)
    if read is not None:
        return read
    if isinstance(msg, CheckoutRequest):
        return face.refused_loan(CheckoutResponse, msg, text)
    if isinstance(msg, RenewRequest):
        return face.refused_loan(RenewResponse, msg, text)
    if isinstance(msg, CheckinRequest):
        return face.refused_checkin(msg, text)
    if isinstance(msg, RenewAllRequest):
        return face.refused_renew_all(msg, text)
    if isinstance(msg, HoldRequest):
        return face.refused_hold(msg, text)
    if isinstance(msg, ItemStatusUpdateRequest):
        return face.refused_item_status_update(msg, text)
    if isinstance(msg, FeePaidRequest):
        return face.refused_fee_paid(msg, text)
    if isinstance(msg, BlockPatron):
        return face.unknown_patron(PatronStatusResponse, msg, text, valid=None)
    return None
