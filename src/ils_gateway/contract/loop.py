"""An asyncio event loop in a thread of its own, so synchronous pytest checks can await.

The contract checks are plain (synchronous) pytest tests: they must run the same way under
``pytest contract_tests/``, in-process from the CLI, and nested inside the project's own test
run, which already has a running loop. The backends, and any embedded simulators, live on
this loop for the whole session; a check hands it one coroutine at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Longest one backend call may take before the check gives up (the adapters' own timeouts
# are shorter; this only stops a stuck check from hanging the whole run).
CALL_TIMEOUT_SECONDS = 120.0


class BackgroundLoop:
    """An event loop running in a daemon thread until ``close``."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="contract-test-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        """Run ``coro`` on the loop and wait for its result (exceptions re-raised here)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread. Safe to call twice."""
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> BackgroundLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
