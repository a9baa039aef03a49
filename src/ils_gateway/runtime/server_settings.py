"""``ServerSettings``: the process's settings, from the command line, the environment or a file.

Every setting of ``serve`` (and of ``GatewaySettings`` that an operator sets) has one name, and
comes from, first to last (issue 17):

1. the command-line option (``serve --port 8081``), where there is one;
2. the environment variable ``ILS_GATEWAY_<NAME>`` (``ILS_GATEWAY_PORT=8081``);
3. the ``[server]`` table of the settings file (``port = 8081``), a TOML file named by
   ``--settings PATH`` or ``ILS_GATEWAY_SETTINGS``; kept apart from the tenant files (which may
   be a directory of them) so that one settings file can name the tenants (``config = …``);
4. the default below.

``ils-gateway config show`` prints the effective values and where each came from, secrets
masked. A bad value is ``SettingsError`` with one line per problem naming the setting, its
variable and option, and why (the value itself unless it is a secret).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ils_gateway.runtime.settings import ANONYMOUS_LOOKUP_LIMIT, MailSettings, trusted_networks
from ils_gateway.state.ratelimit import RateLimit

ENV_PREFIX = "ILS_GATEWAY_"
#: The settings file's path, when ``--settings`` is not given.
SETTINGS_FILE_ENV = "ILS_GATEWAY_SETTINGS"
#: The table of the settings file the settings are read from.
TABLE = "server"
MASK = "********"

# The [server] table of the file being loaded (set by ``load_server_settings``).
_file_table: ContextVar[Mapping[str, Any]] = ContextVar("_file_table", default=MappingProxyType({}))


class SettingsError(Exception):
    """Settings that cannot be used: ``problems`` has one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class ServerSettings(BaseSettings):
    """What ``serve`` runs with; see the module's docstring for where each value comes from."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    config: Path | None = Field(
        None, description="tenant file or directory (TOML); none: the embedded demo"
    )
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=0, le=65535, description="port to listen on")
    redis_url: str | None = Field(
        None, description="redis:// URL for shared state (many processes); none: in memory"
    )
    redis_prefix: str = Field("ilsgw:", min_length=1, description="prefix of the Redis keys")
    store_url: str | None = Field(
        None, description="gateway store URL; none: ./var/ils-gateway.sqlite3"
    )
    store_secret: SecretStr | None = Field(
        None, description="server secret of the store; none: a dev secret beside SQLite"
    )
    secret: SecretStr | None = Field(
        None, description="secret shared state is sealed with; none: the store's"
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="reverse proxies whose forwarding header names the client"
    )
    forwarded_header: Literal["X-Forwarded-For", "Forwarded"] = Field(
        "X-Forwarded-For", description="the header the trusted proxies set"
    )
    personal_data_minutes: float = Field(
        5.0, gt=0, description="how long a patron's cached data is kept"
    )
    lookup_limit: int = Field(
        ANONYMOUS_LOOKUP_LIMIT.limit,
        ge=1,
        description="catalog look-ups without a session per client address and window",
    )
    lookup_window: float = Field(
        ANONYMOUS_LOOKUP_LIMIT.window, gt=0, description="that window, in seconds"
    )
    client_max_size: int = Field(64 * 1024, ge=1024, description="largest request body, bytes")
    kiosk_header: str = Field("X-Kiosk-Key", min_length=1, description="kiosk key header")
    json_logs: bool | None = Field(None, description="JSON log lines; none: when not a TTY")
    smtp_url: SecretStr | None = Field(
        None,
        description="SMTP server for tenants without [tenants.mail.smtp] (smtp://, "
        "smtp+starttls://, smtps://; user:password@ allowed); none: their mail waits",
    )
    mail_sender: str | None = Field(
        None, description="From: address for tenants without [tenants.mail]; none: no mail"
    )
    mail_drain_interval: float = Field(
        60.0, ge=0, description="seconds between outbox drains in serve; 0: serve drains not"
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from ils_gateway.mail.smtp import SmtpServer

            SmtpServer.from_url(value.get_secret_value())  # ValueError saying what is wrong
        return value

    @field_validator("mail_sender")
    @classmethod
    def _mail_sender(cls, value: str | None) -> str | None:
        from ils_gateway.tenants.mail import valid_address

        if value is not None and not valid_address(value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(value.replace(",", " ").split())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        trusted_networks(value)  # ValueError naming the first that is not an address or CIDR
        return value

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _header_case(cls, value: object) -> object:
        if isinstance(value, str):
            return {"x-forwarded-for": "X-Forwarded-For", "forwarded": "Forwarded"}.get(
                value.lower(), value
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ServerTable(settings_cls))

    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return trusted_networks(self.trusted_proxies)

    def gateway_fields(self) -> dict[str, Any]:
        """The ``GatewaySettings`` fields these settings set (tenants and store apart)."""
        return {
            "redis_url": self.redis_url,
            "redis_prefix": self.redis_prefix,
            "secret": self.secret.get_secret_value().encode() if self.secret else None,
            "trusted_proxies": self.trusted_networks(),
            "forwarded_header": self.forwarded_header,
            "personal_data_minutes": self.personal_data_minutes,
            "anonymous_lookup_limit": RateLimit(self.lookup_limit, self.lookup_window),
            "client_max_size": self.client_max_size,
            "kiosk_header": self.kiosk_header,
            "json_logs": self.json_logs,
            "mail": self.mail_settings(),
        }

    def mail_settings(self) -> MailSettings:
        """The server-wide mail settings (default SMTP server and sender, drain interval)."""
        from ils_gateway.mail.smtp import SmtpServer

        smtp = self.smtp_url
        return MailSettings(
            smtp=SmtpServer.from_url(smtp.get_secret_value()) if smtp is not None else None,
            sender=self.mail_sender,
            drain_interval=self.mail_drain_interval or None,
        )


class _ServerTable(PydanticBaseSettingsSource):
    """The ``[server]`` table of the settings file being loaded."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _file_table.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_table.get())


