"""The stock and customer marts on the landed demo world: available-to-promise and cohort retention
recomputed independently from the world's ground truth; the snapshot answers the planners' and the
CRM's questions through ``afterclick sql``."""

from __future__ import annotations

import json

import polars as pl
from customer_truth import cohort_cells
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import app
from demo import catalog as cat
from demo.backoffice import purchase_orders, stock_ledger
from demo.generate import load_truth


def _mart(settings, sql: str) -> pl.DataFrame:
    with warehouse.connect(settings) as con:
        return con.sql(sql).pl()


def _truth_atp(world, pairs: pl.DataFrame) -> pl.DataFrame:
    """On hand from the WMS ledger of the world; reserved: lines of orders placed, neither canceled
    nor refunded, whose own parcel has not shipped by the end (a split order's second parcel keeps
    its lines reserved after the first ships), at the warehouse that picked the order's parcels,
    else the store's first; safety stock as the seed says (default 1; electronics and footwear 2)."""
    on_hand = (
        stock_ledger(world, purchase_orders(world, world.seed))
        .filter(pl.col("moved_at") <= world.end)
        .group_by("sku", "warehouse_id")
        .agg(pl.col("quantity").sum().alias("on_hand"))
    )
    picked = world.shipments.group_by("order_id").agg(
        pl.col("warehouse_id").filter(pl.col("picked_at").is_not_null()).min().alias("picked_wh")
    )
    shipped_parcels = world.shipments.filter(pl.col("shipped_at").is_not_null()).select("order_id", "parcel_no")
    first_wh = pl.DataFrame(
        {"store_id": [s.store_id for s in cat.STORES], "store_wh": [s.warehouses[0] for s in cat.STORES]}
    )
    open_orders = (
        world.orders.filter(pl.col("canceled_at").is_null() & pl.col("refunded_at").is_null())
        .join(picked, on="order_id", how="left")
        .join(first_wh, on="store_id")
        .select("order_id", pl.coalesce("picked_wh", "store_wh").alias("warehouse_id"))
    )
    reserved = (
        world.order_lines.join(shipped_parcels, on=["order_id", "parcel_no"], how="anti")
        .join(open_orders, on="order_id")
        .group_by("sku", "warehouse_id")
        .agg(pl.col("quantity").sum().alias("reserved"))
    )
    safety = world.products.select(
        "sku", pl.when(pl.col("category").is_in(["electronics", "footwear"])).then(2).otherwise(1).alias("safety_stock")
    )
    return (
        pairs.join(on_hand, on=["sku", "warehouse_id"], how="left")
        .join(reserved, on=["sku", "warehouse_id"], how="left")
        .join(safety, on="sku", how="left")
        .with_columns(pl.col("on_hand").fill_null(0), pl.col("reserved").fill_null(0))
        .with_columns(available_to_promise=pl.col("on_hand") - pl.col("reserved") - pl.col("safety_stock"))
    )


def test_available_to_promise_matches_the_truth(built):
    settings, *_ = built
    world = load_truth(settings)
    got = _mart(
        settings,
        """select sku, warehouse_id, on_hand, reserved, safety_stock, available_to_promise
                             from marts.fct_stock_levels where is_current""",
    )
    # every SKU and warehouse with stock in the world, and those the mart has (a pair whose only
    # activity was a canceled order has a current row with nothing on hand or reserved)
    stocked = stock_ledger(world, purchase_orders(world, world.seed)).select("sku", "warehouse_id")
    pairs = pl.concat([stocked, got.select("sku", "warehouse_id")]).unique()
    truth = _truth_atp(world, pairs)
    assert got.height == truth.height > 100
    joined = truth.join(got, on=["sku", "warehouse_id"], how="left", suffix="_mart")
    for col in ("on_hand", "reserved", "safety_stock", "available_to_promise"):
        bad = joined.filter(pl.col(col).ne_missing(pl.col(f"{col}_mart")))
        assert bad.is_empty(), (col, bad.head(5))
    # the demo has all three situations the planners care about
    assert (truth["available_to_promise"] < 0).any() and (truth["reserved"] > 0).sum() > 10


