"""A rendered mail as a MIME message: headers, encoding, Message-ID.

``build_message`` makes an ``email.message.EmailMessage`` (``email.policy.SMTP``: CRLF line
ends) with From (display name in the mail's language), To, Subject, Date, Message-ID,
Reply-To (when the tenant has one), ``Auto-Submitted: auto-generated`` (RFC 3834: no
auto-replies to it) and a ``text/plain`` body in the tenant's encoding:

- ``utf-8``: body base64, Subject and display names as RFC 2047 UTF-8 encoded words;
- ``iso-2022-jp``: the traditional Japanese mail encoding (7-bit JIS: body ``7bit``, Subject
  and display names as ``=?iso-2022-jp?b?…?=``), which older phones and mailers expect.
  Characters that Windows/Mac Japanese input produces but JIS X 0208 lacks under the same
  look (FULLWIDTH TILDE, …) are mapped to their JIS counterparts first; a text that still does
  not fit (a JIS X 0213 kanji such as 髙, an emoji) is sent as UTF-8 instead, and
  ``BuiltMessage.fell_back`` says so (the drainer logs it), rather than not sent at all.

Message-ID is derived from the outbox row (``<outbox.<id>.<tenant>@<sender's domain>>``), so a
mail sent again after a crash carries the same id and receivers can drop the copy.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, formataddr

from ils_gateway.mail.templates import RenderedMail
from ils_gateway.tenants.mail import MailConfig, MailEncoding

__all__ = ["BuiltMessage", "build_message", "message_id"]

# Characters Japanese PCs type (CP932 / Mac) that ISO-2022-JP spells with another code point.
_TO_JIS = str.maketrans(
    {
        "\uff5e": "\u301c",  # FULLWIDTH TILDE -> WAVE DASH
        "\u2225": "\u2016",  # PARALLEL TO -> DOUBLE VERTICAL LINE
        "\uff0d": "\u2212",  # FULLWIDTH HYPHEN-MINUS -> MINUS SIGN
        "\uffe0": "\u00a2",  # FULLWIDTH CENT SIGN
        "\uffe1": "\u00a3",  # FULLWIDTH POUND SIGN
        "\uffe2": "\u00ac",  # FULLWIDTH NOT SIGN
        "\u2015": "\u2014",  # HORIZONTAL BAR -> EM DASH
    }
)


class _EncodedHeader(str):
    """A header whose encoded form is fixed here (``email.policy`` would re-encode it as
    UTF-8): reads as the decoded text, serialises as ``encoded``."""

    name: str
    encoded: str

    def __new__(cls, name: str, text: str, encoded: str) -> _EncodedHeader:
        self = super().__new__(cls, text)
        self.name = name
        self.encoded = encoded
        return self

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self.encoded}{policy.linesep}"


@dataclass(frozen=True)
class BuiltMessage:
    """The message, and whether ISO-2022-JP was asked for but UTF-8 had to be used."""

    message: EmailMessage
    encoding: MailEncoding
    fell_back: bool = False


def message_id(mail_id: int, tenant_id: str, sender: str) -> str:
    """The Message-ID of outbox mail ``mail_id``: stable across resends."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<outbox.{mail_id}.{tenant_id}@{domain}>"


def _jis_ready(*texts: str) -> list[str] | None:
    mapped = [text.translate(_TO_JIS) for text in texts]
    try:
        for text in mapped:
            text.encode("iso-2022-jp")
    except UnicodeEncodeError:
        return None
    return mapped


def build_message(
    rendered: RenderedMail,
    *,
    config: MailConfig,
    sender_name: str,
    recipients: tuple[str, ...],
    mail_id: int,
    tenant_id: str,
    now: datetime,
) -> BuiltMessage:
    """The MIME message of ``rendered`` from ``config.sender`` (shown as ``sender_name``)."""
    encoding: MailEncoding = config.encoding
    subject, body, name = rendered.subject, rendered.body, sender_name
    fell_back = False
    if encoding == "iso-2022-jp":
        ready = _jis_ready(subject, body, name)
        if ready is None:
            encoding, fell_back = "utf-8", True
        else:
            subject, body, name = ready
    msg = EmailMessage(policy=email.policy.SMTP)
    if encoding == "iso-2022-jp":
        encoded_subject = Header(subject, "iso-2022-jp", header_name="Subject").encode(
            linesep="\r\n"
        )
        msg["Subject"] = _EncodedHeader("Subject", subject, encoded_subject)
        msg["From"] = _EncodedHeader(
            "From",
            formataddr((name, config.sender)),
            formataddr((name, config.sender), charset="iso-2022-jp"),
        )
    else:
        msg["Subject"] = subject
        msg["From"] = formataddr((name, config.sender))
    msg["To"] = ", ".join(recipients)
    if config.reply_to is not None:
        msg["Reply-To"] = config.reply_to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(mail_id, tenant_id, config.sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"  # the same request, for Microsoft's mailers
    if encoding == "iso-2022-jp":
        # 7bit as Japanese mailers send it, unless a line would pass SMTP's 998-octet limit.
        longest = max(len(line.encode("iso-2022-jp")) for line in body.splitlines() or [""])
        msg.set_content(body, charset="iso-2022-jp", cte="7bit" if longest <= 900 else "base64")
    else:
        msg.set_content(body, charset="utf-8", cte="base64")
    msg["Content-Language"] = rendered.language
    return BuiltMessage(msg, encoding, fell_back)
