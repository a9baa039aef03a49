"""Connection and login: the test patron gets in; an unknown card and a wrong password do not."""

from __future__ import annotations

import pytest

from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.errors import AuthenticationFailed, GatewayError
from ils_gateway.domain.models import Patron


def _needs_patron(contract: ContractSession) -> None:
    if not contract.target.has_patron:
        pytest.skip("no test patron given (--patron CARD --password PW)")


def test_login(contract: ContractSession) -> None:
    """The test patron logs in and comes back as the same card"""
    _needs_patron(contract)
    login = contract.login()
    if isinstance(login, GatewayError):
        raise login
    assert isinstance(login, Patron), f"authenticate returned {type(login).__name__}"
    assert login.id, "the patron has no id"
    assert login.card_number == contract.target.card_number, (
        f"logged in as card {login.masked_card}, not the test card"
    )


def _unknown_card(contract: ContractSession) -> str:
    target = contract.target
    if target.unknown_card:
        return target.unknown_card
    card = target.card_number or "1234567890"
    # Same length and alphabet as a real card, so the tenant's card pattern still accepts it.
    return "0" * len(card) if card.isdigit() else "Z" * len(card)


def test_unknown_patron_refused(contract: ContractSession) -> None:
    """An unknown card is refused as a failed login"""
    card = _unknown_card(contract)
    with pytest.raises(AuthenticationFailed):
        contract.run(contract.target.ils.authenticate(card, "contract-test-no-such-password"))


def test_wrong_password_refused(contract: ContractSession) -> None:
    """The test card with a wrong password is refused as a failed login"""
    _needs_patron(contract)
    target = contract.target
    assert target.card_number is not None and target.password is not None
    with pytest.raises(AuthenticationFailed):
        contract.run(target.ils.authenticate(target.card_number, target.password + "-wrong"))
