"""The order-cycle and delivery marts, built by a real dbt run on a landed demo world, against its
ground truth; the incremental build equals a full refresh; the snapshot answers the operators'
questions through ``afterclick sql``."""

from __future__ import annotations

import json

import polars as pl
import yaml
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import app
from afterclick.transform import DBT_PROJECT_DIR, run_dbt
from demo.generate import load_truth
from tests.conftest import outside_world_env


def test_dbt_build_passes_every_test_first_and_incrementally(built):
    _, first, second = built
    for result in (first, second):
        assert result.status == "success", result.errors
        assert result.tests_failed == 0 and result.tests_passed > 100


def test_builds_leave_the_unit_tests_to_the_test_suite_where_every_one_passes(built, wb):
    """The unit tests check the models' SQL on fixed inputs: builds skip them (dbt_unit_tests is off
    by default) and this test runs every one of them declared in the project's YAML."""
    declared = sum(
        len((yaml.safe_load(path.read_text()) or {}).get("unit_tests") or [])
        for path in (DBT_PROJECT_DIR / "models").rglob("*.yml")
    )
    assert declared >= 14
    assert all(result.unit_tests_passed == 0 for result in built[1:])
    unit = run_dbt(wb, "test", select="test_type:unit")
    assert unit.status == "success", unit.errors
    assert unit.unit_tests_passed == declared and unit.tests_failed == 0


def _truth_delivery(world) -> pl.DataFrame:
    exceptions = (
        world.tracking_events.filter(pl.col("canonical_status") == "exception")
        .select("tracking_number")
        .unique()
        .with_columns(has_exception=pl.lit(True))
    )
    parcels = (
        world.shipments.with_columns(parcel_count=pl.len().over("order_id"))
        .filter(pl.col("shipped_at").is_not_null())
        .join(world.orders.select("order_id", "store_id", "placed_at"), on="order_id")
        .join(world.stores.select("store_id", "timezone", pl.col("country").alias("region")), on="store_id")
        .join(exceptions, on="tracking_number", how="left")
        .with_columns(
            on_time=pl.col("delivered_at") < pl.col("promised_delivery_at"),
            click_to_door=(pl.col("delivered_at") - pl.col("placed_at")).dt.total_seconds() / 3600,
        )
    )
    orders = parcels.group_by("order_id").agg(
        all_delivered=pl.col("delivered_at").is_not_null().all() & (pl.len() == pl.col("parcel_count").first()),
        all_on_time=pl.col("on_time").fill_null(False).all(),
        last_shipped=pl.col("shipped_at").max(),
    )
    parcels = parcels.join(orders, on="order_id").with_columns(
        order_otif=pl.when(pl.col("all_delivered") & (pl.col("shipped_at") == pl.col("last_shipped"))).then(
            pl.col("all_on_time")
        )
    )
    # the ship day is the store's local day
    ship_date = pl.coalesce(
        pl.when(pl.col("timezone") == zone).then(
            pl.col("shipped_at").dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.date()
        )
        for zone in world.stores["timezone"].unique()
    )
    return parcels.group_by(ship_date.alias("ship_date"), "carrier", "warehouse_id", "region").agg(
        shipments=pl.len(),
        delivered=pl.col("delivered_at").is_not_null().sum(),
        delivered_on_time=pl.col("on_time").fill_null(False).sum(),
        first_attempt=((pl.col("attempts") == 1) & pl.col("delivered_at").is_not_null()).sum(),
        exceptions=pl.col("has_exception").fill_null(False).sum(),
        otif=pl.col("order_otif").fill_null(False).sum(),
        otif_orders=pl.col("order_otif").is_not_null().sum(),
        click_to_door_p50=pl.col("click_to_door").quantile(0.5, "linear"),
        click_to_door_p90=pl.col("click_to_door").quantile(0.9, "linear"),
    )


def test_delivery_daily_matches_an_independent_recomputation_from_the_truth(built):
    settings, *_ = built
    truth = _truth_delivery(load_truth(settings))
    with warehouse.connect(settings) as con:
        got = con.sql("""
            select ship_date, carrier, warehouse_id, region, shipments, delivered, delivered_on_time,
                   cast(round(first_attempt_success_rate * delivered) as bigint) as first_attempt,
                   cast(round(exception_rate * shipments) as bigint) as exceptions,
                   click_to_door_hours_p50 as click_to_door_p50, click_to_door_hours_p90 as click_to_door_p90,
                   on_time_rate, otif_rate
            from marts.rpt_delivery_daily""").pl()
    joined = truth.join(
        got, on=["ship_date", "carrier", "warehouse_id", "region"], how="full", suffix="_mart", coalesce=True
    )
    assert joined.height == truth.height == got.height
    for column in ("shipments", "delivered", "delivered_on_time", "first_attempt", "exceptions"):
        diff = joined.filter(pl.col(column) != pl.col(f"{column}_mart"))
        assert diff.is_empty(), (column, diff.head())
    # carrier files carry minutes: a duration may be off by less than one minute, never more
    for column in ("click_to_door_p50", "click_to_door_p90"):
        off = joined.select((pl.col(column) - pl.col(f"{column}_mart")).abs().max()).item()
        assert off is None or off < 1 / 60 + 1e-9, column
    rates = (
        joined.filter(pl.col("otif_orders") > 0)
        .select((pl.col("otif") / pl.col("otif_orders") - pl.col("otif_rate")).abs().max())
        .item()
    )
    assert rates < 1e-9
    assert 0.5 < got["on_time_rate"].mean() < 1.0  # a meaningful mix, not all or nothing


