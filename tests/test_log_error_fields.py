"""Exception texts that reach log fields (``operator`` details, ``error=``) quote no value the
library sent or the patron typed: a pydantic error's text quotes its input (a patron's name, a
card, a title), an error's repr its backend message (issue 15, Secrets)."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from ils_gateway.adapters.folio.mapping import FolioUser, parse
from ils_gateway.adapters.koha.schemas import KohaPatron
from ils_gateway.adapters.koha.schemas import parse as koha_parse
from ils_gateway.domain.errors import BackendProtocolError, HoldRefused
from ils_gateway.domain.logsafe import path_shape, safe_error
from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.elibrary.kinoden import _parse as kinoden_parse
from ils_gateway.elibrary.kinoden import _WireTitle

NAME, CARD, TITLE = "山田花子Secret", "20001234567", "吾輩は猫であるSecret"


def _quotes_nothing(detail: str | None) -> None:
    assert detail
    for value in (NAME, CARD, TITLE):
        assert value not in detail, detail


def test_koha_shape_errors_quote_no_value() -> None:
    row: Any = {"patron_id": "x", "surname": NAME, "cardnumber": CARD, "restricted": TITLE}
    with pytest.raises(BackendProtocolError) as info:
        koha_parse(KohaPatron, row, "GET /patrons")
    _quotes_nothing(info.value.operator_detail)
    assert "patron_id" in (info.value.operator_detail or "")


def test_folio_shape_errors_quote_no_value() -> None:
    row: Any = {"id": 5, "barcode": CARD, "active": NAME}
    with pytest.raises(BackendProtocolError) as info:
        parse(FolioUser, row, "GET /users")
    _quotes_nothing(info.value.operator_detail)


def test_elibrary_shape_errors_quote_no_value() -> None:
    row: Any = {"titleId": "", "title": TITLE, "copiesOwned": NAME}
    with pytest.raises(BackendProtocolError) as info:
        kinoden_parse(_WireTitle, row, "GET /titles")
    _quotes_nothing(info.value.operator_detail)


def test_safe_error_names_the_kind_only() -> None:
    refused = HoldRefused(RefusalReason.UNKNOWN, backend_message=f"{TITLE} {NAME}")
    assert safe_error(refused) == "hold-refused"
    assert safe_error(KeyError(CARD)) == "KeyError"


async def test_a_failed_read_back_logs_no_backend_message() -> None:
    from ils_gateway.adapters.resilience.backend import ResilientBackend

    async def verify(_base: dict[str, Any]) -> Any:
        raise HoldRefused(RefusalReason.UNKNOWN, backend_message=f"{TITLE} {NAME}")

    backend = object.__new__(ResilientBackend)
    backend.tenant_id = "t"  # type: ignore[misc]
    backend.metrics = __import__("collections").Counter()  # type: ignore[misc]
    with capture_logs() as logs:
        await ResilientBackend._verify(backend, "place_hold", verify, {})
    failed = [e for e in logs if e["event"] == "readback_failed"]
    assert failed and failed[0]["error"] == "hold-refused"
    assert TITLE not in str(logs) and NAME not in str(logs)


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/v1/items/2000105", "/api/v1/items/{id}"),
        ("/api/v1/patrons/7/holds", "/api/v1/patrons/{id}/holds"),
        ("/inventory/items/0b5a-11aa-4c1b", "/inventory/items/{id}"),
        ("/v2/titles/KD000001/holds", "/v2/titles/{id}/holds"),
        ("/users", "/users"),
    ],
)
def test_paths_in_operator_details_keep_their_shape_not_their_ids(path: str, shape: str) -> None:
    assert path_shape(path) == shape


async def test_a_rest_refusal_names_no_item_in_its_path() -> None:
    import httpx

    from ils_gateway.adapters.koha.errors import KOHA, KohaCall

    request = httpx.Request("GET", "http://koha/api/v1/items/2000105")
    response = httpx.Response(404, json={"error": "Item not found"}, request=request)
    error = KOHA.translate(KohaCall.READ, response, retry_after=1)
    assert "2000105" not in (error.operator_detail or "")
    assert "/api/v1/items/{id}" in (error.operator_detail or "")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    from ils_gateway.store.engine import default_url

    if request.param == "sqlite":
        return default_url(tmp_path / "s.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


async def test_a_store_error_quotes_no_parameter(store_url: str) -> None:
    """A failing statement's text (logged in a traceback when the cancelled-hold history or
    the reading history cannot be written) shows no parameter: they are titles and ids."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from ils_gateway.store.engine import create_engine

    engine = create_engine(store_url)
    try:
        with pytest.raises(SQLAlchemyError) as info:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT * FROM no_such_table WHERE t = :t"), {"t": TITLE})
        assert TITLE not in str(info.value)
    finally:
        await engine.dispose()
