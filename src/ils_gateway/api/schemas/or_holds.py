"""OR-holds (いずれか予約): holds on several records, any one wanted (issue 19)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.models import Hold
from ils_gateway.domain.vocab import ContactMethod
from ils_gateway.services.mylists.or_holds import OrHoldView


class OrHoldCreateRequest(Body):
    """Records of which any one will do (2 up to the tenant's ``or_holds_max``), and where
    to pick it up."""

    record_ids: list[str] = Field(min_length=2, max_length=20)
    pickup_library: str = Field(min_length=1, max_length=100)
    contact_method: ContactMethod | None = None


class OrHoldMemberView(Body):
    """One record of a group: its hold, or None once it has left the library's hold list."""

    record_id: str
    hold_id: str
    hold: Hold | None


class OrHoldViewModel(Body):
    """An OR-hold group with its members' current holds."""

    group_id: str
    pickup_library: str
    created_at: datetime
    members: list[OrHoldMemberView]

    @classmethod
    def of(cls, view: OrHoldView) -> OrHoldViewModel:
        """The API view of a service ``OrHoldView``."""
        return cls(
            group_id=view.group.group_id,
            pickup_library=view.group.pickup_library,
            created_at=view.group.created_at,
            members=[
                OrHoldMemberView(record_id=m.record_id, hold_id=m.hold_id, hold=hold)
                for m, hold in zip(view.group.members, view.holds, strict=True)
            ],
        )


class OrHoldList(Body):
    """The patron's OR-hold groups still waiting for one of their holds to be filled."""

    groups: list[OrHoldViewModel]
