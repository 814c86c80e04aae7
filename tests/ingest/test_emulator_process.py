"""`afterclick emulate`: the demo channel stores and mailbox served by a process of their own, read
through ``channel_stores`` settings exactly as real stores are, and keeping what they were told."""

import os
import signal
import smtplib
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from afterclick import warehouse
from afterclick.settings import ChannelStoreSettings
from demo.emulators.server import emulator_process
from demo.generate import load_truth
from demo.mailbox import messages
from ingest.run import ingest_channel_apis
from tests.conftest import WORLD_END
from tests.ingest.emulated_stores import children as _children
from tests.ingest.emulated_stores import gone as _gone


def _stopped_cleanly(proc, stores_file) -> None:
    assert proc.returncode == 0  # SIGTERM: a clean stop
    assert not stores_file.exists()  # gone with the stores: nobody reads a dead address


def test_a_separate_emulator_process_serves_the_demo_stores_as_of_the_clock(settings, small_world):
    world = load_truth(settings)
    as_of = WORLD_END - timedelta(days=5)
    stores_file = settings.root / "stores.json"
    with emulator_process(stores_file, as_of, timeout=120) as (proc, reach):
        stores, smtp = reach["channel_stores"], reach["smtp"]
        with smtplib.SMTP(smtp["host"], smtp["port"]) as client:  # the customers' mailbox answers too
            client.sendmail("shop@afterclick.invalid", ["ana@example.com"], b"Subject: hello\r\n\r\nhi")
        assert {cfg["channel"] for cfg in stores.values()} == {"shopify", "vtex", "magento", "woocommerce"}
        settings.channel_stores = {sid: ChannelStoreSettings(**cfg) for sid, cfg in stores.items()}
        landed = ingest_channel_apis(settings)
    _stopped_cleanly(proc, stores_file)
    assert sum(x.rows_landed for x in landed) > 0
    truth = world.orders.filter(pl.col("placed_at") <= as_of).group_by("store_id").len()
    assert _orders_per_store(settings) == {sid: n for sid, n in truth.iter_rows() if sid in stores}

    # a later clock in a new process: the next landing brings the last days' orders and changes only
    assert [m["Subject"] for m in messages(settings.demo_dir / "mailbox")] == ["hello"]
    with emulator_process(stores_file, WORLD_END, timeout=120) as (proc, reach):
        stores = reach["channel_stores"]
        settings.channel_stores = {sid: ChannelStoreSettings(**cfg) for sid, cfg in stores.items()}
        later = ingest_channel_apis(settings)
    _stopped_cleanly(proc, stores_file)
    changed = (
        world.order_events.filter(pl.col("occurred_at") > as_of)
        .join(world.orders, on="order_id")
        .group_by("store_id")
        .agg(pl.col("order_id").n_unique())
    )
    assert sum(x.rows_landed for x in later if x.table.endswith("__orders")) == sum(
        n for sid, n in changed.iter_rows() if sid in stores
    )
    truth = world.orders.group_by("store_id").len()
    assert _orders_per_store(settings) == {sid: n for sid, n in truth.iter_rows() if sid in stores}


def _orders_per_store(settings) -> dict[str, int]:
    con = warehouse.connect(settings)
    try:
        return dict(
            con.execute(
                " union all ".join(
                    f"select _store, count(distinct id) from raw.{c}__orders group by 1"
                    for c in ("shopify", "vtex", "magento", "woocommerce")
                )
            ).fetchall()
        )
    finally:
        con.close()


def test_a_burst_of_stop_signals_stops_it_cleanly(settings, small_world):
    """`uv run afterclick emulate` and Ctrl-C deliver two signals at once; one arriving inside the
    first one's handler once deadlocked the process (the handler took a lock). A burst of SIGTERMs
    hit that in one of three tries; each try must now end with a clean stop."""
    stores_file = settings.root / "stores.json"
    for _ in range(2):
        with emulator_process(stores_file, timeout=120) as (proc, _):
            for _ in range(200):
                proc.send_signal(signal.SIGTERM)
            try:
                assert proc.wait(30) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError("afterclick emulate hung on a burst of SIGTERMs") from None
        _stopped_cleanly(proc, stores_file)


def _until(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_each_store_is_served_by_a_process_of_its_own_with_only_its_share_of_the_world(settings, small_world):
    """Five API stores, five store processes beside the mailbox's, each answering for its store
    only; a store's share of the world is exactly the world's rows for that store."""
    world = load_truth(settings)
    share = load_truth(settings, stores=["vtex-br"])
    assert share.orders.equals(world.orders.filter(pl.col("store_id") == "vtex-br"))
    ids = share.orders.select("order_id")
    for name in ("order_lines", "shipments", "order_events", "returns"):
        assert getattr(share, name).equals(getattr(world, name).join(ids, on="order_id", how="semi")), name
    assert share.tracking_events.equals(
        world.tracking_events.join(share.shipments.select("tracking_number"), on="tracking_number", how="semi")
    )
    stores_file = settings.root / "stores.json"
    with emulator_process(stores_file, timeout=120) as (proc, reach):
        stores = reach["channel_stores"]
        commands = [Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0") for c in _children(proc.pid)]
        served = sorted(c[c.index(b"--store") + 1].decode() for c in commands if b"--store" in c)
        assert served == sorted(stores) and len(stores) == 5
    _stopped_cleanly(proc, stores_file)


def test_a_store_process_that_dies_stops_the_rest_and_a_killed_supervisor_leaves_no_store_behind(settings, small_world):
    stores_file = settings.root / "stores.json"
    with emulator_process(stores_file, timeout=120) as (proc, _):
        first = _children(proc.pid)
        store = next(c for c in first if b"--store" in Path(f"/proc/{c}/cmdline").read_bytes())
        os.kill(store, signal.SIGKILL)
        assert _until(lambda: proc.poll() is not None), "the supervisor kept serving without a store"
        assert proc.returncode != 0
        assert not stores_file.exists()  # nobody reads a dead address
        assert all(_until(lambda c=c: _gone(c)) for c in first)
    with emulator_process(stores_file, timeout=120) as (proc, _):
        stores = [c for c in _children(proc.pid) if b"--store" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(stores) == 5
        proc.kill()  # no chance to stop them: they notice their parent is gone
        assert all(_until(lambda c=c: _gone(c)) for c in stores), "a store process outlived its supervisor"
