"""A 10k-SKU stock change pushed to each API channel: bulk endpoints against one call per SKU.

The demo catalogue is widened to ``skus`` products (the emulators then list, stock and look up
all of them), and one store per channel gets a stock change for every SKU at the location the
warehouse's own stock changes use. Each change set is pushed through the real adapter and the
write-back engine (its own ledger, a throwaway DuckDB) three ways:

- **bulk, free**: the adapter's own batch size, the emulator without a rate limit;
- **one call per SKU, free**: the same adapter with a batch size of 1;
- **bulk at the limit**: the emulator enforcing the API's rate limit (the same limits as the paced
  write-back), the client pacing itself — for the channels with a bulk endpoint.

One call per SKU at the limit is not waited out (10k calls at 25 a second is 400 s): its floor
is its call count over the limit, shown as such. VTEX has no bulk stock endpoint: its two
figures are the same path.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import duckdb
import polars as pl

CHANNEL_STORES = {"shopify": "shopify-es", "magento": "magento-es", "woocommerce": "woo-pt", "vtex": "vtex-br"}


def widened(world, skus: int):
    """The world with its catalogue grown to ``skus`` products (the new ones copy an existing row)."""
    products = world.products
    extra = skus - products.height
    if extra <= 0:
        return world
    more = (products.sample(extra, with_replacement=True, seed=7)
            .with_columns(sku=pl.format("SKU-X{}", pl.int_range(1, extra + 1).cast(pl.Utf8).str.zfill(5))))
    return dataclasses.replace(world, products=pl.concat([products, more]))


def _changes(con_wh, world, store_id: str, channel: str, skus: int, seed: int) -> list:
    from writeback import engine
    from writeback.ledger import Change

    template = engine.desired(con_wh, "stock").get(store_id)
    if not template:
        raise RuntimeError(f"no stock change for {store_id} to copy the location from")
    location = template[0].payload["location_id"]
    out = []
    for i, sku in enumerate(world.products["sku"].head(skus).to_list()):
        payload = {"sku": sku, "location_id": location, "quantity": (i * 7 + seed) % 50}
        out.append(Change("stock", store_id, channel, f"{sku}|{location}", payload))
    return out


def measure(settings, skus: int, limits: dict[str, float], bucket: tuple[float, float]) -> dict:
    """Per channel: SKUs, calls and seconds for each way of pushing (see the module docstring)."""
    from pydantic import SecretStr

    from afterclick import warehouse
    from afterclick.demo.emulators.server import serve_channels
    from afterclick.demo.generate import load_truth
    from afterclick.settings import DEFAULT_REQUESTS_PER_SECOND
    from ingest.channels.connector import ChannelStore
    from writeback import engine
    from writeback.run import adapter_factory

    world = widened(load_truth(settings), skus)
    con_wh = warehouse.connect_read_only(settings.warehouse_path)
    try:
        wanted = {ch: _changes(con_wh, world, sid, ch, skus, seed=n) for n, (ch, sid) in enumerate(CHANNEL_STORES.items())}
    finally:
        con_wh.close()
    out: dict[str, dict] = {}

    def run(channel: str, mode: str, paced: bool) -> dict:
        store_id = CHANNEL_STORES[channel]
        kwargs = {"shopify_bucket": bucket, "requests_per_second": limits} if paced else {}
        with serve_channels(world, **kwargs) as endpoints:
            url, state = endpoints[store_id]
            rate = DEFAULT_REQUESTS_PER_SECOND[channel] if paced else 0.0
            store = ChannelStore(store_id, channel, url, {k: SecretStr(v) for k, v in state.credentials.items()}, rate)
            adapter = adapter_factory({store_id: store}, None, 60.0)("stock", store_id, channel)
            if mode == "one call per SKU":
                adapter.batch_size = 1
            ledger_con = duckdb.connect()
            before = len(state.requests)
            t0 = time.perf_counter()
            try:
                report = engine.push_target(ledger_con, adapter, wanted[channel], datetime.now(UTC).replace(tzinfo=None))
            finally:
                adapter.close()
                ledger_con.close()
            seconds = time.perf_counter() - t0
            calls = len(state.requests) - before
            return {"skus": report.pushed, "failed": report.failed, "calls": calls, "seconds": round(seconds, 2),
                    "skus_per_s": round(report.pushed / seconds) if seconds else None, "refused_429": state.throttled}

    for channel in CHANNEL_STORES:
        row = {"bulk": run(channel, "bulk", False)}
        row["one call per SKU"] = row["bulk"] if channel == "vtex" else run(channel, "one call per SKU", False)
        limit = limits.get(channel)
        if channel != "vtex":
            row["bulk at the limit"] = run(channel, "bulk", True)
        row["limit"] = limit if limit else f"cost bucket {bucket[0]:.0f}/{bucket[1]:.0f}"
        # one call per SKU at the limit: not waited out; its floor is calls over the limit
        row["one call per SKU at the limit, floor s"] = round(row["one call per SKU"]["calls"] / limit, 1) if limit else None
        if channel == "vtex":
            row["bulk at the limit, floor s"] = row["one call per SKU at the limit, floor s"]
        out[channel] = row
    return out
