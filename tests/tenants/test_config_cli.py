"""``ils-gateway config check``: exit 0 with a summary, or non-zero naming key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.runtime.config_check import backend_facts, capability_problems
from ils_gateway.tenants.demo import demo_tenant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"


def test_check_valid_directory() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    files = len(list(EXAMPLES.glob("*.toml")))
    assert f"{files} tenant(s) OK" in result.output
    assert "saitama" in result.output and "koha" in result.output


def test_check_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (EXAMPLES / "ibaraki.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("basket_size = 100", "basket_size = 0"), encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert "tenants[0].policy.lists.basket_size: Input should be greater than or equal to 1" in (
        result.output
    )


# --- issue 16: rules that cannot work are refused ------------------------------------------

SEEDS = ["akiruno", "ibaraki", "kanagawa", "nishinomiya", "saitama"]


def _check(tmp_path: Path, text: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "tenant.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", str(path), *extra])
    return result.exit_code, result.output


def _seed(name: str) -> str:
    return (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_each_example_passes_config_check(path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "error" not in result.output


def test_hold_skip_and_sequences_on_sip2_are_errors(tmp_path: Path) -> None:
    text = _seed("akiruno").replace("skip_allowed = false", "skip_allowed = true")
    text = text.replace("sequences = false", "sequences = true")
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "akiruno: policy.holds.skip_allowed: error: hold skip needs a backend that can" in (
        output
    )
    assert "SIP2 cannot suspend holds" in output
    assert "akiruno: policy.holds.sequences: error:" in output
    assert "2 error(s)" in output
    assert "tenant(s) OK" not in output


def test_pickup_extension_without_an_api_is_an_error(tmp_path: Path) -> None:
    text = _seed("saitama").replace(
        "[tenants.policy.holds]\n", "[tenants.policy.holds]\npickup_extension = { times = 1 }\n"
    )
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "saitama: policy.holds.pickup_extension: error: this sip2 backend offers no way" in (
        output
    )


def test_sip2_holds_without_pickup_libraries_are_an_error(tmp_path: Path) -> None:
    text = _seed("nishinomiya")
    text = (
        text[: text.index("[[tenants.pickup_libraries]]")] + text[text.index("[tenants.policy]") :]
    )
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "nishinomiya: pickup_libraries: error: holds need a pickup library" in output
    assert "SIP2 has no request listing pickup libraries" in output


def test_ebook_rules_without_an_elibrary_are_errors(tmp_path: Path) -> None:
    text = _seed("ibaraki").replace('[tenants.elibrary]\nkind = "simulator"\n', "")
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "ibaraki: policy.ebooks.max_loans: error: an e-book rule, but" in output
    assert "ibaraki: policy.holds.max_ebook_holds: error:" in output


def test_an_unservable_backend_kind_is_an_error(tmp_path: Path) -> None:
    text = '[[tenants]]\nid = "sim"\nname = "x"\n[tenants.backend]\nkind = "simulator"\n'
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "sim: backend.kind: error:" in output and "cannot be served" in output


@pytest.mark.parametrize(
    ("anchor", "insert", "where"),
    [
        ("[tenants.policy.holds]\n", "pickup_days = 3\n", "policy.holds.pickup_days"),
        ("[tenants.backend]\n", "tls = { enabled = true, colour = 1 }\n", "backend.tls.colour"),
        ("[tenants.policy.renewal]\n", "overdue_mode = 1\n", "policy.renewal.overdue_mode"),
        ('code = "CEN"\n', "floor = 2\n", "pickup_libraries[0].floor"),
        ("[tenants.labels.ja.hold_status]\n", 'nope = "x"\n', "labels.ja"),
        ("[tenants.policy.holds]\n", "notify = { a = 1 }\n", "policy.holds.notify"),
    ],
)
def test_unknown_keys_anywhere_are_errors(
    tmp_path: Path, anchor: str, insert: str, where: str
) -> None:
    text = _seed("akiruno")
    assert anchor in text
    code, output = _check(tmp_path, text.replace(anchor, anchor + insert, 1))
    assert code == 1
    assert f"tenants[0].{where}" in output
    assert "unknown" in output


def test_removed_keys_are_unknown(tmp_path: Path) -> None:
    text = _seed("saitama").replace(
        "[tenants.policy.holds]\n", "[tenants.policy.holds]\npickup_shelf_days = 10\n"
    )
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "tenants[0].policy.holds.pickup_shelf_days: unknown key" in output


def test_explain_prints_each_rule_and_where(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["config", "check", str(EXAMPLES / "ibaraki.toml"), "--explain"]
    )
    assert result.exit_code == 0, result.output
    assert "policy.holds.limits[video].max = 4  -> gateway, before the ILS" in result.output
    assert "policy.renewal.period_days = 15  -> gateway, before the ILS" in result.output
    assert "policy.account.login_when_expired = True  -> gateway, before the ILS" in result.output
    assert "not enforced yet" not in result.output
    assert "NOT ENFORCED" not in result.output


def test_temporary_password_gate_without_password_change_is_a_warning(tmp_path: Path) -> None:
    code, output = _check(tmp_path, _seed("ibaraki"))
    assert code == 0
    assert "ibaraki: policy.account.temporary_password_gate: warning:" in output


async def test_the_demo_tenant_passes_the_capability_check() -> None:
    demo = demo_tenant(40123)
    problems = capability_problems(demo, await backend_facts(demo))
    assert [p for p in problems if p.error] == []


# --- issue 16: branch codes, material-type maps, and serve's start-up check -----------------


def test_branch_codes_must_be_the_tenants_branches(tmp_path: Path) -> None:
    text = _seed("ibaraki").replace(
        "branch_period_days = { EKI = 14 }", "branch_period_days = { EKY = 14 }"
    )
    text = text.replace(
        'excluded_loan_branches = ["bookmobile"]', 'excluded_loan_branches = ["bookmobile", "BM9"]'
    )
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "ibaraki: policy.renewal.branch_period_days: error: branch code 'EKY'" in output
    assert "ibaraki: policy.renewal.excluded_loan_branches: error: branch code 'BM9'" in output
    # Stations of a pickup library and of [tenants.policy.loans] are branches too.
    text = _seed("ibaraki").replace(
        'excluded_loan_branches = ["bookmobile"]', 'excluded_loan_branches = ["BM02", "CEN"]'
    )
    assert _check(tmp_path, text)[0] == 0


def test_the_bookmobile_keyword_needs_a_bookmobile(tmp_path: Path) -> None:
    text = _seed("ibaraki")
    text = text.replace(
        '  { code = "BM", name = "移動図書館", stations = ["BM01", "BM02", "BM03"] },\n', ""
    )
    start = text.index('[[tenants.pickup_libraries]]\ncode = "BM"')
    end = text.index("[tenants.elibrary]")
    text = text[:start] + text[end:]
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "policy.renewal.excluded_loan_branches: error: 'bookmobile' means every bookmobile" in (
        output
    )


def test_a_material_map_for_another_backend_is_an_error(tmp_path: Path) -> None:
    text = _seed("ibaraki") + '\nkoha_item_types = { DVD = "dvd" }\n'
    code, output = _check(tmp_path, text)
    assert code == 1
    assert "ibaraki: material_types.koha_item_types: error: only a koha backend reads it" in output


def test_explain_lists_material_types_and_age_limits() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(EXAMPLES), "--explain"])
    assert result.exit_code == 0, result.output
    assert (
        "material_types.sip2_type_values.DVD = dvd  -> gateway (sip2 adapter, before every limit"
        " by type)" in result.output
    )
    assert (
        "policy.holds.age_limits[middle_school_and_up].under_age = 12  -> gateway, before the ILS"
        in result.output
    )


def test_serve_refuses_to_start_with_the_same_lines(tmp_path: Path) -> None:
    text = _seed("akiruno").replace("skip_allowed = false", "skip_allowed = true")
    text = text.replace(
        "[tenants.policy.renewal]\n",
        '[tenants.policy.renewal]\nexcluded_loan_branches = ["NOPE"]\n',
        1,
    )
    path = tmp_path / "tenant.toml"
    path.write_text(text, encoding="utf-8")
    checked = CliRunner().invoke(main, ["config", "check", str(path)])
    served = CliRunner().invoke(main, ["serve", "--config", str(path), "--port", "0"])
    assert checked.exit_code == 1 and served.exit_code == 1
    lines = [ln for ln in served.output.splitlines() if ": error: " in ln]
    assert len(lines) == 2
    assert all(line in checked.output for line in lines)
    assert "akiruno: policy.holds.skip_allowed: error:" in served.output
    assert "akiruno: policy.renewal.excluded_loan_branches: error: branch code 'NOPE'" in (
        served.output
    )
    assert "not serving" in served.output


# --- issue 20: the demo page is off unless a tenant's file turns it on --------------------


def test_check_says_where_the_demo_page_is_on(tmp_path: Path) -> None:
    text = (EXAMPLES / "koha-demo.toml").read_text(encoding="utf-8")
    code, output = _check(tmp_path, text)
    assert code == 0, output
    assert "demo page" not in output
    code, output = _check(
        tmp_path, text.replace('id = "koha-demo"\n', 'id = "koha-demo"\ndemo_page = true\n')
    )
    assert code == 0, output
    assert "demo page: on, served at /demo/koha-demo/" in output
    code, output = _check(
        tmp_path, text.replace('id = "koha-demo"\n', 'id = "koha-demo"\ndemo_page = "yes"\n')
    )
    assert code == 1
    assert "tenants[0].demo_page" in output
