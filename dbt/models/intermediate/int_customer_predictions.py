"""Per customer: the BG/NBD purchase model and the Gamma-Gamma spend model (afterclick.clv),
fitted on every customer's orders (not canceled) as of the as-of instant, each build.

Time unit: weeks. Value: net sales of the order in the reporting currency. When the data cannot
support a fit (too few customers or no repeat buyer), the predictions are null and
model_status says not_enough_data, so a fresh warehouse still builds."""

from datetime import datetime, timezone

import polars as pl

from afterclick import clv

PERIOD_DAYS = 7.0


def model(dbt, session):
    dbt.config(materialized="table")
    as_of = dbt.config.get("as_of") or ""
    horizon_days = float(dbt.config.get("horizon_days") or 365)
    observed_until = (datetime.fromisoformat(as_of) if as_of
                      else datetime.now(timezone.utc).replace(tzinfo=None))
    orders = dbt.ref("int_customer_orders").filter("not is_canceled").pl()
    customers = orders.select("customer_key").unique()
    empty = customers.with_columns(
        pl.lit(None, pl.Float64).alias("p_alive"), pl.lit(None, pl.Float64).alias("expected_orders_12m"),
        pl.lit(None, pl.Float64).alias("predicted_clv_12m"), pl.lit("not_enough_data").alias("model_status"))
    summary = clv.summarise(orders, customer="customer_key", at="placed_at", value="net_sales_rc",
                            observed_until=observed_until, period_days=PERIOD_DAYS)
    try:
        fit = clv.predict(summary, horizon_periods=horizon_days / PERIOD_DAYS)
    except ValueError:
        return empty.to_arrow()
    return fit.customers.select(
        "customer_key",
        pl.col("p_alive").round(4),
        pl.col("expected_orders").round(4).alias("expected_orders_12m"),
        pl.col("predicted_clv").round(2).alias("predicted_clv_12m"),
        pl.lit("fitted").alias("model_status"),
    ).to_arrow()
