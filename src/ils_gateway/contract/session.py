"""One contract run's state: the loop, the opened target and the test patron's login."""

from __future__ import annotations

from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from ils_gateway.contract.loop import BackgroundLoop
from ils_gateway.contract.target import ContractOptions, ContractTarget, open_target
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Library, Patron
from ils_gateway.services.context import TenantContext

T = TypeVar("T")


class ContractSession:
    """The target opened on a background loop, for synchronous checks to call into."""

    def __init__(self, options: ContractOptions) -> None:
        self._loop = BackgroundLoop()
        self._opener: AbstractAsyncContextManager[ContractTarget] = open_target(options)
        try:
            self.target = self._loop.run(self._opener.__aenter__())
        except BaseException:
            self._loop.close()
            raise
        self._login: Patron | GatewayError | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the session's loop."""
        return self._loop.run(coro)

    def login(self) -> Patron | GatewayError:
        """The test patron as the backend returns them, or the error logging in raised.

        Done once per run; checks that need the patron skip when it failed (the login check
        reports why).
        """
        if self._login is None:
            target = self.target
            assert target.card_number is not None and target.password is not None
            try:
                self._login = self.run(target.ils.authenticate(target.card_number, target.password))
            except GatewayError as error:
                self._login = error
        return self._login

    def pickup_libraries(self) -> list[Library]:
        """Where the gateway lets patrons collect holds, decided exactly as the gateway does.

        The tenant file's ``[[tenants.pickup_libraries]]`` when it lists any (SIP2 cannot list
        them), else the backend's own list.
        """
        target = self.target
        return self.run(TenantContext(config=target.tenant, backend=target.ils).pickup_libraries())

    def close(self) -> None:
        """Close the backends (and embedded simulators), then the loop."""
        try:
            self._loop.run(self._opener.__aexit__(None, None, None))
        finally:
            self._loop.close()
