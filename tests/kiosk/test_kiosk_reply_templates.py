"""The restricted templates of reply shaping (``tenants.terminal_templates``): plain names
from a list, alignment, width and precision, doubled braces; nothing that reaches past a
name."""

from __future__ import annotations

import pytest

from ils_gateway.tenants.terminal_templates import TemplateError, check_template, render

_NAMES = {"name", "title"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{name}様", "山田様"),
        ("{title:.3}…", "吾輩は…"),
        ("[{name:>4}]", "[  山田]"),
        ("[{name:*^6}]", "[**山田**]"),
        ("{{name}} {name}", "{name} 山田"),
        ("{missing_is_empty}", ""),
    ],
)
def test_render(template: str, expected: str) -> None:
    values = {"name": "山田", "title": "吾輩は猫である"}
    assert render(template, values) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{name.__class__.__mro__}",
        "{name[0]}",
        "{title!s}",
        "{}",
        "{0}",
        "{name:{title}}",
        "{name:1000}",
        "{name:,}",
        "{password}",
        "{name",
        "name}",
    ],
)
def test_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        check_template(template, _NAMES)


def test_checked_template_is_returned_unchanged() -> None:
    assert check_template("{name} {title:.10}", _NAMES) == "{name} {title:.10}"
