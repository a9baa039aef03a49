"""Runs a test directory over both implementations of the SIP2 parser's helpers (issue 17).

``ils_gateway.sip2.speedups`` has them compiled (``COMPILED``, the C extension
``hatch_build.py`` builds) and in pure Python (``PURE``, used where no C compiler was at
hand). The directories whose conftest imports ``sip2_speedups`` run every test once with
each, so both must give the same results (the codec's tests compare ``parse`` with a plain
reference parse on valid and mutated frames). Where the extension was not built the
``compiled`` run is skipped with the reason, except under ``CI=true``, where it fails: CI
machines have a compiler, so a missing extension there is a broken build. With
``ILS_GATEWAY_PURE_PYTHON`` set it is skipped (the pure helpers were asked for).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ils_gateway.sip2 import codec
from ils_gateway.sip2.speedups import COMPILED, PURE, Speedups

NOT_BUILT = "the compiled SIP2 helpers were not built (pip install -e . with a C compiler)"
PURE_ASKED = "ILS_GATEWAY_PURE_PYTHON is set: the compiled SIP2 helpers are not used"


@pytest.fixture(autouse=True, params=["compiled", "pure"])
def sip2_speedups(request: pytest.FixtureRequest) -> Iterator[Speedups]:
    """The parser uses the compiled helpers, then the pure-Python ones."""
    if request.param == "compiled":
        if COMPILED is None:
            if os.environ.get("ILS_GATEWAY_PURE_PYTHON"):
                pytest.skip(PURE_ASKED)
            if os.environ.get("CI") == "true":
                pytest.fail(NOT_BUILT)
            pytest.skip(NOT_BUILT)
        chosen = COMPILED
    else:
        chosen = PURE
    before = codec._use_speedups(chosen)
    try:
        yield chosen
    finally:
        codec._use_speedups(before)
