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
from datetime import UTC, datetime

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


def summarise(
    transactions: pl.DataFrame, customer: str, at: str, value: str, observed_until: datetime, period_days: float = 7.0
) -> pl.DataFrame:
    """Per customer: ``frequency`` (repeat purchase days: purchases on one day count once),
    ``recency`` (first to last purchase) and ``T`` (first purchase to ``observed_until``, purchases at it included) in
    periods of ``period_days``, and ``monetary_value`` (mean value of the repeat purchase days)."""
    # sorted first, and sorted out: the same transactions in any order give the same summary to the
    # last bit (sums of doubles depend on their order, and the fit follows the bits)
    days = (
        transactions.filter(pl.col(at) <= observed_until)
        .sort(customer, at, value)
        .group_by(customer, pl.col(at).dt.date().alias("_day"), maintain_order=True)
        .agg(pl.col(value).sum().alias("_value"), pl.col(at).min().alias("_at"))
    )
    per = (
        days.sort(customer, "_day")
        .group_by(customer, maintain_order=True)
        .agg(
            (pl.len() - 1).alias("frequency"),
            pl.col("_day").first().alias("_first"),
            pl.col("_day").last().alias("_last"),
            pl.col("_value").slice(1).mean().fill_null(0.0).alias("monetary_value"),
        )
    )
    end = pl.lit(observed_until).cast(pl.Datetime("us"))
    return per.select(
        customer,
        pl.col("frequency").cast(pl.Int64),
        ((pl.col("_last") - pl.col("_first")).dt.total_days() / period_days).alias("recency"),
        ((end - pl.col("_first").cast(pl.Datetime("us"))).dt.total_seconds() / 86400 / period_days).alias("T"),
        "monetary_value",
    )


# Maximum likelihood on log-parameters, bounded to [1e-6, 1e6]: without dropouts in the data the
# BG/NBD optimum runs off along a ridge (a, b -> infinity at a fixed a/b), where an unbounded simplex
# crawled for 14 minutes at 300k customers. L-BFGS-B gets close in a few hundred evaluations; a short
# bounded simplex then polishes what its finite-difference line search leaves (both capped).
LOG_BOUNDS = (np.log(1e-6), np.log(1e6))
GRADIENT = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2_000}
SIMPLEX = {"xatol": 1e-7, "fatol": 1e-12, "maxiter": 500}


def _fit(nll, start) -> tuple[np.ndarray, float]:
    bounds = [LOG_BOUNDS] * len(start)
    near = minimize(nll, start, method="L-BFGS-B", bounds=bounds, options=GRADIENT)
    best = minimize(nll, near.x, method="Nelder-Mead", bounds=bounds, options=SIMPLEX)
    best = best if best.fun <= near.fun else near
    return best.x, float(best.fun)


def _bgnbd_ll(r, alpha, a, b, x, t_x, T):
    """Per-customer log-likelihood (eq. 6), in the stable form with logaddexp."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how often each occurs: the likelihoods depend on a
    customer's summary only, and a large base has far fewer distinct summaries than customers."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts / counts.sum()


def fit_bgnbd(frequency, recency, T) -> BgNbdParams:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    (dx, dt_x, dT), weight = _distinct(x, t_x, T)

    def nll(log_params):  # the mean, so the tolerances mean the same for 2k and 2M customers
        r, alpha, a, b = np.exp(log_params)
        return -(weight * _bgnbd_ll(r, alpha, a, b, dx, dt_x, dT)).sum()

    fitted, mean_nll = _fit(nll, np.log([0.5, max(T.mean(), 1e-3), 1.0, 1.0]))
    r, alpha, a, b = np.exp(fitted)
    return BgNbdParams(float(r), float(alpha), float(a), float(b), -mean_nll * len(x))


def _bgnbd_ratio(params: BgNbdParams, x, t_x, T):
    """The dropout term a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x), zero for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        term = np.exp(
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
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
        raise ValueError(
            f"the spend model needs at least {MIN_CUSTOMERS} repeat buyers with a positive value; got {int(keep.sum())}"
        )

    (dx, dm), weight = _distinct(x, m)

    def nll(log_params):
        p, q, v = np.exp(log_params)
        px = p * dx
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(dm)
            + px * np.log(dx)
            - (px + q) * np.log(dx * dm + v)
        )
        return -(weight * ll).sum()

    fitted, mean_nll = _fit(nll, np.log([1.0, 2.0, float(np.mean(m))]))
    p, q, v = np.exp(fitted)
    return GammaGammaParams(float(p), float(q), float(v), -mean_nll * len(x))


def expected_average_value(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """E[value of a transaction | history]; the population mean p*v/(q-1) for frequency 0."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    p, q, v = params.p, params.q, params.v
    return (p * (v + x * m)) / (p * x + q - 1)


PERIOD_DAYS = 7.0  # the models' time unit in afterclick's marts: weeks


def observed_until(as_of: str) -> datetime:
    """The instant a build's customer histories end: its as-of instant (dbt var as_of), else now (naive UTC)."""
    return datetime.fromisoformat(as_of) if as_of else datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def summarise_orders(orders: pl.DataFrame, until: datetime) -> pl.DataFrame:
    """``summarise`` of int_customer_orders' rows (customer_key, placed_at, net_sales_rc), in weeks."""
    return summarise(
        orders,
        customer="customer_key",
        at="placed_at",
        value="net_sales_rc",
        observed_until=until,
        period_days=PERIOD_DAYS,
    )


def fit(summary: pl.DataFrame) -> tuple[BgNbdParams, GammaGammaParams | None]:
    """Both models fitted on a ``summarise`` frame; the spend model is None when the data cannot
    support it (too few repeat buyers with a positive value, or no finite mean)."""
    if summary.height < MIN_CUSTOMERS:
        raise ValueError(f"the purchase model needs at least {MIN_CUSTOMERS} customers; got {summary.height}")
    x, t_x, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    if not (x > 0).any():
        raise ValueError("the purchase model needs at least one repeat buyer; every customer bought once")
    purchases = fit_bgnbd(x, t_x, T)
    try:
        spend = fit_gamma_gamma(x, summary["monetary_value"].to_numpy())
    except ValueError:
        return purchases, None
    return purchases, (spend if spend.q > 1 else None)  # q <= 1: the spend model has no finite mean


def score(
    summary: pl.DataFrame, purchases: BgNbdParams, spend: GammaGammaParams | None, horizon_periods: float
) -> pl.DataFrame:
    """Each customer of a ``summarise`` frame scored with fitted parameters: the summary plus
    p_alive, expected_orders, expected_average_value and predicted_clv (null without a spend model)."""
    x, t_x, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    value = (
        expected_average_value(spend, x, summary["monetary_value"].to_numpy())
        if spend is not None
        else np.full(summary.height, np.nan)
    )
    return summary.with_columns(
        pl.Series("p_alive", p_alive(purchases, x, t_x, T)),
        pl.Series("expected_orders", expected_purchases(purchases, horizon_periods, x, t_x, T)),
        pl.Series("expected_average_value", value).fill_nan(None),
    ).with_columns((pl.col("expected_orders") * pl.col("expected_average_value")).alias("predicted_clv"))


def predict(summary: pl.DataFrame, horizon_periods: float) -> ClvFit:
    """Fit both models on a ``summarise`` frame and predict each customer's next ``horizon_periods``."""
    purchases, spend = fit(summary)
    return ClvFit(purchases, spend, score(summary, purchases, spend, horizon_periods))
