"""Order status in a channel's own vocabulary. The warehouse says afterclick's status of an order
(``wb_order_status.afterclick_status``: invoiced, shipped, delivered, refunded, canceled); each
channel's status adapter says what that is on the channel (``STATUSES``). A status the channel has
no word for (e.g. a channel that shows an order invoiced through its tracking push) needs nothing
sent: such a change is confirmed as it is, without a request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from writeback.adapters.base import in_batch_order
from writeback.ledger import Change, Outcome

AFTERCLICK_STATUSES = ("invoiced", "shipped", "delivered", "refunded", "canceled")

if TYPE_CHECKING:

    class _OrderAdapter:
        """What ``OrderStatus`` is mixed in before: a channel's order adapter (for the type checker)."""

        def push(self, changes: list[Change]) -> list[Outcome]: ...

        def read_back(self, changes: list[Change]) -> dict[str, dict]: ...

else:
    _OrderAdapter = object


class OrderStatus(_OrderAdapter):
    """Mixed in before a channel's order adapter base (``class XStatus(OrderStatus, XOrders)``):
    ``status(change)`` is the channel's status for the change, and changes without one skip the
    channel's ``push`` and ``read_back``."""

    kind = "status"
    STATUSES: dict[str, str] = {}  # afterclick's status -> the channel's (absent: the channel shows none)

    @classmethod
    def channel_status(cls, afterclick_status: str) -> str | None:
        return cls.STATUSES.get(afterclick_status)

    def status(self, change: Change) -> str | None:
        return self.channel_status(change.payload["afterclick_status"])

    def push(self, changes: list[Change]) -> list[Outcome]:
        shown = [c for c in changes if self.status(c) is not None]
        if len(shown) == len(changes):
            return super().push(changes)
        outcomes = [Outcome(c, True) for c in changes if self.status(c) is None]
        return in_batch_order(changes, outcomes + (super().push(shown) if shown else []))

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        shown = [c for c in changes if self.status(c) is not None]
        held = {c.key: c.payload for c in changes if self.status(c) is None}
        return held | (super().read_back(shown) if shown else {})
