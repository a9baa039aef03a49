"""``[tenants.mail]``: how a library's mails to patrons look and leave (issue 18).

```toml
[tenants.mail]
sender = "info@library.akiruno.tokyo.jp"   # From: (the address patrons allow; seed 003)
sender_name = "あきる野市図書館"             # From: display name (default: the tenant's name)
sender_name_en = "Akiruno City Library"
reply_to = "toshokan@city.akiruno.tokyo.jp" # optional Reply-To:
signature = '''
あきる野市図書館
このメールは送信専用です。'''
signature_en = "Akiruno City Library (this address does not receive mail)"
encoding = "iso-2022-jp"                   # "utf-8" (default) or "iso-2022-jp" (JIS, 7-bit)
language = "ja"                            # default: [tenants.language] default
portal_url = "https://www.library.akiruno.tokyo.jp/"  # linked from the mails where useful
templates = "mail-templates/akiruno"       # optional overrides: <name>.<lang>.subject / .txt

[tenants.mail.smtp]                        # optional: else the server's smtp_url
host = "smtp.example.jp"
port = 587
security = "starttls"                      # "none", "starttls" or "tls" (SMTPS)
username = "library"
password_env = "AKIRUNO_SMTP_PASSWORD"     # the password is read from this variable
```

No I/O here (the template directory is checked by ``config check``); secrets never in the file:
``password_env`` names an environment variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["MailConfig", "MailEncoding", "MailSecurity", "SmtpConfig", "valid_address"]

MailSecurity = Literal["none", "starttls", "tls"]
MailEncoding = Literal["utf-8", "iso-2022-jp"]

# A deliberately plain check (local@domain, no spaces or line breaks, a dot in the domain):
# the SMTP server is the judge; this catches typos in a tenant file.
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def valid_address(address: str) -> bool:
    """Whether ``address`` looks like one plain e-mail address (no display name)."""
    return bool(_ADDRESS.match(address))


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SmtpConfig(_Config):
    """The SMTP server a tenant's mails go through (else the server's ``smtp_url``)."""

    host: str = Field(min_length=1)
    port: int | None = Field(
        None, ge=1, le=65535, description="default: 465 for tls, 587 for starttls, 25 for none"
    )
    security: MailSecurity = Field("starttls", description="none | starttls | tls (SMTPS)")
    username: str | None = None
    password_env: str | None = Field(
        None, description="environment variable holding the SMTP password"
    )
    timeout: float = Field(30.0, gt=0, le=300, description="seconds per SMTP exchange")

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"not an environment variable name: {value!r}")
        return value

    @model_validator(mode="after")
    def _password_needs_user(self) -> Self:
        if self.password_env is not None and self.username is None:
            raise ValueError("password_env without username: name the SMTP user too")
        return self

    @property
    def effective_port(self) -> int:
        """The port to connect to: the given one, else the security's usual one."""
        if self.port is not None:
            return self.port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


class MailConfig(_Config):
    """A library's patron mails: sender, reply-to, signature, encoding, language, server."""

    sender: str = Field(description="From: address")
    sender_name: str | None = Field(None, description="From: display name (default: tenant name)")
    sender_name_en: str | None = Field(None, description="the display name in English mails")
    reply_to: str | None = Field(None, description="Reply-To: address (none: no header)")
    signature: str | None = Field(None, description="appended to every Japanese mail")
    signature_en: str | None = Field(None, description="appended to every English mail")
    encoding: MailEncoding = Field("utf-8", description="utf-8 or iso-2022-jp (JIS)")
    language: Literal["ja", "en"] | None = Field(
        None, description="mail language when the event names none ([tenants.language] default)"
    )
    portal_url: str | None = Field(
        None, description="the library's portal, linked from mails (予約照会, 開館案内)"
    )
    templates: Path | None = Field(
        None,
        description="directory of overriding templates (<event>.<ja|en>.subject / .txt), "
        "relative to the tenant file",
    )
    smtp: SmtpConfig | None = Field(None, description="SMTP server; none: the server's smtp_url")

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not valid_address(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @field_validator("sender_name", "sender_name_en")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("one line, no line breaks")
        return value

    @field_validator("portal_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"an http(s) URL, got {value!r}")
        return value
