"""How a backend's failure is told in the report: the error's kind plus the backend's words."""

from __future__ import annotations

from ils_gateway.domain.errors import GatewayError, Refused


def describe_error(error: BaseException) -> str:
    """One line for the table: class, the patron text, the operator text, the backend message.

    ``operator_detail`` never holds a password (adapters keep secrets out of it), and the
    contract report is for the operator, so it is shown here.
    """
    parts = [type(error).__name__]
    if isinstance(error, GatewayError):
        parts.append(error.detail)
        if isinstance(error, Refused):
            parts.append(f"reason={error.reason.value}")
            if error.backend_message:
                parts.append(f"backend said: {error.backend_message!r}")
        if error.operator_detail:
            parts.append(error.operator_detail)
    else:
        text = str(error).strip()
        if text:
            parts.append(text.splitlines()[0] if isinstance(error, AssertionError) else text)
    return ": ".join(p for p in parts if p)
