"""Hold sequences (順番予約)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.models import Hold
from ils_gateway.services.mylists.sequences import SequenceView


class SequenceCreateRequest(Body):
    """At least two waiting holds, in the order they should be filled."""

    hold_ids: list[str] = Field(min_length=2, max_length=20)


class SequenceMemberView(Body):
    """One place of a sequence: the hold, or None once it has left the library's hold list."""

    position: int
    hold_id: str
    item_id: str
    hold: Hold | None


class SequenceViewModel(Body):
    """A hold sequence (順番予約) with its members' current holds, in order."""

    sequence_id: str
    created_at: datetime
    members: list[SequenceMemberView]

    @classmethod
    def of(cls, view: SequenceView) -> SequenceViewModel:
        """The API view of a service ``SequenceView``."""
        members = zip(view.sequence.members, view.holds, strict=True)
        return cls(
            sequence_id=view.sequence.sequence_id,
            created_at=view.sequence.created_at,
            members=[
                SequenceMemberView(position=i, hold_id=m.hold_id, item_id=m.item_id, hold=hold)
                for i, (m, hold) in enumerate(members, start=1)
            ],
        )


class SequenceList(Body):
    """The patron's hold sequences."""

    sequences: list[SequenceViewModel]
