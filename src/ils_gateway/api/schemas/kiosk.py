"""The operator's reload of the SIP2 face's terminal profiles (issue 21)."""

from __future__ import annotations

from pydantic import Field

from ils_gateway.api.schemas.common import Body


class KioskReloadView(Body):
    """What a reload of the tenant's self-check settings did."""

    applied: bool = Field(
        description="false: the file did not load (or no longer enables the face); the "
        "profiles in use were kept"
    )
    generation: int = Field(description="reloads applied since the gateway started")
    problems: list[str] = Field(description="why nothing was applied, one line each")
    notes: list[str] = Field(description="what needs a restart (listeners, certificates)")
