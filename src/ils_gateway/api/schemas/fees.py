"""What the patron owes (GET …/patron/fees)."""

from __future__ import annotations

from datetime import datetime

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.fees import FeeSummary


class FeesView(Body):
    """Each fine or fee (type in the canonical vocabulary with the library's label, amount in
    yen, item and title when known, date), the total, the blocks they cause with the rule
    behind each, and where to pay: the library takes payment, this API does not."""

    account: FeeSummary
    stale: bool = False
    as_of: datetime | None = None