def test_stock_history_rebuilds_the_opening_snapshot(built):
    """The first day's stock comes from rolling the movement ledger back from the latest snapshot;
    it must equal what the opening snapshot counted."""
    settings, *_ = built
    world = load_truth(settings)
    day = _mart(
        settings,
        f"""
        select l.sku, l.warehouse_id, l.on_hand, s.on_hand as counted
        from marts.fct_stock_levels as l
        inner join staging.stg_wms__stock_snapshots as s
            on l.sku = s.sku and l.warehouse_id = s.warehouse_id and s.snapshot_at = timestamp '{world.start}'
        where l.stock_date = date '{world.start.date()}'""",
    )
    moved_that_day = _mart(
        settings,
        f"""
        select sku, warehouse_id, sum(signed_quantity) as moved from staging.stg_wms__stock_movements
        where moved_at > timestamp '{world.start}' and cast(moved_at as date) = date '{world.start.date()}'
        group by all""",
    )
    day = day.join(moved_that_day, on=["sku", "warehouse_id"], how="left").with_columns(pl.col("moved").fill_null(0))
    assert day.height > 100
    assert day.filter(pl.col("on_hand") != pl.col("counted") + pl.col("moved")).is_empty()


def test_cohort_retention_matches_the_truth(built):
    settings, *_ = built
    truth = cohort_cells(load_truth(settings))
    got = _mart(
        settings,
        """select cohort_month, cast(months_since_first as bigint) as months_since_first, cohort_size,
                                    active_customers, orders, retention_rate
                             from marts.rpt_cohort_retention where active_customers > 0""",
    )
    joined = truth.join(got, on=["cohort_month", "months_since_first"], how="full", suffix="_mart")
    for col in ("cohort_size", "active_customers", "orders"):
        bad = joined.filter(pl.col(col).ne_missing(pl.col(f"{col}_mart")))
        assert bad.is_empty(), (col, bad.head(5))
    assert (
        got.filter(pl.col("months_since_first") == 0)["retention_rate"].to_list()
        == [1.0] * truth["cohort_month"].n_unique()
    )
    assert (got["months_since_first"] >= 2).any()  # repeat buyers beyond the first months


def test_customers_are_people_across_channels_with_scores_and_predictions(built):
    settings, *_ = built
    world = load_truth(settings)
    customers = _mart(settings, "select * from marts.dim_customers")
    truth_people = cohort_cells(world).filter(pl.col("months_since_first") == 0)["cohort_size"].sum()
    assert customers.height == truth_people
    assert customers.filter(pl.col("channels") > 1).height > 0  # someone bought in two channels
    for col in ("rfm_recency", "rfm_frequency", "rfm_monetary"):
        assert set(customers[col].unique()) <= {1, 2, 3, 4, 5} and customers[col].n_unique() >= 2
    assert customers["rfm_segment"].null_count() == 0 and customers["rfm_segment"].n_unique() >= 5
    assert customers["p_alive"].is_between(0, 1).all()
    repeat = customers.filter(pl.col("orders") >= 3)["expected_orders_12m"].mean()
    single = customers.filter(pl.col("orders") == 1)["expected_orders_12m"].mean()
    assert repeat > single  # the purchase model ranks frequent buyers higher
    assert (customers["historic_ltv_margin_rc"] <= customers["historic_ltv_net_rc"] + 0.01).all()


def test_the_snapshot_answers_stockouts_retention_and_ltv_to_cac(built_env):
    settings, *_ = built_env
    warehouse.publish(settings)
    runner = CliRunner()

    def ask(sql: str) -> list[dict]:
        result = runner.invoke(app, ["sql", "-f", "json", sql])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    soon = ask("""select sku, warehouse_id, atp_sellable, days_of_cover, projected_stockout_date, next_inbound_date
                  from fct_stock_levels
                  where is_current and not is_stockout and projected_stockout_date <= stock_date + 7
                    and (next_inbound_date is null or next_inbound_date > projected_stockout_date)
                  order by days_of_cover""")
    assert soon and all(r["days_of_cover"] <= 7.99 for r in soon)
    january = ask("""select cohort_month, months_since_first, retention_rate from rpt_cohort_retention
                     where cohort_month = date '2026-08-01' and months_since_first = 2""")
    assert len(january) == 1 and 0 < january[0]["retention_rate"] < 1
    ltv_cac = ask("""select channel, sum(spend_rc) / sum(new_customers) as cac_rc,
                            sum(ltv_12m_projected_rc * new_customers) / sum(new_customers) as ltv_12m_rc,
                            (sum(ltv_12m_projected_rc * new_customers) / sum(new_customers))
                              / (sum(spend_rc) / sum(new_customers)) as ltv_to_cac
                     from rpt_acquisition where new_customers > 0 group by channel order by channel""")
    assert {r["channel"] for r in ltv_cac} == set(cat.CHANNELS)
    assert all(r["ltv_to_cac"] > 0 for r in ltv_cac)


