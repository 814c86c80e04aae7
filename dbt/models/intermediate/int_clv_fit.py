"""The fitted parameters of the CLV models (afterclick.clv): one row per fit, kept as a history.

Fitting BG/NBD and Gamma-Gamma is the slow part of the customer predictions (it grows with the
customer base), and the parameters of a whole base move slowly. So a build fits only when it must:
- on the first build and on --full-refresh;
- when var clv_refit is true (the pipeline sets it: `afterclick run` and the nightly run);
- when no fit is at or before the as-of instant (a backfill to before the first fit), or the latest
  such fit is more than var clv_refit_days older than it.
Otherwise it adds nothing, and int_customer_predictions scores every customer's current history with
the latest fit at or before the as-of instant. A fit is recorded only when the data supports one
(enough customers, a repeat buyer); the spend model's columns are null when it alone cannot be fitted.
"""

from datetime import timedelta

import polars as pl

from afterclick import clv

SCHEMA = {
    "fitted_as_of": pl.Datetime("us"),
    "customers": pl.Int64,
    "repeat_buyers": pl.Int64,
    "bgnbd_r": pl.Float64,
    "bgnbd_alpha": pl.Float64,
    "bgnbd_a": pl.Float64,
    "bgnbd_b": pl.Float64,
    "bgnbd_log_likelihood": pl.Float64,
    "gg_p": pl.Float64,
    "gg_q": pl.Float64,
    "gg_v": pl.Float64,
    "gg_log_likelihood": pl.Float64,
}


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="fitted_as_of")
    as_of = dbt.config.get("as_of") or ""  # a statement of its own: dbt finds the config keys a model reads in them
    observed_until = clv.observed_until(as_of)
    refit = str(dbt.config.get("refit")).lower() == "true"
    refit_days = float(dbt.config.get("refit_days") or 7)
    nothing = pl.DataFrame(schema=SCHEMA)
    if dbt.is_incremental and not refit:
        latest = session.execute(
            f"select max(fitted_as_of) from {dbt.this} where fitted_as_of <= ?", [observed_until]
        ).fetchall()[0][0]
        if latest is not None and observed_until - latest <= timedelta(days=refit_days):
            return nothing.to_arrow()
    orders = dbt.ref("int_customer_orders").filter("not is_canceled").pl()
    summary = clv.summarise_orders(orders, observed_until)
    try:
        purchases, spend = clv.fit(summary)
    except ValueError:
        return nothing.to_arrow()
    row = {
        "fitted_as_of": observed_until,
        "customers": summary.height,
        "repeat_buyers": int((summary["frequency"] > 0).sum()),
        "bgnbd_r": purchases.r,
        "bgnbd_alpha": purchases.alpha,
        "bgnbd_a": purchases.a,
        "bgnbd_b": purchases.b,
        "bgnbd_log_likelihood": purchases.log_likelihood,
        "gg_p": spend.p if spend else None,
        "gg_q": spend.q if spend else None,
        "gg_v": spend.v if spend else None,
        "gg_log_likelihood": spend.log_likelihood if spend else None,
    }
    return pl.DataFrame([row], schema=SCHEMA).to_arrow()
