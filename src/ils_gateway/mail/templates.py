"""Mail templates: one subject and one body per event and language, jinja2, plain text.

Files are ``<event>.<lang>.subject`` and ``<event>.<lang>.txt`` (``lang`` ``ja`` or ``en``),
shipped in ``ils_gateway/mail/templates``. A tenant's ``[tenants.mail] templates`` directory
is looked in first, so a library overrides any file with its own wording and keeps the rest.

- Text mail: no autoescaping (nothing here is HTML).
- ``StrictUndefined``: a variable the context lacks is an error, never a blank; optional
  variables are written ``{% if name is defined %}``.
- A sandboxed environment: a template file cannot reach Python internals.
- Variables set by the renderer: ``library`` (the sender's display name in that language),
  ``portal_url`` (None when the tenant has none) and ``lang``.
- Filters: ``date`` (an ISO date or date-time, as ``2026年12月11日（金）`` / ``Fri 11 Dec 2026``)
  and ``datetime`` (ISO date-time, in the tenant's time zone, with the time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ils_gateway.mail.outbox import LANGUAGES, TEMPLATES
from ils_gateway.tenants.models import TenantConfig

if TYPE_CHECKING:  # jinja2 is imported when templates are first built (serve starts without it)
    import jinja2

__all__ = [
    "SAMPLE_CONTEXTS",
    "MailTemplates",
    "RenderedMail",
    "TemplateProblem",
    "mail_language",
    "override_problems",
]

_WEEKDAYS_JA = "月火水木金土日"


class TemplateProblem(ValueError):
    """A template that cannot be rendered (missing, broken, or a variable the context lacks)."""


@dataclass(frozen=True)
class RenderedMail:
    """A mail's text: subject (one line), body and the language it is in."""

    subject: str
    body: str
    language: str


def _as_datetime(value: object) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    raise TemplateProblem(f"not an ISO date or date-time: {value!r}")


def _format_date(day: date, lang: str) -> str:
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS_JA[day.weekday()]}）"
    return f"{day:%a} {day.day} {day:%B %Y}"


class MailTemplates:
    """The templates of one tenant (its override directory first, then the shipped ones)."""

    def __init__(self, override: Path | None = None, timezone: str = "Asia/Tokyo") -> None:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        loaders: list[jinja2.BaseLoader] = []
        if override is not None:
            loaders.append(jinja2.FileSystemLoader(str(override)))
        loaders.append(jinja2.PackageLoader("ils_gateway.mail", "templates"))
        self._zone = ZoneInfo(timezone)
        env = ImmutableSandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=False,
            auto_reload=False,
        )

        @jinja2.pass_context
        def date_filter(ctx: jinja2.runtime.Context, value: object) -> str:
            return self._date(ctx, value)

        @jinja2.pass_context
        def datetime_filter(ctx: jinja2.runtime.Context, value: object) -> str:
            return self._datetime(ctx, value)

        env.filters["date"] = date_filter
        env.filters["datetime"] = datetime_filter
        self._env = env

    @classmethod
    def for_tenant(cls, tenant: TenantConfig) -> MailTemplates:
        """The templates of ``tenant`` (its ``[tenants.mail] templates`` directory, if any)."""
        override = tenant.mail.templates if tenant.mail is not None else None
        return cls(override, tenant.timezone)

    def _local(self, value: object) -> datetime | date:
        moment = _as_datetime(value)
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            return moment.astimezone(self._zone)
        return moment

    def _date(self, ctx: jinja2.runtime.Context, value: object) -> str:
        moment = self._local(value)
        day = moment.date() if isinstance(moment, datetime) else moment
        return _format_date(day, str(ctx.get("lang", "ja")))

    def _datetime(self, ctx: jinja2.runtime.Context, value: object) -> str:
        moment = self._local(value)
        lang = str(ctx.get("lang", "ja"))
        if not isinstance(moment, datetime):
            return _format_date(moment, lang)
        if lang == "ja":
            return f"{_format_date(moment.date(), lang)} {moment.hour}時{moment.minute:02d}分"
        return f"{_format_date(moment.date(), lang)}, {moment:%H:%M}"

    def render(
        self,
        template: str,
        language: str,
        context: Mapping[str, Any],
        *,
        library: str,
        portal_url: str | None = None,
        signature: str | None = None,
    ) -> RenderedMail:
        """The subject and body of ``template`` in ``language``; ``TemplateProblem`` when a
        file is missing or broken or uses a variable ``context`` lacks."""
        if template not in TEMPLATES:
            raise TemplateProblem(f"unknown mail template {template!r}")
        if language not in LANGUAGES:
            raise TemplateProblem(f"unknown mail language {language!r}")
        import jinja2

        variables = {**context, "library": library, "portal_url": portal_url, "lang": language}
        try:
            subject = self._env.get_template(f"{template}.{language}.subject").render(variables)
            body = self._env.get_template(f"{template}.{language}.txt").render(variables)
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"{template}.{language}: {exc}") from exc
        subject = " ".join(subject.split())  # one line: a header cannot hold a line break
        if not subject:
            raise TemplateProblem(f"{template}.{language}: the subject is empty")
        body = body.rstrip() + "\n"
        if signature:
            body += "\n-- \n" + signature.strip("\n") + "\n"
        return RenderedMail(subject, body, language)


