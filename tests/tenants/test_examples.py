"""Every shipped tenant file loads and encodes its library's rules from the requirements."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.domain.errors import NotFound
from ils_gateway.domain.vocab import Channel, Feature, HoldStatus, MaterialType
from ils_gateway.tenants.demo import demo_registry
from ils_gateway.tenants.loader import TenantRegistry, load_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
TOKYO = ZoneInfo("Asia/Tokyo")
SEED_LIBRARIES = ["akiruno", "ibaraki", "kanagawa", "nishinomiya", "saitama"]


@pytest.fixture(scope="module")
def registry() -> TenantRegistry:
    tenants = [t for name in SEED_LIBRARIES for t in load_tenants(EXAMPLES / f"{name}.toml")]
    return TenantRegistry(tenants)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_each_example_file_loads_alone(path: Path) -> None:
    assert load_tenants(path).ids == [path.stem]


def test_example_directory_loads_as_one_registry() -> None:
    assert set(SEED_LIBRARIES) <= set(load_tenants(EXAMPLES).ids)


def test_unknown_tenant_is_not_found(registry) -> None:
    assert registry.ids == SEED_LIBRARIES
    with pytest.raises(NotFound):
        registry.get("tokyo")


def test_ready_labels(registry) -> None:
    ready = {t.id: t.labels.build().label(HoldStatus.READY) for t in registry}
    assert ready == {
        "nishinomiya": "提供可能",
        "saitama": "お渡しできます",
        "kanagawa": "貸出可能",
        "akiruno": "取置中",
        "ibaraki": "貸出可能",
    }


def test_card_numbers(registry) -> None:
    assert registry.get("saitama").policy.card.normalise("0123-456-789") == "0123456789"
    assert registry.get("saitama").policy.card.normalise("012345678") is None
    assert registry.get("kanagawa").policy.card.normalise("１２３４５６") == "123456"
    assert registry.get("kanagawa").policy.card.normalise("1234567") is None


def test_password_rules(registry) -> None:
    kanagawa = registry.get("kanagawa").policy.password
    assert kanagawa.problems("abcde12345#") == []
    assert kanagawa.problems("abcdefghij1")  # no symbol
    ibaraki = registry.get("ibaraki").policy.password
    assert ibaraki.problems("abc123") == []
    assert ibaraki.problems("abc12") and ibaraki.problems("abc123!") and ibaraki.problems("a" * 11)


def test_renewal_rules(registry) -> None:
    saitama = registry.get("saitama").policy.renewal
    assert (saitama.overdue.mode, saitama.overdue.grace_days) == ("shortened", 14)
    assert saitama.earliest_days_before_due == 13
    ibaraki = registry.get("ibaraki").policy.renewal
    assert ibaraki.period_days == 15 and ibaraki.branch_period_days == {"EKI": 14}
    assert MaterialType.ART_REPRODUCTION in ibaraki.excluded_material_types
    assert (
        not ibaraki.interlibrary_loans
        and not registry.get("nishinomiya").policy.renewal.interlibrary_loans
    )
    assert all(t.policy.renewal.max_renewals == 1 for t in registry)


def test_hold_limits(registry) -> None:
    kanagawa = {lim.name: lim.max for lim in registry.get("kanagawa").policy.holds.limits}
    assert kanagawa == {"books": 12, "av": 6}
    akiruno = registry.get("akiruno").policy.holds
    assert akiruno.max_total == 20 and akiruno.limits[0].max == 4
    ibaraki = registry.get("ibaraki").policy.holds
    assert {lim.name: lim.max for lim in ibaraki.limits} == {
        "books": 20,
        "cd_cassette": 8,
        "video": 4,
    }
    assert ibaraki.max_ebook_holds == 3 and ibaraki.refuse_when_overdue_days == 4


def test_hold_handling(registry) -> None:
    saitama = registry.get("saitama").policy.holds
    assert saitama.bookmobile_contact == "phone_only"
    # Saitama extends at the counter only: SIP2 has no request for it (issue 16).
    assert saitama.pickup_extension is None
    history = {t.id: t.policy.holds.cancelled_history_days for t in registry}
    assert history == {
        "nishinomiya": 31,
        "saitama": 180,
        "kanagawa": 14,
        "akiruno": 7,
        "ibaraki": None,
    }
    # Akiruno offers skip and sequences, but its SIP2 backend cannot suspend (issue 16).
    akiruno = registry.get("akiruno").policy.holds
    assert not akiruno.skip_allowed and not akiruno.sequences


def test_lists_and_sessions(registry) -> None:
    ibaraki = registry.get("ibaraki").policy
    assert ibaraki.lists.basket_size == 100 and ibaraki.idle_timeout_minutes == 15
    shelves = {
        t.id: (t.policy.lists.max_shelves, t.policy.lists.max_items_per_shelf) for t in registry
    }
    assert shelves["nishinomiya"] == (20, 100) and shelves["saitama"] == (50, None)


def test_ibaraki_maintenance_window(registry) -> None:
    window = registry.get("ibaraki").policy.maintenance
    assert window is not None
    inside = datetime(2025, 3, 1, 4, 0, tzinfo=TOKYO)
    assert window.window_end(inside) == datetime(2025, 3, 1, 4, 20, tzinfo=TOKYO)
    assert window.window_end(datetime(2025, 3, 1, 4, 20, tzinfo=TOKYO)) is None
    # 19:00 UTC is 04:00 next day in Tokyo.
    utc = datetime(2025, 2, 28, 19, 0, tzinfo=ZoneInfo("UTC"))
    assert window.window_end(utc) == datetime(2025, 3, 1, 4, 20, tzinfo=TOKYO)


def test_nishinomiya_kiosk_restrictions(registry) -> None:
    policy = registry.get("nishinomiya").policy
    for feature in (Feature.BOOKSHELVES, Feature.READING_HISTORY, Feature.NEW_ARRIVAL_ALERTS):
        assert not policy.feature_enabled(feature, Channel.KIOSK)
        assert policy.feature_enabled(feature, Channel.WEB)
    assert policy.feature_enabled(Feature.HOLDS, Channel.KIOSK)


def test_akiruno_email_rules(registry) -> None:
    email = registry.get("akiruno").policy.email
    assert email.problems("taro@example.jp") == []
    assert email.problems("_taro@example.jp")
    assert email.problems("taro.@example.jp")
    assert email.problems("ta..ro@example.jp")


def test_secrets_are_not_in_reprs(registry) -> None:
    text = "".join(repr(t) for t in registry)
    assert "sip-demo-password" not in text and "koha-demo-secret" not in text


def test_demo_tenant() -> None:
    registry = demo_registry(sip2_port=40123)
    demo = registry.get("demo")
    assert demo.backend.kind == "sip2" and demo.backend.port == 40123
    assert demo.elibrary is not None and demo.elibrary.kind == "simulator"
