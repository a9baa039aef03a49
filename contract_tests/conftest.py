"""Options and fixtures of the contract suite (see the README section "Contract tests").

The same options work for ``pytest contract_tests/`` and ``ils-gateway contract-test``:
``--config FILE --tenant ID --patron CARD --password PW --item BARCODE … --ebook TITLE …
--allow-writes``.
With no ``--config`` the suite runs against the embedded demo (the project's simulators).
The password may instead be given in ``ILS_GATEWAY_CONTRACT_PASSWORD``, out of shell history.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ils_gateway.contract.errors import describe_error
from ils_gateway.contract.report import check_order, target_description_key, undo_log_key
from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.target import ContractOptions, ContractTarget
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Patron
from ils_gateway.elibrary.base import ElibraryBackend

PASSWORD_ENV = "ILS_GATEWAY_CONTRACT_PASSWORD"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "ils-gateway contract tests")
    group.addoption("--config", type=Path, help="tenant TOML file (default: embedded demo)")
    group.addoption("--tenant", help="tenant id in --config (needed when it has several)")
    group.addoption("--patron", help="card number of a test patron")
    group.addoption("--password", help=f"the test patron's password (or ${PASSWORD_ENV})")
    group.addoption(
        "--item", action="append", default=[], help="barcode of a test item (repeatable)"
    )
    group.addoption(
        "--ebook",
        action="append",
        default=[],
        help="e-library title id for the e-book write checks (repeatable: hold, then borrow)",
    )
    group.addoption(
        "--allow-writes",
        action="store_true",
        help="also renew, place/change/cancel a hold, check out/in, and hold and borrow an "
        "e-book (each undone afterwards)",
    )
    group.addoption("--unknown-card", help="a card number the ILS certainly does not know")


def contract_options(config: pytest.Config) -> ContractOptions:
    """The suite's options from pytest's command line."""
    password = config.getoption("--password") or os.environ.get(PASSWORD_ENV)
    return ContractOptions(
        config=config.getoption("--config"),
        tenant=config.getoption("--tenant"),
        patron=config.getoption("--patron"),
        password=password,
        items=tuple(config.getoption("--item")),
        allow_writes=config.getoption("--allow-writes"),
        unknown_card=config.getoption("--unknown-card"),
        ebooks=tuple(config.getoption("--ebook")),
    )


def pytest_configure(config: pytest.Config) -> None:
    options = contract_options(config)
    if options.config is not None and not options.config.exists():
        raise pytest.UsageError(f"--config {options.config}: no such file")
    if bool(options.patron) != bool(options.password):
        raise pytest.UsageError("--patron and --password go together")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=check_order)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keep the backend's own words for the table and the JUnit file.
    if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
        message = describe_error(call.excinfo.value)
        item.user_properties.append(("backend_said", message))
    yield


@pytest.fixture(scope="session")
def contract(request: pytest.FixtureRequest) -> Iterator[ContractSession]:
    """The opened target for this run (backends built from the tenant config)."""
    session = ContractSession(contract_options(request.config))
    request.config.stash[undo_log_key()] = session.target.undo
    request.config.stash[target_description_key()] = session.target.description
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def target(contract: ContractSession) -> ContractTarget:
    """The tenant's backends and the test patron and items."""
    return contract.target


@pytest.fixture(scope="session")
def patron(contract: ContractSession) -> Patron:
    """The test patron, logged in once; checks using it skip when there is none."""
    if not contract.target.has_patron:
        pytest.skip("no test patron given (--patron CARD --password PW)")
    login = contract.login()
    if isinstance(login, GatewayError):
        pytest.skip(f"the test patron could not log in (see the login check): {login.detail}")
    return login


@pytest.fixture(scope="session")
def elibrary(contract: ContractSession) -> ElibraryBackend:
    """The tenant's e-library; checks using it skip when the tenant has none."""
    if contract.target.elibrary is None:
        pytest.skip("the tenant has no e-library")
    return contract.target.elibrary


@pytest.fixture
def writes(target: ContractTarget) -> None:
    """Skip unless the operator allowed write checks."""
    if not target.allow_writes:
        pytest.skip("read-only run (add --allow-writes with a test patron and items)")
