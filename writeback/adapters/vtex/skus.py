"""VTEX SKU changes (stock, prices): one call per SKU, the SKU's VTEX id looked up by reference
once a push and shared by the store's stock and prices adapters."""

from __future__ import annotations

from afterclick.channels.paging import vtex_sku_id
from afterclick.channels.store import ChannelStore
from writeback.adapters.base import CALLS_IN_FLIGHT, one_at_a_time
from writeback.adapters.rest import RestAdapter
from writeback.ledger import Change, Outcome


class VtexSkus(RestAdapter):
    """VTEX SKU ids by our SKU (the catalogue's reference id), looked up once a push: ``cache`` is
    the push's dict for this store, shared by its stock and prices adapters (the prices push
    otherwise asked again for every SKU the stock push had just looked up)."""

    channel, batch_size = "vtex", 100  # one ledger round trip per 100 SKUs (see RestOrders.batch_size)
    in_flight = CALLS_IN_FLIGHT  # SKUs side by side (one SKU's locations in turn: one id lookup)
    shares_target_cache = True

    def __init__(self, store: ChannelStore, timeout: float = 30.0, cache: dict | None = None):
        super().__init__(store, timeout)
        self._ids: dict[str, str | None] = (cache if cache is not None else {}).setdefault("vtex_sku_ids", {})

    def sku_id(self, sku: str) -> str | None:
        if sku not in self._ids:
            self._ids[sku] = vtex_sku_id(self.client, sku)
        return self._ids[sku]

    def send(self, change: Change, sku_id: str) -> None:
        raise NotImplementedError

    def push(self, changes: list[Change]) -> list[Outcome]:
        """One call per SKU (VTEX has no batch form); a SKU missing from the catalogue is refused."""

        def one(c: Change) -> list[Outcome]:
            sku_id = self.sku_id(c.payload["sku"])
            if sku_id is None:
                return [Outcome(c, False, 404, f"SKU {c.payload['sku']} is not in the VTEX catalogue", permanent=True)]
            self.send(c, sku_id)
            return [Outcome(c, True, 200)]

        return one_at_a_time(changes, one, self.in_flight, group_by=lambda c: c.payload["sku"])
