"""`afterclick emulate`: the demo channel stores and mailbox served by a process of their own, read
through ``channel_stores`` settings exactly as real stores are, and keeping what they were told."""

import signal
import smtplib
import subprocess
from datetime import timedelta

import polars as pl

from afterclick import warehouse
from afterclick.demo.emulators.server import emulator_process
from afterclick.demo.generate import load_truth
from afterclick.demo.mailbox import messages
from afterclick.settings import ChannelStoreSettings
from ingest.run import ingest_channel_apis
from tests.conftest import WORLD_END


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
    changed = (world.order_events.filter(pl.col("occurred_at") > as_of).join(world.orders, on="order_id")
               .group_by("store_id").agg(pl.col("order_id").n_unique()))
    assert sum(x.rows_landed for x in later if x.table.endswith("__orders")) == sum(
        n for sid, n in changed.iter_rows() if sid in stores)
    truth = world.orders.group_by("store_id").len()
    assert _orders_per_store(settings) == {sid: n for sid, n in truth.iter_rows() if sid in stores}


def _orders_per_store(settings) -> dict[str, int]:
    con = warehouse.connect(settings)
    try:
        return dict(con.execute(" union all ".join(
            f"select _store, count(distinct id) from raw.{c}__orders group by 1"
            for c in ("shopify", "vtex", "magento", "woocommerce"))).fetchall())
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