def test_order_events_show_every_system_for_every_channel(built):
    settings, *_ = built
    with warehouse.connect(settings) as con:
        seen = con.sql("""select o.channel, e.stage from marts.fct_order_events as e
                          join marts.fct_orders as o using (order_key) group by 1, 2""").fetchall()
        cycle = con.sql("select count(*), count(delivered_at), count(closed_at) from marts.fct_order_cycle").fetchall()[
            0
        ]
        lines = con.sql("select count(*), sum(quantity) from marts.fct_order_lines").fetchall()[0]
    by_channel: dict[str, set] = {}
    for channel, stage in seen:
        by_channel.setdefault(channel, set()).add(stage)
    assert set(by_channel) == {"shopify", "vtex", "magento", "woocommerce", "marketplace"}
    for channel, stages in by_channel.items():
        assert {"placed", "invoiced", "picked", "packed", "shipped", "delivered"} <= stages, channel
    truth = load_truth(settings).orders
    assert cycle[0] == truth.height
    assert cycle[1] == truth["delivered_at"].is_not_null().sum()
    truth_lines = load_truth(settings).order_lines
    assert lines == (truth_lines.height, truth_lines["quantity"].sum())


def test_the_snapshot_answers_on_time_by_carrier_and_stuck_in_picking(built_env):
    settings, *_ = built_env
    warehouse.publish(settings)
    runner = CliRunner()
    on_time = runner.invoke(
        app,
        [
            "sql",
            "-f",
            "json",
            """
        select carrier, sum(delivered_on_time) * 1.0 / sum(delivered) as on_time_rate
        from rpt_delivery_daily
        where ship_date >= cast(timestamp '2026-11-01' - interval 30 day as date)
        group by carrier order by carrier""",
        ],
    )
    assert on_time.exit_code == 0, on_time.output
    rates = {r["carrier"]: r["on_time_rate"] for r in json.loads(on_time.output)}
    assert set(rates) == {"correos", "seur", "mrw", "ctt", "correios", "jadlog", "estafeta", "dhl"}
    stuck = runner.invoke(
        app,
        [
            "sql",
            "-f",
            "json",
            """
        select order_key, stage, hours_stuck, system_responsible from rpt_stuck_orders
        where stage = 'picked' and hours_stuck > 24 order by hours_stuck desc""",
        ],
    )
    assert stuck.exit_code == 0, stuck.output
    rows = json.loads(stuck.output)
    assert rows and all(r["hours_stuck"] > 24 and r["system_responsible"] == "wms" for r in rows)


def test_incremental_marts_equal_a_full_refresh(built_env, monkeypatch):
    """The second build of `built` was incremental, on the channels' last weeks and the late files:
    every incremental model (the staging of what channel orders carry and of the warehouse's and
    carriers' events, the order lines and events, the stock history) and what is built on them must
    equal a build from scratch (with the demo stores configured as for those builds)."""
    settings, *_ = built_env
    tables = (
        "marts.fct_order_events",
        "marts.fct_order_lines",
        "marts.fct_order_cycle",
        "marts.fct_shipments",
        "marts.rpt_delivery_daily",
        "marts.fct_returns",
        "marts.fct_orders",
        "marts.fct_payments",
        "marts.fct_stock_levels",
        "marts.rpt_stock_health",
        "marts.fct_channel_stock",
        "staging.stg_wms__stock_movements",
        "staging.stg_wms__fulfilment_events",
        "staging.stg_tracking_api__events",
        "staging.stg_carrier_files__status_events",
        "intermediate.int_parcels",
        "intermediate.int_tracking_events",
        "intermediate.int_orders_unioned",
        "intermediate.int_order_lines_unioned",
        "intermediate.int_channel_refunds",
        "intermediate.int_channel_fulfillments",
        *(
            f"staging.stg_{channel}__{entity}"
            for channel in ("shopify", "vtex", "magento", "woocommerce")
            for entity in ("orders", "order_lines", "payments")
        ),
    )

    def snapshot():
        with warehouse.connect(settings) as con:
            return {
                t: sorted(
                    map(
                        repr,
                        con.sql(
                            f"select * exclude (_loaded_at) from {t}"
                            if "_loaded_at" in [c[0] for c in con.sql(f"describe {t}").fetchall()]
                            else f"select * from {t}"
                        ).fetchall(),
                    )
                )
                for t in tables
            }

    incremental = snapshot()
    with outside_world_env(settings, monkeypatch):  # the stores' profiles, as the builds had them
        full = run_dbt(settings, "build", extra_args=["--full-refresh"])
    assert full.status == "success", full.errors
    refreshed = snapshot()
    for table in tables:
        assert incremental[table] == refreshed[table], table