def test_clv_is_refitted_when_asked_or_stale_and_otherwise_scored_with_the_last_fit(wb):
    """The costly fit (int_clv_fit) is kept between builds: a later build scores every customer's
    history with it, the pipeline's refit (var clv_refit) and a fit older than clv_refit_days add a
    fit, and a refit's predictions are afterclick.clv's fit-and-predict on the same history."""
    from datetime import timedelta

    from afterclick import clv
    from afterclick.transform import run_dbt
    from tests.conftest import HELD_BACK_DAYS, WORLD_END

    select = "int_clv_fit int_customer_predictions"
    fits = lambda: _mart(wb, "select * from intermediate.int_clv_fit order by fitted_as_of")  # noqa: E731
    preds = lambda: _mart(wb, "select * from intermediate.int_customer_predictions order by customer_key")  # noqa: E731
    before_fits, before = fits(), preds()
    # `built`'s first build fitted as of its own instant; its second found that fit stale (a
    # --full-refresh of `built` by another test leaves only the last)
    earlier = before_fits["fitted_as_of"].to_list()
    assert earlier in ([WORLD_END - timedelta(days=HELD_BACK_DAYS), WORLD_END], [WORLD_END])

    wb.as_of = WORLD_END + timedelta(days=2)
    assert run_dbt(wb, "build", select=select).status == "success"
    assert fits().equals(before_fits)  # no refit two days on…
    scored = preds()
    assert (scored["fitted_as_of"] == WORLD_END).all()
    assert scored["p_alive"].to_list() != before["p_alive"].to_list()  # …but everyone scored two days later

    assert run_dbt(wb, "build", select=select, clv_refit=True).status == "success"
    assert fits()["fitted_as_of"].to_list() == [*earlier, wb.as_of]
    orders = _mart(wb, "select * from intermediate.int_customer_orders where not is_canceled")
    summary = clv.summarise(
        orders, customer="customer_key", at="placed_at", value="net_sales_rc", observed_until=wb.as_of, period_days=7.0
    )
    expected = (
        clv.predict(summary, horizon_periods=365 / 7.0)
        .customers.select("customer_key", pl.col("p_alive").round(4), pl.col("predicted_clv").round(2))
        .sort("customer_key")
    )
    refitted = preds()
    assert (refitted["fitted_as_of"] == wb.as_of).all()
    assert refitted.select("customer_key", "p_alive", pl.col("predicted_clv_12m").alias("predicted_clv")).equals(
        expected
    )

    wb.as_of = WORLD_END + timedelta(days=10)  # eight days after the last fit: over clv_refit_days (7)
    assert run_dbt(wb, "build", select=select).status == "success"
    assert fits()["fitted_as_of"].to_list() == [*earlier, WORLD_END + timedelta(days=2), wb.as_of]


def test_stock_history_replayed_at_an_earlier_as_of_equals_a_rebuild(wb):
    """An incremental build of the stock history as of an earlier instant (a replay) drops the days
    past it and moves is_current back; it equals the same history built from scratch."""
    from datetime import timedelta

    from afterclick.transform import run_dbt
    from tests.conftest import WORLD_END

    history = lambda: _mart(wb, "select * from marts.fct_stock_levels order by stock_level_key")  # noqa: E731
    wb.as_of = WORLD_END - timedelta(days=5)
    select = "dim_dates fct_stock_levels"
    assert run_dbt(wb, "build", select=select).status == "success"
    replayed = history()
    assert replayed["stock_date"].max() == wb.as_of.date()
    current = replayed.filter(pl.col("is_current"))
    assert current.height == replayed.select("sku", "warehouse_id").unique().height
    assert (current["stock_date"] == wb.as_of.date()).all()
    assert run_dbt(wb, "build", select=select, extra_args=["--full-refresh"]).status == "success"
    assert history().equals(replayed)
