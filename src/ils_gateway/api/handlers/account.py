"""Registration, password reset and contact changes (issue 18): thin over
``services.account_lifecycle``."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import check_encodable, json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.handlers.settings import address_change
from ils_gateway.api.keys import CLIENT
from ils_gateway.api.schemas.account import (
    ContactChangeDoneView,
    ContactChangePendingView,
    ContactChangeRequest,
    ContactConfirmRequest,
    PasswordStored,
    RegistrationRequest,
    ResetAccepted,
    ResetConfirmRequest,
    ResetRequest,
)
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.services.account_lifecycle import AccountLifecycle


def _lifecycle(request: web.Request) -> AccountLifecycle:
    lifecycle = runtime(request).lifecycle
    if lifecycle is None:
        raise FeatureDisabled(
            "account_lifecycle",
            detail="This gateway keeps no account data",
            operator_detail="no store configured (GatewaySettings.store)",
        )
    return lifecycle


def _language(request: web.Request) -> str | None:
    wanted = request.headers.get("Accept-Language", "")
    for part in wanted.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in ("ja", "en"):
            return tag
    return None


async def register_password(request: web.Request) -> web.Response:
    """POST …/account/registration: prove the identity, set the first password."""
    lifecycle = _lifecycle(request)
    body = await read_body(request, RegistrationRequest)
    proofs = {k: v for k, v in body.proofs.model_dump().items() if v is not None}
    # The proofs may reach the library system (issued_code as a SIP2 password): its encoding.
    check_encodable(runtime(request), ((f"proofs.{k}", v) for k, v in proofs.items()))
    stored_in = await lifecycle.register(
        body.card_number,
        proofs,
        body.new_password,
        client=request.get(CLIENT),
        language=_language(request),
    )
    return json_response(PasswordStored(stored_in=stored_in), status=201)


async def request_password_reset(request: web.Request) -> web.Response:
    """POST …/account/password-reset: 202 whatever the card (a link is mailed if known)."""
    lifecycle = _lifecycle(request)
    body = await read_body(request, ResetRequest)
    await lifecycle.request_reset(
        body.card_number,
        email=body.email,
        client=request.get(CLIENT),
        language=_language(request),
    )
    return json_response(ResetAccepted(), status=202)


async def confirm_password_reset(request: web.Request) -> web.Response:
    """POST …/account/password-reset/confirm: the link's token and the new password."""
    lifecycle = _lifecycle(request)
    body = await read_body(request, ResetConfirmRequest)
    stored_in = await lifecycle.confirm_reset(
        body.token, body.new_password, client=request.get(CLIENT)
    )
    return json_response(PasswordStored(stored_in=stored_in))


async def request_contact_change(request: web.Request) -> web.Response:
    """POST …/patron/contact: a new e-mail address or phone, pending until confirmed."""
    lifecycle = _lifecycle(request)
    body = await read_body(request, ContactChangeRequest)
    pending = await lifecycle.request_contact_change(
        caller(request), email=body.email, phone=body.phone, language=_language(request)
    )
    view = ContactChangePendingView(
        confirm_sent_to=pending.confirm_sent_to,
        expires_at=pending.expires_at,
        stored_in=lifecycle.contact_stored_in(),
    )
    return json_response(view, status=202)


async def confirm_contact_change(request: web.Request) -> web.Response:
    """POST …/account/contact/confirm: the link's token; the change as read back."""
    lifecycle = _lifecycle(request)
    body = await read_body(request, ContactConfirmRequest)
    tenant = runtime(request)
    if tenant.mylists is not None:
        # A link for an address set in the patron settings (PATCH …/patron/settings)?
        flow = address_change(tenant, tenant.mylists)
        confirmed = await flow.confirm(body.token, language=_language(request))
        if confirmed is not None:
            address = ContactChangeDoneView(
                stored_in=confirmed.stored_in, email=confirmed.email, field=confirmed.field
            )
            return json_response(address)
    done = await lifecycle.confirm_contact_change(
        body.token, client=request.get(CLIENT), language=_language(request)
    )
    view = ContactChangeDoneView(stored_in=done.stored_in, email=done.email, phone=done.phone)
    return json_response(view)
