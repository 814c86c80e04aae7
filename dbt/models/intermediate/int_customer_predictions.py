"""Per customer: p_alive, expected orders and predicted value over the horizon, scored from the
customer's orders (not canceled) as of the as-of instant with the latest CLV fit at or before it
(int_clv_fit: BG/NBD purchases, Gamma-Gamma spend; afterclick.clv).

Time unit: weeks. Value: net sales of the order in the reporting currency. Without a fit (too few
customers, or no repeat buyer) the predictions are null and model_status says not_enough_data, so a
fresh warehouse still builds; without a spend model predicted_clv_12m alone is null."""

import polars as pl

from afterclick import clv


def model(dbt, session):
    dbt.config(materialized="table")
    horizon_days = float(dbt.config.get("horizon_days") or 365)
    as_of = dbt.config.get("as_of") or ""  # a statement of its own: dbt finds the config keys a model reads in them
    observed_until = clv.observed_until(as_of)
    fits = dbt.ref("int_clv_fit").pl().filter(pl.col("fitted_as_of") <= observed_until).sort("fitted_as_of")
    orders = dbt.ref("int_customer_orders").filter("not is_canceled").pl()
    if fits.height == 0:
        return (
            orders.select("customer_key")
            .unique()
            .with_columns(
                pl.lit(None, pl.Float64).alias("p_alive"),
                pl.lit(None, pl.Float64).alias("expected_orders_12m"),
                pl.lit(None, pl.Float64).alias("predicted_clv_12m"),
                pl.lit("not_enough_data").alias("model_status"),
                pl.lit(None, pl.Datetime("us")).alias("fitted_as_of"),
            )
            .to_arrow()
        )
    fit = fits.row(-1, named=True)
    purchases = clv.BgNbdParams(
        fit["bgnbd_r"], fit["bgnbd_alpha"], fit["bgnbd_a"], fit["bgnbd_b"], fit["bgnbd_log_likelihood"]
    )
    spend = (
        clv.GammaGammaParams(fit["gg_p"], fit["gg_q"], fit["gg_v"], fit["gg_log_likelihood"])
        if fit["gg_p"] is not None
        else None
    )
    summary = clv.summarise_orders(orders, observed_until)
    return (
        clv.score(summary, purchases, spend, horizon_periods=horizon_days / clv.PERIOD_DAYS)
        .select(
            "customer_key",
            pl.col("p_alive").round(4),
            pl.col("expected_orders").round(4).alias("expected_orders_12m"),
            pl.col("predicted_clv").round(2).alias("predicted_clv_12m"),
            pl.lit("fitted").alias("model_status"),
            pl.lit(fit["fitted_as_of"]).cast(pl.Datetime("us")).alias("fitted_as_of"),
        )
        .to_arrow()
    )
