"""Schemathesis over every operation of the served document (issue 15).

The demo gateway (``served_gateway``) runs on a real local port; the schema is loaded from its
own ``/openapi.json``. Every operation gets a bounded, seeded number of generated requests,
valid and invalid (schemathesis' positive and negative modes), with the demo patron's session
on the routes that need one; each response must be no 5xx, a status the document lists, the
content type it lists, and a body and headers matching its schema.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from api_helpers import CARD, PASSWORD
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from served_gateway import BRIDGE_KEY, TENANT, ServedGateway

from ils_gateway.api.openapi import build_openapi

load_all_checks()

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Per operation and generation mode; a deeper run: ILS_GATEWAY_SCHEMATHESIS_EXAMPLES=100.
MAX_EXAMPLES = int(os.environ.get("ILS_GATEWAY_SCHEMATHESIS_EXAMPLES", "6"))
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
KEYS = itertools.count()
SEED = 15


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGateway]:
    served = ServedGateway(Path(tmp_path_factory.mktemp("schemathesis")))
    served.start()
    try:
        yield served
    finally:
        served.stop()


STATS: dict[str, Counter[int]] = {}


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    total = sum(sum(c.values()) for c in STATS.values())
    print(f"\nschemathesis: {len(STATS)} operations, {total} requests")
    for label, statuses in sorted(STATS.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _login(http: requests.Session, base_url: str) -> str:
    response = http.post(
        f"{base_url}/v1/tenants/{TENANT}/sessions",
        json={"card_number": CARD, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


@pytest.fixture(scope="module")
def token(gateway: ServedGateway, http: requests.Session) -> str:
    return _login(http, gateway.base_url)


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "parameters": {"path.tenant": TENANT, "path.library": TENANT},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    }
)
# The document the app serves at /openapi.json is ``build_openapi()`` (checked below); the
# operations are parametrized from it when the module is collected, one test each.
DOCUMENT = build_openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_the_served_document_is_the_one_tested(
    gateway: ServedGateway, http: requests.Session
) -> None:
    served = http.get(f"{gateway.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(
    case: schemathesis.Case, gateway: ServedGateway, http: requests.Session, token: str
) -> None:
    # Logging out would end the shared session: that operation gets a session of its own.
    if case.operation.definition.raw.get("operationId") == "end_session":
        bearer = _login(http, gateway.base_url)
    else:
        bearer = token
    if case.operation.definition.raw.get("operationId") == "patron_check":
        bearer = BRIDGE_KEY  # the e-library bridge's own key
    headers = {"Authorization": f"Bearer {bearer}"}
    # A generated key used again with another request is rightly a 409: each valid key is made
    # unique so the write itself is exercised (invalid keys are kept, to be refused).
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if key is not None and VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"schemathesis-{next(KEYS)}"
    response = case.call_and_validate(
        base_url=gateway.base_url, session=http, headers=headers, checks=CHECKS, timeout=30
    )
    STATS.setdefault(case.operation.label, Counter())[response.status_code] += 1
