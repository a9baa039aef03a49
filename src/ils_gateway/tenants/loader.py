"""Read tenant TOML files into a ``TenantRegistry``, with errors that name the key at fault.

A problem is reported as ``<file>: <key path>: <message>``, e.g.
``saitama.toml: tenants[0].policy.renewal.max_renewals: Input should be a valid integer``;
a TOML syntax error keeps tomllib's line and column.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ils_gateway.domain.errors import NotFound
from ils_gateway.tenants.models import TenantConfig, TenantFile

# Keys whose union members pydantic reports under the member's tag; the tag is not a TOML key.
_TAGGED_UNIONS = frozenset({"backend", "elibrary"})
_SECRET_HINTS = ("password", "secret", "kiosk_keys")


class TenantConfigError(Exception):
    """A tenant file cannot be read or does not describe valid tenants."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class TenantRegistry:
    """The tenants the gateway serves, by id."""

    def __init__(self, tenants: Sequence[TenantConfig]) -> None:
        self._by_id: dict[str, TenantConfig] = {}
        for tenant in tenants:
            if tenant.id in self._by_id:
                raise TenantConfigError("<registry>", [f"tenant id {tenant.id!r} is used twice"])
            self._by_id[tenant.id] = tenant

    def get(self, tenant_id: str) -> TenantConfig:
        """The tenant with ``tenant_id``; raises ``NotFound`` for an unknown id."""
        try:
            return self._by_id[tenant_id]
        except KeyError:
            raise NotFound("Unknown library", operator_detail=f"tenant {tenant_id!r}") from None

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self._by_id

    def __iter__(self) -> Iterator[TenantConfig]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def ids(self) -> list[str]:
        """Tenant ids in file order."""
        return list(self._by_id)


def key_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a TOML key path: ``tenants[2].policy.renewal``."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif previous in _TAGGED_UNIONS and part in _UNION_TAGS:
            pass
        elif part == "[key]":
            out += " (key)"
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


_UNION_TAGS = frozenset({"sip2", "koha", "folio", "simulator", "kinoden"})


def _describe(error: dict[str, Any]) -> str:
    path = key_path(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    shown = error.get("input")
    secret = any(hint in path for hint in _SECRET_HINTS)
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    elif not secret and isinstance(shown, str | int | float | bool) and len(str(shown)) <= 60:
        message += f" (got {shown!r})"
    return f"{path}: {message}" if path else message


def parse_tenants(text: str, source: str = "<string>") -> TenantFile:
    """Parse and validate one TOML document."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TenantConfigError(source, [f"TOML syntax error: {exc}"]) from exc
    try:
        return TenantFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(dict(e)) for e in exc.errors(include_url=False)]
        raise TenantConfigError(source, problems) from exc


def load_tenants(path: str | Path) -> TenantRegistry:
    """Load a tenant file, or every ``*.toml`` in a directory (ids unique across files)."""
    path = Path(path)
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    if not files:
        raise TenantConfigError(str(path), ["no *.toml tenant files in this directory"])
    tenants: list[TenantConfig] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TenantConfigError(str(file), [f"cannot read: {exc}"]) from exc
        known = {t.id for t in tenants}
        for tenant in parse_tenants(text, str(file)).tenants:
            if tenant.id in known:
                raise TenantConfigError(str(file), [f"tenant id {tenant.id!r} is used twice"])
            tenants.append(_relative_to(tenant, file.parent))
    return TenantRegistry(tenants)


def _relative_to(tenant: TenantConfig, directory: Path) -> TenantConfig:
    """The tenant with the paths in its file (``[tenants.mail] templates``) taken relative to
    the file's directory, not the working directory."""
    mail = tenant.mail
    if mail is None or mail.templates is None or mail.templates.is_absolute():
        return tenant
    mail = mail.model_copy(update={"templates": directory / mail.templates})
    return tenant.model_copy(update={"mail": mail})
