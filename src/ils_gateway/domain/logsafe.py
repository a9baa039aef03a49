"""What a log line may say about an exception: its kind and where a document failed, never the
values it quotes (a card, a password, a patron's name, a title, an item: issue 15, Secrets)."""

from __future__ import annotations

import re

from pydantic import ValidationError

from ils_gateway.domain.errors import GatewayError

__all__ = ["path_shape", "safe_error", "shape_errors"]


def safe_error(error: BaseException) -> str:
    """What a log line may say about ``error``: its problem type, or its class name — never its
    text or repr, which may quote a card, a password, a patron's name or a title."""
    return error.type_slug if isinstance(error, GatewayError) else type(error).__name__


def shape_errors(error: ValidationError, limit: int = 3) -> str:
    """Where and how a document failed validation (``loc: type``, the first ``limit``), without
    the values it held: pydantic's own text quotes them (a patron's name, a card, a title)."""
    found = error.errors(include_url=False, include_context=False, include_input=False)
    where = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or '(document)'}: {e['type']}"
        for e in found[:limit]
    )
    more = f" (+{len(found) - limit} more)" if len(found) > limit else ""
    return f"{len(found)} field error(s): {where}{more}"


_ID_SEGMENT = re.compile(r"(?!v\d+$)[^/]*\d[^/]*")


def path_shape(path: str) -> str:
    """``path`` with every segment that holds a digit (an item, title, patron or record id)
    replaced by ``{id}`` (a version such as ``v1`` is kept): ``/api/v1/items/{id}``."""
    return "/".join("{id}" if _ID_SEGMENT.fullmatch(s) else s for s in path.split("/"))
