"""VTEX's stock: there is no list call, so it is asked per SKU of the ERP catalogue: the SKU id by
reference, then ``GET /api/logistics/pvt/inventory/skus/{skuId}`` (``totalQuantity`` per warehouse,
the field the stock push sets). SKUs the store does not sell (404) are skipped. The SKU id of a
SKU read before is taken from its last landed reading (one call a SKU, not two); if that id is
gone (404), it is looked up again. Four SKUs are read side by side."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import vtex_sku_id
from ingest.channels.contract import StockReading

log = logging.getLogger("afterclick.ingest")

SWEEP_CALLS = 4  # SKUs read side by side (the client's rate limit still paces every request)
SWEEP_CHUNK = 100  # SKUs handed to the readers at a time: a failure stops the sweep within one chunk


def _balance(client: ChannelClient, sku_id: str) -> dict | None:
    """A SKU id's balance per warehouse; None: no such SKU id, or no inventory kept for it."""
    return client.get_or_none(f"/api/logistics/pvt/inventory/skus/{sku_id}")


def _sku(client: ChannelClient, sku: str, known: dict[str, str]) -> list[StockReading]:
    """One SKU's readings, one per warehouse (none: the store does not sell it)."""
    body = _balance(client, known[sku]) if sku in known else None
    if body is None:
        if (sku_id := vtex_sku_id(client, sku)) is None:  # not sold in this store
            return []
        if sku_id == known.get(sku) or (body := _balance(client, sku_id)) is None:
            return []
    return [
        {
            "sku": sku,
            "location_id": balance.get("warehouseId"),
            "available": balance.get("totalQuantity"),
            "payload": {"skuId": body.get("skuId"), **balance},
        }
        for balance in body.get("balance", [])
    ]


def levels(
    client: ChannelClient, page_size: int = 0, skus: set[str] | None = None, known: dict[str, str] | None = None
) -> Iterator[StockReading]:
    """``known``: SKU -> the VTEX SKU id its last landed reading carried. The SKUs are read
    ``SWEEP_CALLS`` at a time (each is a round trip or two: one after the other, the client and
    the store mostly wait on each other), their readings yielded in SKU order."""
    if not skus:
        log.warning("VTEX has no inventory list call: no ERP catalogue landed yet, so no SKU to read")
        return
    known, ordered = known or {}, sorted(skus)
    with ThreadPoolExecutor(SWEEP_CALLS, thread_name_prefix=f"vtex-stock-{client.store_id}") as pool:
        for start in range(0, len(ordered), SWEEP_CHUNK):
            for readings in pool.map(lambda sku: _sku(client, sku, known), ordered[start : start + SWEEP_CHUNK]):
                yield from readings
