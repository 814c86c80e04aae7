"""The demo world is deterministic, scales linearly and is internally consistent."""

from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo.world import simulate

END = datetime(2026, 11, 1)


def test_same_seed_and_end_give_the_same_world():
    a, b = simulate(2000, 120, 5, END), simulate(2000, 120, 5, END)
    for name in a.TABLES:
        assert_frame_equal(getattr(a, name), getattr(b, name))


def test_another_seed_gives_another_world():
    a, b = simulate(2000, 120, 5, END), simulate(2000, 120, 6, END)
    assert a.orders["total"].sum() != b.orders["total"].sum()


def test_generates_exactly_the_requested_orders_and_scales_linearly():
    small, large = simulate(2_000, 180, 1, END), simulate(8_000, 180, 1, END)
    assert (small.orders.height, large.orders.height) == (2_000, 8_000)
    ratio = large.order_lines.height / small.order_lines.height
    assert 3.7 < ratio < 4.3
    assert 3.5 < large.shipments.height / small.shipments.height < 4.5


@pytest.fixture(scope="module")
def world():
    return simulate(5_000, 365, 9, END)


def test_money_adds_up(world):
    o = world.orders
    diff = (o["total"] - (o["gross"] - o["discount"] + o["shipping"] + o["tax"])).abs().max()
    assert diff < 0.011
    lines = world.order_lines.group_by("order_id").agg(pl.col("gross").sum().round(2))
    joined = o.select("order_id", "gross").join(lines, on="order_id", suffix="_lines")
    assert (joined["gross"] - joined["gross_lines"]).abs().max() < 0.011


def test_nothing_happens_after_the_end_and_stages_are_in_order(world):
    assert world.order_events["occurred_at"].max() < END
    s = world.shipments.drop_nulls("delivered_at")
    assert (s["delivered_at"] >= s["shipped_at"]).all()
    assert (s["shipped_at"] >= s["packed_at"]).all() and (s["packed_at"] >= s["picked_at"]).all()
    placed = world.orders.select("order_id", "placed_at")
    first = world.order_events.group_by("order_id").agg(pl.col("occurred_at").min()).join(placed, on="order_id")
    assert (first["occurred_at"] == first["placed_at"]).all()


def test_customers_come_back_across_months_and_channels(world):
    per_customer = world.orders.group_by("customer_id").agg(
        pl.len().alias("orders"),
        pl.col("store_id").n_unique().alias("stores"),
        (pl.col("placed_at").max() - pl.col("placed_at").min()).dt.total_days().alias("span_days"),
    )
    repeaters = per_customer.filter(pl.col("orders") > 1)
    assert repeaters.height / per_customer.height > 0.2
    assert (repeaters["span_days"] > 60).sum() > 100
    assert (per_customer["stores"] > 1).sum() > 50


def test_the_world_has_the_messy_parts_operations_care_about(world):
    stages = set(world.order_events["stage"].unique())
    assert {"canceled", "refunded", "return_requested", "return_received", "delivery_attempt_failed"} <= stages
    assert world.shipments.group_by("order_id").len().filter(pl.col("len") > 1).height > 50  # split orders
    late = world.shipments.filter(pl.col("delivered_at") > pl.col("promised_delivery_at"))
    assert late.height > 0
    assert {"customer", "carrier"} == set(world.returns["initiator"].unique())
    assert {"attempt_failed", "exception", "returned_to_sender"} <= set(world.tracking_events["canonical_status"])


def test_every_order_is_placed_inside_the_window_even_at_scale():
    world = simulate(200_000, 365, 1, END)  # rare tiny purchase rates once overflowed into negative times
    placed = world.orders["placed_at"]
    assert placed.null_count() == 0
    assert placed.min() >= world.start and placed.max() < END
