"""A background loop the simulators serve on while the contract suite runs on its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ils_gateway.contract.loop import BackgroundLoop


@pytest.fixture(scope="module")
def sim_loop() -> Iterator[BackgroundLoop]:
    """A loop the simulators serve on while the suite runs on its own."""
    with BackgroundLoop() as loop:
        yield loop
