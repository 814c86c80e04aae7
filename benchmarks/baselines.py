"""The naive ways to the same marts, measured in the same run as the platform's own:

- **full refresh**: ``dbt build --full-refresh`` (every incremental model rebuilt from scratch)
  against the incremental build of the cycle;
- **pandas**: the order-cycle table (the first instant of each stage per order, hours from click to
  door) and the cohort retention table (customers active per cohort month and month since their
  first order), computed with pandas from the same intermediate tables the dbt models read, against
  dbt's time for ``fct_order_cycle`` and ``rpt_cohort_retention``. Each result is compared with the
  mart, so a baseline that computes something else shows as a low agreement, not as a fast time.
"""

from __future__ import annotations

import time

import duckdb
import pandas as pd

STAGES = ("placed", "paid", "shipped", "delivered")


def pandas_order_cycle(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    events = con.sql(
        "select order_key, stage, occurred_at, shipment_id, parcel_count from intermediate.int_order_events"
    ).df()
    # order-level stages: the first time; parcel stages: when the last parcel got there (all of them)
    events["shipment_id"] = events["shipment_id"].fillna("")
    per_parcel = events.groupby(["order_key", "stage", "shipment_id"])["occurred_at"].min().reset_index()
    reached = per_parcel.groupby(["order_key", "stage"]).agg(
        at=("occurred_at", "max"), parcels=("shipment_id", "nunique")
    )
    expected = events.groupby("order_key")["parcel_count"].max().fillna(1).clip(lower=1)
    parcel_stage = reached.index.get_level_values("stage").isin(("shipped", "delivered"))
    short = parcel_stage & (
        reached["parcels"].to_numpy() < expected.reindex(reached.index.get_level_values("order_key")).to_numpy()
    )
    first = reached["at"].where(~short).unstack("stage")
    cycle = pd.DataFrame({f"{s}_at": first.get(s, pd.NaT) for s in STAGES}, index=first.index)
    cycle["hours_click_to_door"] = (cycle["delivered_at"] - cycle["placed_at"]).dt.total_seconds() / 3600
    return cycle, time.perf_counter() - t0


def pandas_cohorts(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    orders = con.sql("select customer_key, placed_at from intermediate.int_customer_orders where not is_canceled").df()
    month = orders["placed_at"].dt.to_period("M")
    orders["cohort"] = month.groupby(orders["customer_key"]).transform("min")
    orders["since"] = (month - orders["cohort"]).apply(lambda offset: offset.n)
    sizes = orders.groupby("cohort")["customer_key"].nunique()
    active = orders.groupby(["cohort", "since"])["customer_key"].nunique().rename("active_customers").reset_index()
    active["retention_rate"] = (active["active_customers"] / active["cohort"].map(sizes)).round(4)
    return active, time.perf_counter() - t0


def measure(warehouse_path: str, node_timings: dict[str, float]) -> dict:
    """Both pandas baselines on the built warehouse, each with dbt's time for its mart and how
    far the two results agree."""
    con = duckdb.connect(warehouse_path, read_only=True)
    try:
        cycle, cycle_s = pandas_order_cycle(con)
        mart = con.sql("select order_key, delivered_at from marts.fct_order_cycle").df().set_index("order_key")
        joined = mart.join(cycle[["delivered_at"]], rsuffix="_pandas", how="inner")
        same = (
            (joined["delivered_at"] == joined["delivered_at_pandas"])
            | (joined["delivered_at"].isna() & joined["delivered_at_pandas"].isna())
        ).mean()
        cohorts, cohorts_s = pandas_cohorts(con)
        dbt_cohorts = con.sql(
            "select cohort_month, months_since_first, active_customers from marts.rpt_cohort_retention "
            "where active_customers > 0"
        ).df()
        dbt_cohorts["cohort"] = pd.PeriodIndex(pd.to_datetime(dbt_cohorts["cohort_month"]), freq="M")
        both = dbt_cohorts.merge(
            cohorts,
            left_on=["cohort", "months_since_first"],
            right_on=["cohort", "since"],
            how="outer",
            suffixes=("_dbt", "_pandas"),
        )
        cohort_same = (both["active_customers_dbt"] == both["active_customers_pandas"]).mean()
    finally:
        con.close()
    return {
        "order_cycle": {
            "pandas_s": round(cycle_s, 3),
            "dbt_s": node_timings.get("fct_order_cycle"),
            "rows": len(cycle),
            "delivered_at_agreement": round(float(same), 4),
        },
        "cohorts": {
            "pandas_s": round(cohorts_s, 3),
            "dbt_s": node_timings.get("rpt_cohort_retention"),
            "rows": len(cohorts),
            "active_customers_agreement": round(float(cohort_same), 4),
        },
    }