def env_name(name: str) -> str:
    """The environment variable of setting ``name``: ``ILS_GATEWAY_PORT`` for ``port``."""
    return ENV_PREFIX + name.upper()


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The ``[server]`` table of the TOML file at ``path``; ``SettingsError`` if unreadable."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([f"settings file {path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"settings file {path}: TOML syntax error: {exc}"]) from None
    others = sorted(set(data) - {TABLE})
    if others:
        raise SettingsError(
            [f"settings file {path}: only a [{TABLE}] table is read, not {', '.join(others)}"]
        )
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise SettingsError([f"settings file {path}: [{TABLE}] must be a table"])
    if isinstance(table.get("config"), str):  # relative to the settings file, not the cwd
        table["config"] = Path(path).parent / table["config"]
    return table


def settings_file_path(given: str | Path | None = None) -> Path | None:
    """The settings file: ``given`` (``--settings``), else ``ILS_GATEWAY_SETTINGS``, else none."""
    chosen = given or os.environ.get(SETTINGS_FILE_ENV)
    return Path(chosen) if chosen else None


def load_server_settings(
    settings_file: str | Path | None = None, **given: Any
) -> tuple[ServerSettings, dict[str, str]]:
    """The effective settings and where each came from (``command line``, the variable's name,
    the file's, or ``default``). ``given``: the command line's values, None (or an empty tuple)
    where an option was not given. ``SettingsError`` for a bad value or file."""
    path = settings_file_path(settings_file)
    table = read_settings_file(path) if path is not None else {}
    explicit = {key: value for key, value in given.items() if value is not None and value != ()}
    token = _file_table.set(table)
    try:
        settings = ServerSettings(**explicit)
    except ValidationError as exc:
        raise SettingsError([_describe(dict(e), path) for e in exc.errors()]) from None
    finally:
        _file_table.reset(token)
    sources = {}
    for name in ServerSettings.model_fields:
        if name in explicit:
            sources[name] = "command line"
        elif env_name(name) in os.environ:
            sources[name] = env_name(name)
        elif name in table:
            sources[name] = f"{path} [{TABLE}]"
        else:
            sources[name] = "default"
    return settings, sources


_SECRETS = frozenset({"store_secret", "secret", "smtp_url"})


def _describe(error: dict[str, Any], path: Path | None) -> str:
    name = str(error["loc"][0]) if error["loc"] else "settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        where = f" in {path} [{TABLE}]" if path is not None else ""
        return f"setting {name!r}{where}: unknown setting (check the spelling)"
    shown = error.get("input")
    got = ""
    if name not in _SECRETS and name != "redis_url" and isinstance(shown, str | int | float):
        got = f" (got {shown!r})"
    return f"setting {name} ({env_name(name)}): {message}{got}"


def masked_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``********``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def shown_values(settings: ServerSettings) -> dict[str, str]:
    """Each setting as ``config show`` prints it: secrets masked, URLs without passwords."""
    out: dict[str, str] = {}
    for name in ServerSettings.model_fields:
        value = getattr(settings, name)
        if value is None:
            text = "(none)"
        elif name == "smtp_url" and isinstance(value, SecretStr):
            text = masked_url(value.get_secret_value())
        elif isinstance(value, SecretStr):
            text = MASK
        elif name in ("redis_url", "store_url"):
            text = masked_url(value)
        elif isinstance(value, tuple):
            text = ", ".join(value) if value else "(none)"
        else:
            text = str(value)
        out[name] = text
    return out
