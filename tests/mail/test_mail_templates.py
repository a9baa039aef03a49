"""The templates: every event in both languages, strict variables, formats, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from mail_tenants import tenant

from ils_gateway.mail.outbox import TEMPLATE_FIELDS, TEMPLATES
from ils_gateway.mail.templates import (
    SAMPLE_CONTEXTS,
    MailTemplates,
    TemplateProblem,
    mail_language,
    override_problems,
)

SHIPPED = MailTemplates()
EVENTS = sorted(TEMPLATES)


def test_every_event_has_a_sample_and_its_required_fields() -> None:
    assert set(SAMPLE_CONTEXTS) == TEMPLATES == set(TEMPLATE_FIELDS)
    for event in EVENTS:
        assert TEMPLATE_FIELDS[event] <= set(SAMPLE_CONTEXTS[event]), event


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("event", EVENTS)
def test_every_template_renders_with_all_and_with_only_the_required_fields(
    event: str, language: str
) -> None:
    full = SHIPPED.render(
        event,
        language,
        SAMPLE_CONTEXTS[event],
        library="茨木市立図書館",
        portal_url="https://x.jp/",
    )
    assert full.subject and "\n" not in full.subject
    assert full.body.endswith("\n") and "\n\n\n" not in full.body
    assert "None" not in full.body and "{{" not in full.body
    required = {k: v for k, v in SAMPLE_CONTEXTS[event].items() if k in TEMPLATE_FIELDS[event]}
    least = SHIPPED.render(event, language, required, library="L")
    assert least.subject and "None" not in least.body and "\n\n\n" not in least.body
    if language == "ja":
        assert "【茨木市立図書館】" in full.subject
    for key, value in SAMPLE_CONTEXTS[event].items():
        if isinstance(value, str) and key.endswith(("_url", "title", "name")):
            assert value in full.body, (event, key)


def test_dates_and_times_in_each_language() -> None:
    ctx = {"child_name": "山田 太郎", "at": "2026-12-04T06:10:00+00:00"}
    ja = SHIPPED.render("kiosk_child_entry", "ja", ctx, library="あきる野市図書館")
    assert "日時：2026年12月4日（金） 15時10分" in ja.body  # Asia/Tokyo
    en = SHIPPED.render("kiosk_child_entry", "en", ctx, library="Akiruno City Library")
    assert "Time: Fri 4 December 2026, 15:10" in en.body
    hold = SHIPPED.render(
        "hold_ready", "ja", {"title": "t", "pickup_deadline": "2027-01-04"}, library="L"
    )
    assert "取置期限：2027年1月4日（月）まで" in hold.body


def test_a_signature_is_appended() -> None:
    out = SHIPPED.render("overdue", "ja", {"items": []}, library="L", signature="茨木市立図書館\n")
    assert out.body.endswith("\n-- \n茨木市立図書館\n")


def test_an_unknown_variable_is_an_error_not_a_blank(tmp_path: Path) -> None:
    (tmp_path / "overdue.ja.txt").write_text("{{ patron_nmae }} 様\n")
    with pytest.raises(TemplateProblem, match="patron_nmae"):
        MailTemplates(tmp_path).render("overdue", "ja", {"items": []}, library="L")
    with pytest.raises(TemplateProblem, match="title"):
        SHIPPED.render("hold_ready", "ja", {}, library="L")
    with pytest.raises(TemplateProblem, match="ISO date"):
        SHIPPED.render("hold_ready", "ja", {"title": "t", "pickup_deadline": "soon"}, library="L")


def test_a_tenant_overrides_some_files_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "hold_ready.ja.subject").write_text("予約資料確保のお知らせ\n")
    templates = MailTemplates(tmp_path)
    out = templates.render("hold_ready", "ja", {"title": "坊っちゃん"}, library="茨木市立図書館")
    assert out.subject == "予約資料確保のお知らせ"
    assert "書名：坊っちゃん" in out.body  # the shipped body
    assert templates.render("hold_ready", "en", {"title": "x"}, library="L").subject.startswith(
        "[L]"
    )


def test_sandboxed_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "overdue.ja.txt").write_text("{{ items.__class__.__mro__ }}\n")
    with pytest.raises(TemplateProblem):
        MailTemplates(tmp_path).render("overdue", "ja", {"items": []}, library="L")


def test_the_mail_language_falls_back_to_the_tenant_defaults() -> None:
    plain = tenant()
    assert mail_language(plain, None) == "ja"
    assert mail_language(plain, "en") == "en"
    english = tenant('sender = "a@library.example.jp"\nlanguage = "en"')
    assert mail_language(english, None) == "en"


def test_config_check_finds_bad_override_files(tmp_path: Path) -> None:
    (tmp_path / "hold_ready.ja.subject").write_text("{{ titel }}\n")
    (tmp_path / "holds_ready.ja.txt").write_text("x\n")
    (tmp_path / "overdue.en.txt").write_text("{% for %}\n")
    config = tenant(f'sender = "a@library.example.jp"\ntemplates = "{tmp_path}"')
    problems = override_problems(config)
    assert len(problems) == 3, problems
    assert any("holds_ready.ja.txt: not a mail template name" in p for p in problems)
    assert any("hold_ready.ja" in p and "titel" in p for p in problems)
    assert any(p.startswith("overdue.en") for p in problems)
    missing = tenant(f'sender = "a@library.example.jp"\ntemplates = "{tmp_path / "nope"}"')
    assert override_problems(missing) == [f"not a directory: {tmp_path / 'nope'}"]