def mail_language(tenant: TenantConfig, asked: str | None) -> str:
    """The language of a mail: the one the event names, else ``[tenants.mail] language``, else
    the tenant's ``[tenants.language] default``."""
    if asked is not None:
        return asked
    if tenant.mail is not None and tenant.mail.language is not None:
        return tenant.mail.language
    return tenant.language.default


#: A context for each template with every variable it may use (``config check`` renders a
#: tenant's overrides with these, so an unknown variable is found before a patron's mail).
SAMPLE_CONTEXTS: dict[str, dict[str, Any]] = {
    "hold_ready": {
        "patron_name": "山田 花子",
        "title": "坊っちゃん",
        "pickup_library": "中央図書館",
        "pickup_deadline": "2026-12-11",
    },
    "due_reminder": {
        "patron_name": "山田 花子",
        "days_before": 3,
        "items": [{"title": "吾輩は猫である", "due_date": "2026-12-08"}],
    },
    "overdue": {
        "patron_name": "山田 花子",
        "items": [{"title": "吾輩は猫である", "due_date": "2026-11-20"}],
    },
    "ebook_hold_ready": {
        "patron_name": "山田 花子",
        "title": "こころ",
        "borrow_by": "2026-12-07",
        "ebook_url": "https://elibrary.example.jp/titles/KD000003",
    },
    "kiosk_child_entry": {
        "child_name": "山田 太郎",
        "at": "2026-12-04T15:10:00+09:00",
        "place": "中央図書館",
    },
    "address_change_confirm": {
        "patron_name": "山田 花子",
        "changes": ["メールアドレス"],
        "changed_at": "2026-12-04T10:00:00+09:00",
    },
    "email_confirm": {
        "patron_name": "山田 花子",
        "confirm_url": "https://library.example.jp/confirm?t=sample",
        "expires_at": "2026-12-05T10:00:00+09:00",
    },
    "password_reset": {
        "patron_name": "山田 花子",
        "reset_url": "https://library.example.jp/reset?t=sample",
        "expires_at": "2026-12-04T11:00:00+09:00",
    },
    "registration_confirm": {
        "patron_name": "山田 花子",
        "confirm_url": "https://library.example.jp/register?t=sample",
        "expires_at": "2026-12-05T10:00:00+09:00",
    },
    "sdi_new_arrivals": {
        "patron_name": "山田 花子",
        "conditions": ["著者: 夏目漱石"],
        "items": [
            {
                "title": "夏目漱石全集 1",
                "author": "夏目漱石",
                "publisher": "岩波書店",
                "condition": "著者: 夏目漱石",
                "url": "https://library.example.jp/items/1",
            }
        ],
    },
}


def override_problems(tenant: TenantConfig) -> list[str]:
    """What is wrong with a tenant's template directory (``config check``): it is missing, a
    file is not ``<event>.<ja|en>.<subject|txt>``, or a template does not render with
    ``SAMPLE_CONTEXTS`` (unknown variable, syntax error)."""
    if tenant.mail is None or tenant.mail.templates is None:
        return []
    directory = tenant.mail.templates
    if not directory.is_dir():
        return [f"not a directory: {directory}"]
    problems: list[str] = []
    overridden: set[tuple[str, str]] = set()
    for file in sorted(directory.iterdir()):
        parts = file.name.split(".")
        if (
            len(parts) != 3
            or parts[0] not in TEMPLATES
            or parts[1] not in LANGUAGES
            or parts[2] not in ("subject", "txt")
        ):
            problems.append(
                f"{file.name}: not a mail template name (<event>.<ja|en>.<subject|txt>;"
                f" events: {', '.join(sorted(TEMPLATES))})"
            )
            continue
        overridden.add((parts[0], parts[1]))
    templates = MailTemplates.for_tenant(tenant)
    for event, language in sorted(overridden):
        try:
            templates.render(event, language, SAMPLE_CONTEXTS[event], library=tenant.name)
        except TemplateProblem as exc:
            problems.append(str(exc))
    return problems
