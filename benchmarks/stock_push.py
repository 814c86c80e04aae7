"""A 10k-SKU stock change pushed to each API channel: bulk endpoints against one call per SKU.

The demo catalogue is widened to ``skus`` products (the emulators then list, stock and look up
all of them), and one store per channel gets a stock change for every SKU at the location the
warehouse's own stock changes use. Each change set is pushed through the real adapter, in its
batches, without the ledger (the write-back's own cost is in the main figures), three ways:

- **bulk, free**: the adapter's own batch size, the emulator without a rate limit;
- **one call per SKU, free**: the same adapter with a batch size of 1, on the first
  ``PER_CALL_SAMPLE`` SKUs (its calls and seconds for all of them are the sample's, scaled);
- **bulk at the limit**: the emulator enforcing the API's rate limit (the same limits as the paced
  write-back), the client pacing itself — Magento and WooCommerce.

What is not waited out is shown as the floor the limit alone imposes on the calls a free run
made: calls over the rate (VTEX, and one call per SKU on the REST channels: 10k calls at 25 a
second is 400 s), or for Shopify the query cost beyond a full bucket over its restore rate
(reading the 10k-item catalogue alone costs ~10k points: 200 s at 50 a second). VTEX has no
bulk stock endpoint: its two figures are the same path.
"""

from __future__ import annotations

import dataclasses
import time

import polars as pl

CHANNEL_STORES = {"shopify": "shopify-es", "magento": "magento-es", "woocommerce": "woo-pt", "vtex": "vtex-br"}
PACED = ("magento", "woocommerce")  # bulk pushes waited out at the limit (the others' floors run to minutes)
NO_BULK = ("vtex",)  # one PUT per SKU is the only way
PER_CALL_SAMPLE = 1_000  # SKUs pushed one call each; the 10k figures are this sample's times ten


def widened(world, skus: int):
    """The world with its catalogue grown to ``skus`` products (the new ones copy an existing row)."""
    products = world.products
    extra = skus - products.height
    if extra <= 0:
        return world
    more = products.sample(
        extra, with_replacement=True, seed=7
    ).with_columns(  # numbered on from the catalogue's last SKU
        sku=pl.format("SKU-{}", pl.int_range(products.height + 1, skus + 1).cast(pl.Utf8).str.zfill(5))
    )
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


def changes(settings, skus: int) -> tuple:
    """The widened world and, per channel, a stock change for each of its ``skus`` SKUs (read from
    the warehouse, read-only: before anything else holds it)."""
    from afterclick import warehouse
    from demo.generate import load_truth

    world = widened(load_truth(settings), skus)
    con_wh = warehouse.connect_read_only(settings.warehouse_path)
    try:
        wanted = {
            ch: _changes(con_wh, world, sid, ch, skus, seed=n) for n, (ch, sid) in enumerate(CHANNEL_STORES.items())
        }
    finally:
        con_wh.close()
    return world, wanted


def _run(
    world, wanted: dict, channel: str, mode: str, paced: bool, limits: dict[str, float], bucket: tuple[float, float]
) -> dict:
    """One way of pushing one channel's changes (see the module docstring): SKUs, calls, seconds."""
    from pydantic import SecretStr

    from afterclick.channels.registry import channel as registered_channel
    from afterclick.channels.store import ChannelStore
    from demo.emulators.server import serve_channels
    from writeback.run import adapter_factory

    store_id = CHANNEL_STORES[channel]
    kwargs = {"shopify_bucket": bucket, "requests_per_second": limits} if paced else {}
    with serve_channels(world, **kwargs) as endpoints:
        url, state = endpoints[store_id]
        rate = registered_channel(channel).requests_per_second if paced else 0.0
        store = ChannelStore(store_id, channel, url, {k: SecretStr(v) for k, v in state.credentials.items()}, rate)
        adapter = adapter_factory({store_id: store}, None, 60.0)("stock", store_id, channel)
        size = 1 if mode == "one call per SKU" else adapter.batch_size
        changes = wanted[channel][:PER_CALL_SAMPLE] if mode == "one call per SKU" else wanted[channel]
        before = len(state.requests)
        t0 = time.perf_counter()
        try:
            if hasattr(adapter, "prepare"):  # as the engine does: told the whole push first (Shopify reads
                adapter.prepare(wanted[channel])  # its catalogue for a bulk one)
            outcomes = [
                o for start in range(0, len(changes), size) for o in adapter.push(changes[start : start + size])
            ]
        finally:
            adapter.close()
        seconds = time.perf_counter() - t0
        calls, pushed = len(state.requests) - before, sum(o.ok for o in outcomes)
        scale = len(wanted[channel]) / len(changes)  # one call per SKU is measured on a sample
        return {
            "skus": pushed,
            "failed": len(outcomes) - pushed,
            "calls": calls,
            "seconds": round(seconds, 2),
            "skus_per_s": round(pushed / seconds) if seconds else None,
            "refused_429": state.throttled,
            "cost": state.cost_spent,
            "scale": scale,
            "all_skus_calls": round(calls * scale),
            "all_skus_seconds": round(seconds * scale, 1),
            "all_skus_cost": round(state.cost_spent * scale),
        }


def at_the_limit(world, wanted: dict, limits: dict[str, float], bucket: tuple[float, float]) -> dict[str, dict]:
    """The bulk pushes waited out at the limit (PACED): they wait on the limit, not on the CPU, so
    the benchmark runs them beside the paced write-back."""
    return {channel: _run(world, wanted, channel, "bulk", True, limits, bucket) for channel in PACED}


def measure(
    world, wanted: dict, limits: dict[str, float], bucket: tuple[float, float], limited: dict[str, dict]
) -> dict:
    """Per channel: SKUs, calls and seconds for each way of pushing (see the module docstring);
    ``limited``: the runs at the limit (``at_the_limit``), measured apart."""

    def floor(channel: str, free: dict) -> float:
        """Seconds the API's limit alone imposes on what a free run asked: calls over the rate, or
        (Shopify) the points beyond a full bucket over the restore rate."""
        if channel == "shopify":
            return round(max(free["all_skus_cost"] - bucket[0], 0) / bucket[1], 1)
        return round(free["all_skus_calls"] / limits[channel], 1)

    out: dict[str, dict] = {}
    for channel in CHANNEL_STORES:
        row = {"one call per SKU": _run(world, wanted, channel, "one call per SKU", False, limits, bucket)}
        row["bulk"] = (
            row["one call per SKU"]
            if channel in NO_BULK
            else _run(world, wanted, channel, "bulk", False, limits, bucket)
        )
        if channel in limited:
            row["bulk at the limit"] = limited[channel]
        row["limit"] = limits[channel] if channel in limits else f"cost bucket {bucket[0]:.0f}/{bucket[1]:.0f}"
        row["bulk at the limit, floor s"] = floor(channel, row["bulk"])
        row["one call per SKU at the limit, floor s"] = floor(channel, row["one call per SKU"])
        out[channel] = row
    return out
