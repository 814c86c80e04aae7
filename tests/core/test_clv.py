"""The customer-value models (afterclick.clv): the BG/NBD fit reproduces the published CDNOW
parameters; predictions behave as the models say they must."""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import distribution

import numpy as np
import polars as pl
import pytest

from afterclick import clv

# Fader, Hardie & Lee (2005), maximum likelihood on the CDNOW sample, 39-week calibration, weeks.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CALIBRATION_END = datetime(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    """The CDNOW sample the lifetimes package ships (read as a file; lifetimes is not imported):
    customer id, customer index, date (yyyymmdd), CDs bought, dollar value."""
    path = distribution("lifetimes").locate_file("lifetimes/datasets/CDNOW_sample.txt")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "at": [datetime.strptime(r[2], "%Y%m%d") for r in rows],
            "value": [float(r[4]) for r in rows],
        }
    )


@pytest.fixture(scope="module")
def calibration(cdnow) -> pl.DataFrame:
    return clv.summarise(cdnow, "customer", "at", "value", observed_until=CALIBRATION_END, period_days=7)


def test_bgnbd_reproduces_the_published_cdnow_parameters(calibration):
    assert calibration.height == 2357
    fit = clv.fit_bgnbd(calibration["frequency"], calibration["recency"], calibration["T"])
    for name, published in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(published, rel=0.01), name


def test_summary_follows_the_btyd_conventions():
    tx = pl.DataFrame(
        {
            "customer": ["a", "a", "a", "a", "b"],
            "at": [
                datetime(2026, 1, 1, 9),
                datetime(2026, 1, 1, 17),
                datetime(2026, 1, 15),
                datetime(2026, 3, 1),
                datetime(2026, 1, 8),
            ],
            "value": [10.0, 5.0, 30.0, 99.0, 20.0],
        }
    )
    s = clv.summarise(tx, "customer", "at", "value", observed_until=datetime(2026, 1, 29), period_days=7).sort(
        "customer"
    )
    a, b = s.row(0, named=True), s.row(1, named=True)
    # two purchases on one day are one purchase day; the purchase after observed_until is not seen
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (1, 2.0, 4.0, 30.0)
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 3.0, 0.0)


def test_predictions_behave(calibration):
    fit = clv.predict(calibration, horizon_periods=52)
    assert fit.spend is not None and min(fit.spend.p, fit.spend.q, fit.spend.v) > 0
    out = fit.customers
    assert out["p_alive"].is_between(0, 1).all()
    assert (out.filter(pl.col("frequency") == 0)["p_alive"] == 1.0).all()
    params = fit.purchases
    # the longer a repeat buyer has been silent, the less likely alive and the fewer orders expected
    longer_silence = clv.p_alive(params, [3, 3, 3], [10, 10, 10], [12, 20, 38])
    assert np.all(np.diff(longer_silence) < 0)
    # with the same recency, age and value, more purchases predict more value
    x = np.array([1, 3, 6])
    orders = clv.expected_purchases(params, 52, x, [30, 30, 30], [38, 38, 38])
    value = clv.expected_average_value(fit.spend, x, [40.0, 40.0, 40.0])
    assert np.all(np.diff(orders * value) > 0)
    # the expected value shrinks the customer's own average towards the population's
    population = fit.spend.p * fit.spend.v / (fit.spend.q - 1)
    one = clv.expected_average_value(fit.spend, [1], [500.0])[0]
    assert population < one < 500.0


def test_too_little_data_is_a_clear_error():
    tx = pl.DataFrame(
        {"customer": [f"c{i}" for i in range(30)], "at": [datetime(2026, 1, 1)] * 30, "value": [10.0] * 30}
    )
    s = clv.summarise(tx, "customer", "at", "value", observed_until=datetime(2026, 2, 1))
    with pytest.raises(ValueError, match="every customer bought once"):
        clv.predict(s, 52)
    with pytest.raises(ValueError, match="at least 20 customers"):
        clv.predict(s.head(5), 52)


def test_the_same_transactions_in_another_order_give_the_same_predictions_to_the_bit(cdnow):
    """A rebuild after a crash lands rows in another order: the predictions must not move a cent."""

    def predict(tx):
        summary = clv.summarise(tx, "customer", "at", "value", observed_until=CALIBRATION_END, period_days=7)
        return clv.predict(summary, horizon_periods=52).customers.sort("customer")

    first = predict(cdnow)
    shuffled = predict(cdnow.sample(fraction=1.0, shuffle=True, seed=7))
    assert first.equals(shuffled)
