"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
  the Pareto/NBD Model", Marketing Science 24(2). Log-likelihood eq. 6, conditional expectation
  eq. 10, P(alive) from the appendix.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
  Analysis", JMR 42(4), with its conditional expected transaction value.

Plain numpy/scipy; fitted by maximum likelihood on log-parameters. Values are undiscounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

MIN_CUSTOMERS = 20  # below this a fit says nothing


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float
    log_likelihood: float


@dataclass(frozen=True)
class ClvFit:
    purchases: BgNbdParams
    spend: GammaGammaParams | None  # None when no repeat buyer has a positive value
    customers: pl.DataFrame  # the summary plus p_alive, expected_orders, expected_average_value, predicted_clv


def summarise(transactions: pl.DataFrame, customer: str, at: str, value: str, observed_until: datetime,
              period_days: float = 7.0) -> pl.DataFrame:
    """Per customer: ``frequency`` (repeat purchase days: purchases on one day count once),
    ``recency`` (first to last purchase) and ``T`` (first purchase to ``observed_until``, purchases at it included) in
    periods of ``period_days``, and ``monetary_value`` (mean value of the repeat purchase days)."""
    days = (transactions.filter(pl.col(at) <= observed_until)
            .group_by(customer, pl.col(at).dt.date().alias("_day"))
            .agg(pl.col(value).sum().alias("_value"), pl.col(at).min().alias("_at")))
    per = days.sort("_day").group_by(customer).agg(
        (pl.len() - 1).alias("frequency"),
        pl.col("_day").first().alias("_first"), pl.col("_day").last().alias("_last"),
        pl.col("_value").slice(1).mean().fill_null(0.0).alias("monetary_value"))
    end = pl.lit(observed_until).cast(pl.Datetime("us"))
    return per.select(
        customer, pl.col("frequency").cast(pl.Int64),
        ((pl.col("_last") - pl.col("_first")).dt.total_days() / period_days).alias("recency"),
        ((end - pl.col("_first").cast(pl.Datetime("us"))).dt.total_seconds() / 86400 / period_days).alias("T"),
        "monetary_value")


def _bgnbd_ll(r, alpha, a, b, x, t_x, T):
    """Per-customer log-likelihood (eq. 6), in the stable form with logaddexp."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(frequency, recency, T) -> BgNbdParams:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))

    def nll(log_params):
        r, alpha, a, b = np.exp(log_params)
        return -_bgnbd_ll(r, alpha, a, b, x, t_x, T).sum()

    start = np.log([0.5, max(T.mean(), 1e-3), 1.0, 1.0])
    best = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000})
    best = minimize(nll, best.x, method="L-BFGS-B")  # polish
    r, alpha, a, b = np.exp(best.x)
    return BgNbdParams(float(r), float(alpha), float(a), float(b), float(-best.fun))


def _bgnbd_ratio(params: BgNbdParams, x, t_x, T):
    """The dropout term a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x), zero for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        term = np.exp(np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                      + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, term, 0.0)


def p_alive(params: BgNbdParams, frequency, recency, T) -> np.ndarray:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return 1.0 / (1.0 + _bgnbd_ratio(params, x, t_x, T))


def expected_purchases(params: BgNbdParams, t: float, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` periods given the history (eq. 10)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * tail / (1.0 + _bgnbd_ratio(params, x, t_x, T))


def fit_gamma_gamma(frequency, monetary_value) -> GammaGammaParams:
    """Gamma-Gamma spend model on the customers with repeat purchases of positive value."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if keep.sum() < MIN_CUSTOMERS:
        raise ValueError(f"the spend model needs at least {MIN_CUSTOMERS} repeat buyers with a positive value; "
                         f"got {int(keep.sum())}")

    def nll(log_params):
        p, q, v = np.exp(log_params)
        px = p * x
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m)
              + px * np.log(x) - (px + q) * np.log(x * m + v))
        return -ll.sum()

    best = minimize(nll, np.log([1.0, 2.0, float(np.mean(m))]), method="Nelder-Mead",
                    options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000})
    p, q, v = np.exp(best.x)
    return GammaGammaParams(float(p), float(q), float(v), float(-best.fun))


def expected_average_value(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """E[value of a transaction | history]; the population mean p*v/(q-1) for frequency 0."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    p, q, v = params.p, params.q, params.v
    return (p * (v + x * m)) / (p * x + q - 1)


def predict(summary: pl.DataFrame, horizon_periods: float) -> ClvFit:
    """Fit both models on a ``summarise`` frame and predict each customer's next ``horizon_periods``."""
    if summary.height < MIN_CUSTOMERS:
        raise ValueError(f"the purchase model needs at least {MIN_CUSTOMERS} customers; got {summary.height}")
    x, t_x, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    if not (x > 0).any():
        raise ValueError("the purchase model needs at least one repeat buyer; every customer bought once")
    purchases = fit_bgnbd(x, t_x, T)
    orders = expected_purchases(purchases, horizon_periods, x, t_x, T)
    try:
        spend = fit_gamma_gamma(x, summary["monetary_value"].to_numpy())
        if spend.q <= 1:
            raise ValueError("the spend model's q <= 1 has no finite mean")
        value = expected_average_value(spend, x, summary["monetary_value"].to_numpy())
    except ValueError:
        spend, value = None, np.full(summary.height, np.nan)
    customers = summary.with_columns(
        pl.Series("p_alive", p_alive(purchases, x, t_x, T)),
        pl.Series("expected_orders", orders),
        pl.Series("expected_average_value", value).fill_nan(None),
    ).with_columns((pl.col("expected_orders") * pl.col("expected_average_value")).alias("predicted_clv"))
    return ClvFit(purchases, spend, customers)
