"""The server secret and shared-state codec of tests that build Redis stores themselves."""

from __future__ import annotations

from ils_gateway.sealing import SealedState

TEST_SECRET = b"shared-state-test-secret-0123456789"
SEALED = SealedState(TEST_SECRET)
