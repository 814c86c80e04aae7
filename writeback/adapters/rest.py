"""What the REST adapters share, whatever the channel: an adapter holds its store's HTTP client
(paced and retried by ``afterclick.channels.http``), and an order adapter works change by change:
it reads the order as the channel shows it and sends only what it lacks (so a retry, or a re-run
after a crash, never creates a second invoice, shipment or note); the same read is the read-back."""

from __future__ import annotations

import logging

from afterclick.channels.store import ChannelStore
from writeback.adapters.base import CALLS_IN_FLIGHT, Refused, one_at_a_time
from writeback.ledger import Change, Outcome

log = logging.getLogger("afterclick.writeback")


def iso(value) -> str:
    """A timestamp as the REST channels take it (UTC, ``…Z``)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


class RestAdapter:
    """An adapter talking to one store over its REST API; subclasses set ``kind``, ``channel`` and
    ``batch_size`` and push."""

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)

    def close(self) -> None:
        self.client.close()


class RestOrders(RestAdapter):
    """Per change: read the order, work out what it lacks (``missing``), send that."""

    # a batch's changes are marked pending, then settled, in two ledger transactions whose updates
    # read the whole ledger: at 128k rows ~10 ms a batch, whether it holds 25 changes or 100
    batch_size = 100
    in_flight = CALLS_IN_FLIGHT  # changes side by side (one order's changes in turn)

    def read(self, order_id: str):
        raise NotImplementedError

    def missing(self, order, change: Change) -> list[tuple[str, str, dict | None]]:
        """(method, path, body) calls that would bring the order to the change's payload."""
        raise NotImplementedError

    def prefetch(self, order_ids: list[str]) -> dict | None:
        """The batch's orders read in one request, where the channel has one (None: read each)."""
        return None

    def push(self, changes: list[Change]) -> list[Outcome]:
        try:
            known = self.prefetch(list(dict.fromkeys(c.payload["channel_order_id"] for c in changes)))
        except Exception as exc:  # noqa: BLE001 - each change then reads its order, and its error is its outcome
            log.warning(
                "%s: reading the batch's orders at once failed (%s); each change reads its own",
                self.store_id,
                type(exc).__name__,
            )
            known = None

        def one(c: Change) -> list[Outcome]:
            oid = c.payload["channel_order_id"]  # a prefetched order serves its first change only: a
            order = known.pop(oid) if known and oid in known else self.read(oid)  # later one reads what was sent
            if order is None:
                return [
                    Outcome(
                        c,
                        False,
                        404,
                        f"order {c.payload['channel_order_id']} is not in {self.store_id}",
                        permanent=True,
                    )
                ]
            for method, path, body in self.missing(order, c):
                _, answer = self.client.request(method, path, json=body)
                if answer is False:  # an API's "cannot" (e.g. an order that can no longer be canceled)
                    return [Outcome(c, False, 200, f"{self.store_id} refused {method} {path}", permanent=True)]
            return [Outcome(c, True, 200)]

        return one_at_a_time(changes, one, self.in_flight, group_by=lambda c: c.payload["channel_order_id"])

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        out = {}
        for c in changes:
            order = self.read(c.payload["channel_order_id"])
            if order is not None and self._holds(order, c):
                out[c.key] = c.payload
        return out

    def _holds(self, order, change: Change) -> bool:
        try:
            return not self.missing(order, change)
        except Refused:  # the channel cannot take it: it does not hold it either
            return False
