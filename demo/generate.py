"""``afterclick generate``: simulate the demo world and write what its systems hold.

Writes ``<state>/demo/truth/*.parquet`` (the ground truth that tests, benchmarks and the
channel emulators read) and drops the file-based sources' exports into their inboxes
under ``<state>/landing/``.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

import polars as pl

from afterclick.settings import Settings
from demo.backoffice import write_backoffice_exports
from demo.exports import write_marketplace_exports
from demo.world import World, simulate


def default_end() -> datetime:
    """The demo world ends at the most recent midnight (UTC), so it looks current."""
    return datetime.combine(datetime.now(UTC).date(), dtime(0, 0))


def inbox_for(settings: Settings):
    def _inbox(source: str, store: str) -> Path:
        return settings.landing_dir / source / store / "inbox"

    return _inbox


def generate(settings: Settings, orders: int, days: int, seed: int, end: datetime | None = None) -> dict:
    """Generate a fresh world (replacing any previous one) and return its summary."""
    started = time.perf_counter()
    end = end or default_end()
    world = simulate(orders=orders, days=days, seed=seed, end=end)
    truth_dir = settings.demo_dir / "truth"
    if settings.demo_dir.exists():
        shutil.rmtree(settings.demo_dir)
    for source_dir in ("marketplace", "wms", "carriers", "marketing"):  # file sources it feeds: start them empty
        shutil.rmtree(settings.landing_dir / source_dir, ignore_errors=True)
    truth_dir.mkdir(parents=True)
    for name, frame in world.tables().items():
        frame.write_parquet(truth_dir / f"{name}.parquet")
    files = write_marketplace_exports(world, inbox_for(settings))
    backoffice = write_backoffice_exports(world, settings.demo_dir, settings.landing_dir, seed)
    summary = {
        "orders": world.orders.height,
        "order_lines": world.order_lines.height,
        "customers": world.customers.height,
        "shipments": world.shipments.height,
        "orders_by_channel": dict(world.orders.group_by("channel").len().sort("channel").iter_rows()),
        "orders_by_store": dict(world.orders.group_by("store_id").len().sort("store_id").iter_rows()),
        "start": world.start.isoformat(),
        "end": world.end.isoformat(),
        "seed": seed,
        "marketplace_files": files,
        "back_office": backoffice,
        "seconds": round(time.perf_counter() - started, 2),
        "path": str(settings.demo_dir),
    }
    (settings.demo_dir / "world.json").write_text(json.dumps(summary, indent=2))
    return summary


def load_truth(settings: Settings, stores: list[str] | None = None) -> World:
    """Read the ground truth back (tests and emulators use it); ``stores``: only those stores' orders
    and what hangs off them (lines, events, shipments and their tracking, returns), read lazily so
    a process serving one store of a large world never holds the rest."""
    meta = json.loads((settings.demo_dir / "world.json").read_text())
    truth = settings.demo_dir / "truth"
    if stores is None:
        frames = {name: pl.read_parquet(truth / f"{name}.parquet") for name in World.TABLES}
    else:
        scans = {name: pl.scan_parquet(truth / f"{name}.parquet") for name in World.TABLES}
        orders = scans["orders"].filter(pl.col("store_id").is_in(stores)).collect()
        of_orders = orders.select("order_id").lazy()
        frames = {
            **{name: scans[name].collect() for name in ("stores", "products", "customers")},
            "orders": orders,
            **{
                name: scans[name].join(of_orders, on="order_id", how="semi").collect()
                for name in ("order_lines", "shipments", "order_events", "returns")
            },
        }
        frames["tracking_events"] = (
            scans["tracking_events"]
            .join(frames["shipments"].lazy().select("tracking_number"), on="tracking_number", how="semi")
            .collect()
        )
    return World(
        start=datetime.fromisoformat(meta["start"]),
        end=datetime.fromisoformat(meta["end"]),
        seed=meta["seed"],
        **frames,
    )
