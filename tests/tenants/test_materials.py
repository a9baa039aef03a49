"""The tenant's material type map and age limits (``tenants/materials.py``), and their use by
the SIP2 mapping: CK, the ACS's vendor field (Koha CR), PB/PC in 64."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ils_gateway.adapters.folio.mapping import MATERIAL_TYPES
from ils_gateway.adapters.sip2 import mapping
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.sip2.codec import encode, parse
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, SipDate
from ils_gateway.sip2.messages import (
    ItemInformationResponse,
    Message,
    PatronInformationResponse,
)
from ils_gateway.tenants.materials import AgeHoldLimit, MaterialTypeMap, age_on

NOW = SipDate("20250602    100000")
KOHA_CR = MaterialTypeMap(
    sip2_type_field="CR", sip2_type_values={"DVD": MaterialType.DVD, "CD": MaterialType.CD}
)


def wire(msg: Message) -> Message:
    return parse(encode(msg))


def item_18(media_type: str | None, extra: list[tuple[str, str]] = []) -> ItemInformationResponse:  # noqa: B006
    msg = wire(
        ItemInformationResponse.build(
            circulation_status=CirculationStatus.AVAILABLE,
            transaction_date=NOW,
            item_identifier="2100000138",
            title_identifier="となりのトトロ",
            media_type=media_type,
            extra_fields=extra,
        )
    )
    assert isinstance(msg, ItemInformationResponse)
    return msg


def test_a_dvd_with_ck_000_is_other_by_the_standard_but_dvd_by_the_acs_field() -> None:
    msg = item_18("000", [("CR", "DVD")])
    assert mapping.item_from_18(msg).material_type is MaterialType.OTHER
    assert mapping.item_from_18(msg, types=KOHA_CR).material_type is MaterialType.DVD


def test_ck_is_the_fallback_when_the_vendor_value_is_absent_or_unmapped() -> None:
    assert mapping.item_from_18(item_18("006"), types=KOHA_CR).material_type is MaterialType.CD
    unmapped = item_18("005", [("CR", "ZZ")])
    assert mapping.item_from_18(unmapped, types=KOHA_CR).material_type is MaterialType.VIDEO


def test_tenant_overrides_the_standard_ck_table() -> None:
    types = MaterialTypeMap(sip2_media_types={"006": MaterialType.CD_ROM})
    assert types.sip2("006") is MaterialType.CD_ROM
    assert types.sip2("004") is MaterialType.CASSETTE
    assert types.sip2(None) is MaterialType.BOOK  # the ACS does not say: a book
    assert types.sip2("999") is MaterialType.OTHER


def test_vendor_values_need_the_field() -> None:
    with pytest.raises(ValidationError, match="sip2_type_field"):
        MaterialTypeMap(sip2_type_values={"DVD": MaterialType.DVD})
    with pytest.raises(ValidationError):
        MaterialTypeMap.model_validate({"sip2_type_field": "CR", "unknown": 1})


def test_folio_by_id_or_name_any_case_over_the_reference_names() -> None:
    types = MaterialTypeMap(
        folio_material_types={
            "Sound Recording": MaterialType.CASSETTE,
            "5ee11d91-f7e8-481d-b079-65d708582ccc": MaterialType.DVD,
        }
    )
    assert types.folio("sound recording", None, MATERIAL_TYPES) is MaterialType.CASSETTE
    uuid = "5ee11d91-f7e8-481d-b079-65d708582ccc"
    assert types.folio("video recording", uuid, MATERIAL_TYPES) is MaterialType.DVD
    assert types.folio("map", None, MATERIAL_TYPES) is MaterialType.MAP
    assert types.folio("zine", None, MATERIAL_TYPES) is MaterialType.OTHER


def test_title_entries_take_the_remembered_type() -> None:
    entry = mapping.title_entry(
        mapping.parse_list_entry("38 となりのトトロ", "item_id"), "record_id_title"
    )
    hold = mapping.hold_from_entry(
        entry,
        available_list=False,
        item_info=None,
        tz=ZoneInfo("Asia/Tokyo"),
        title_type=MaterialType.DVD,
    )
    assert hold.item.material_type is MaterialType.DVD


def test_patron_birth_date_and_category_from_koha_pb_pc() -> None:
    msg = wire(
        PatronInformationResponse.build(
            patron_status=PatronStatus(),
            language="014",
            transaction_date=NOW,
            institution_id="AKIRUNO",
            patron_identifier="1000000006",
            personal_name="伊藤 ゆい",
            valid_patron=True,
            extra_fields=[("PB", "20160402"), ("PC", "child")],
        )
    )
    assert isinstance(msg, PatronInformationResponse)
    patron = mapping.patron_from_64(msg, "1000000006")
    assert patron.birth_date == date(2016, 4, 2)
    assert patron.category == "child"


@pytest.mark.parametrize(
    ("born", "today", "years"),
    [
        (date(2011, 4, 1), date(2023, 4, 10), 12),  # born 1 April: the earlier school year
        (date(2011, 4, 2), date(2023, 4, 10), 11),  # born 2 April: still in primary school
        (date(2010, 4, 2), date(2024, 3, 31), 12),  # March: the school year began last April
    ],
)
def test_school_year_age(born: date, today: date, years: int) -> None:
    assert age_on(born, today, school_year=True) == years


def test_age_limit_applies_by_age_or_category() -> None:
    limit = AgeHoldLimit(name="children", under_age=12, categories=frozenset({"child"}), max=0)
    today = date(2025, 6, 2)
    assert limit.applies(date(2016, 4, 2), None, today)
    assert not limit.applies(date(1980, 1, 1), None, today)
    assert limit.applies(None, "child", today)
    assert not limit.applies(None, None, today)  # nothing known: the ILS decides
    assert limit.counts(MaterialType.DVD)
    with pytest.raises(ValidationError, match="under_age or categories"):
        AgeHoldLimit(name="nobody", max=0)
