"""The demo world's ground truth: a deterministic, vectorised simulation of the business.

The truth is an event log plus the entities it is about. Every source system afterclick
reads (channel APIs, marketplace exports, ERP, WMS, carriers) is a *projection* of this
truth as of some instant, so tests can compare what the marts say with what really
happened, and incremental tests can move the clock forward.

Customers follow a buy-till-you-die process (Poisson purchases while alive, a chance of
dropping out after each purchase), so cohorts and LTV mean something.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from demo import catalog as cat

_FIRST = np.array(
    [
        "lucia",
        "maria",
        "carmen",
        "ana",
        "sofia",
        "laura",
        "paula",
        "julia",
        "marta",
        "elena",
        "joao",
        "pedro",
        "miguel",
        "jose",
        "carlos",
        "juan",
        "luis",
        "diego",
        "pablo",
        "javier",
        "ines",
        "beatriz",
        "gabriel",
        "rafael",
        "tiago",
        "mariana",
    ]
)
_LAST = np.array(
    [
        "garcia",
        "martinez",
        "lopez",
        "sanchez",
        "perez",
        "gomez",
        "silva",
        "santos",
        "ferreira",
        "oliveira",
        "costa",
        "rodrigues",
        "hernandez",
        "ramirez",
        "torres",
        "flores",
        "rivera",
        "moreno",
        "alvarez",
        "romero",
    ]
)
_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000
_MIN_US = 60_000_000


@dataclass
class World:
    """The ground truth. Timestamps are UTC, microseconds since the epoch as polars Datetime."""

    start: datetime
    end: datetime
    seed: int
    stores: pl.DataFrame
    products: pl.DataFrame
    customers: pl.DataFrame
    orders: pl.DataFrame
    order_lines: pl.DataFrame
    shipments: pl.DataFrame
    tracking_events: pl.DataFrame
    order_events: pl.DataFrame
    returns: pl.DataFrame

    TABLES = (
        "stores",
        "products",
        "customers",
        "orders",
        "order_lines",
        "shipments",
        "tracking_events",
        "order_events",
        "returns",
    )

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in self.TABLES}


def _choice(rng: np.random.Generator, options, weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(options)[rng.choice(len(w), size=size, p=w / w.sum())]


def _end_of_local_day_us(placed_us: np.ndarray, days: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """The last microsecond (UTC, since the epoch) of the day ``days`` after each placed instant's
    local day in its store's time zone: the end of the promised delivery day, as the platform
    counts it (dbt/models/marts/orders/fct_orders.sql)."""
    out = np.empty_like(placed_us)
    for zone in np.unique(zones):
        at = zones == zone
        utc = pl.Series(placed_us[at], dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
        local_day = utc.dt.convert_time_zone(str(zone)).dt.date().cast(pl.Int64).to_numpy()
        next_midnight = (
            pl.Series(local_day + days[at] + 1, dtype=pl.Int64)
            .cast(pl.Date)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone(str(zone), ambiguous="earliest", non_existent="raise")
            .dt.convert_time_zone("UTC")
        )
        out[at] = next_midnight.dt.replace_time_zone(None).cast(pl.Int64).to_numpy() - 1
    return out


def _lognormal_us(rng, median_hours: float, sigma: float, size: int) -> np.ndarray:
    return (rng.lognormal(np.log(median_hours), sigma, size) * _HOUR_US).astype(np.int64)


def _products(rng: np.random.Generator, n_orders: int) -> pl.DataFrame:
    n = int(np.clip(n_orders // 20, 60, 5_000))
    price = np.round(rng.lognormal(np.log(35), 0.6, n), 2) + 0.99
    return pl.DataFrame(
        {
            "sku": [f"SKU-{i:05d}" for i in range(1, n + 1)],
            "name": [f"{c.title()} item {i}" for i, c in enumerate(_choice(rng, cat.CATEGORIES, [1] * 6, n), 1)],
            "category": _choice(rng, cat.CATEGORIES, [3, 2, 2, 1.5, 1, 1], n),
            "list_price_eur": np.round(price, 2),
            "unit_cost_eur": np.round(price * rng.uniform(0.35, 0.65, n), 2),
            "weight_kg": np.round(rng.lognormal(np.log(0.6), 0.7, n), 3),
            # Zipf-like popularity: a few SKUs sell most.
            "popularity": 1.0 / (np.arange(n) + 8.0) ** 1.1,
        }
    )


def _customer_purchases(rng, n_orders: int, start_us: int, end_us: int):
    """Buy-till-you-die: returns (customer index per purchase, purchase time in µs)."""
    span = end_us - start_us
    idx_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    n_cust = 0
    total = 0
    while total < n_orders:
        c = max(1_000, int((n_orders - total) * 0.6))
        acquired = start_us + (span * np.sqrt(rng.uniform(0, 1, c))).astype(np.int64)  # growing business
        rate_per_day = rng.gamma(0.9, 1 / 30.0, c)  # ~ one purchase a month while alive, heterogeneous
        p_drop = rng.beta(1.2, 3.0, c)
        k = np.minimum(rng.geometric(p_drop), 40)
        idx = np.repeat(np.arange(c), k)
        # a gap beyond ten years leaves the window anyway; clipping keeps int64 from overflowing
        gaps = (np.minimum(rng.exponential(1.0, idx.size) / rate_per_day[idx], 3650.0) * _DAY_US).astype(np.int64)
        first = np.r_[0, np.cumsum(k)[:-1]]
        gaps[first] = 0
        csum = np.cumsum(gaps)
        t = acquired[idx] + csum - np.repeat(csum[first], k)
        keep = (t >= start_us) & (t < end_us)
        idx_parts.append(idx[keep] + n_cust)
        time_parts.append(t[keep])
        n_cust += c
        total += int(keep.sum())
    cust_idx, times = np.concatenate(idx_parts), np.concatenate(time_parts)
    pick = np.sort(rng.choice(cust_idx.size, size=n_orders, replace=False))
    return cust_idx[pick], times[pick], n_cust


def simulate(orders: int, days: int, seed: int, end: datetime) -> World:
    """Simulate ``orders`` orders over the ``days`` days before ``end`` (UTC)."""
    rng = np.random.default_rng(seed)
    end = end.replace(tzinfo=None)
    start = end - timedelta(days=days)
    start_us = int((start - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    end_us = int((end - datetime(1970, 1, 1)).total_seconds()) * 1_000_000

    stores = pl.DataFrame([s.__dict__ for s in cat.STORES]).with_columns(pl.col("warehouses").cast(pl.List(pl.Utf8)))
    products = _products(rng, orders)

    # ---- customers and when they buy --------------------------------------------------------
    cust_of_order, placed_us, n_cust = _customer_purchases(rng, orders, start_us, end_us)
    order_rank = np.argsort(placed_us, kind="stable")
    cust_of_order, placed_us = cust_of_order[order_rank], placed_us[order_rank]
    used, cust_of_order = np.unique(cust_of_order, return_inverse=True)  # keep customers who bought
    n_cust = used.size
    store_ids = np.array([s.store_id for s in cat.STORES])
    shares = np.array([s.share for s in cat.STORES])
    home = rng.choice(len(store_ids), size=n_cust, p=shares / shares.sum())
    first = _FIRST[rng.integers(0, _FIRST.size, n_cust)]
    last = _LAST[rng.integers(0, _LAST.size, n_cust)]
    cust_ids = np.char.add("C", np.char.zfill(np.arange(1, n_cust + 1).astype(str), 7))
    emails = np.char.add(
        np.char.add(np.char.add(np.char.add(first, "."), last), np.arange(1, n_cust + 1).astype(str)), "@example.com"
    )
    country_of_store = np.array([s.country for s in cat.STORES])
    customers = pl.DataFrame(
        {
            "customer_id": cust_ids,
            "email": emails,
            "first_name": np.char.capitalize(first),
            "last_name": np.char.capitalize(last),
            "country": country_of_store[home],
            "home_store_id": store_ids[home],
            "segment": _choice(rng, ["b2c", "b2b"], [0.93, 0.07], n_cust),
        }
    )

    # ---- orders: store (mostly the customer's home store, sometimes another of its country) ----
    n = orders
    store_idx = home[cust_of_order]
    switch = rng.uniform(0, 1, n) < 0.15
    es = np.flatnonzero(country_of_store == "ES")
    es_switch = switch & (country_of_store[store_idx] == "ES")
    store_idx[es_switch] = rng.choice(es, size=int(es_switch.sum()), p=shares[es] / shares[es].sum())
    store = store_ids[store_idx]
    store_meta = {s.store_id: s for s in cat.STORES}
    currency = np.array([store_meta[s].currency for s in store_ids])[store_idx]
    fx = cat.fx_to_eur(currency, placed_us // _DAY_US)  # the rate of the order's placed day (UTC)

    # ---- lines -------------------------------------------------------------------------------
    n_lines = np.minimum(1 + rng.poisson(2.0, n), 8)
    line_order = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(line_order.size) - np.repeat(np.r_[0, np.cumsum(n_lines)[:-1]], n_lines) + 1
    pop = products["popularity"].to_numpy()
    sku_idx = rng.choice(pop.size, size=line_order.size, p=pop / pop.sum())
    qty = 1 + rng.poisson(0.25, line_order.size)
    unit_price = np.round(products["list_price_eur"].to_numpy()[sku_idx] / fx[line_order], 2)
    disc_pct = np.where(rng.uniform(0, 1, n) < 0.25, _choice(rng, [0.10, 0.15], [2, 1], n), 0.0)
    line_gross = np.round(qty * unit_price, 2)
    line_discount = np.round(line_gross * disc_pct[line_order], 2)
    gross = np.bincount(line_order, line_gross, minlength=n).round(2)
    discount = np.bincount(line_order, line_discount, minlength=n).round(2)
    shipping = np.where(gross * fx >= 50, 0.0, np.round(4.95 / fx, 2))
    tax_rate = np.vectorize({"ES": 0.21, "PT": 0.23, "BR": 0.0, "MX": 0.16}.get)(country_of_store[store_idx])
    tax = np.round((gross - discount + shipping) * tax_rate, 2)
    total = np.round(gross - discount + shipping + tax, 2)

    # ---- the order cycle ------------------------------------------------------------------------
    NA = np.int64(-1)
    placed = placed_us
    paid_ok = rng.uniform(0, 1, n) < 0.965
    paid = np.where(paid_ok, placed + rng.exponential(5 * _MIN_US, n).astype(np.int64), NA)
    cancel_unpaid = np.where(~paid_ok, placed + 2 * _DAY_US, NA)
    cancel_after_pay = paid_ok & (rng.uniform(0, 1, n) < 0.02)
    canceled = np.where(cancel_after_pay, paid + _lognormal_us(rng, 3, 0.8, n), cancel_unpaid)
    fulfil = paid_ok & ~cancel_after_pay
    # A few orders stall for good at some stage (lost in a system): stuck orders.
    stall_at = np.where(fulfil & (rng.uniform(0, 1, n) < 0.008), rng.integers(1, 5, n), 99)
    invoiced = np.where(fulfil, paid + _lognormal_us(rng, 2, 0.7, n), NA)
    routed = np.where(fulfil, paid + rng.integers(1, 30, n) * _MIN_US, NA)
    wh_options = [store_meta[s].warehouses for s in store_ids]
    wh_first = np.array([w[0] for w in wh_options])[store_idx]
    wh_second = np.array([w[-1] for w in wh_options])[store_idx]
    warehouse = np.where(rng.uniform(0, 1, n) < 0.8, wh_first, wh_second)
    promised_days = np.array([store_meta[s].promised_days for s in store_ids])[store_idx]
    zones = np.array([store_meta[s].timezone for s in store_ids])[store_idx]
    promised_date_us = _end_of_local_day_us(placed, promised_days, zones)  # end of the promised local day

    # parcels: 12% of multi-line orders ship in two parcels (the second half of the lines later)
    split = fulfil & (n_lines >= 2) & (rng.uniform(0, 1, n) < 0.12)
    n_parcels = np.where(fulfil, 1 + split, 0)
    p_order = np.repeat(np.arange(n), n_parcels)
    p_no = np.arange(p_order.size) - np.repeat(np.r_[0, np.cumsum(n_parcels)[:-1]], n_parcels) + 1
    m = p_order.size
    backorder = np.where(p_no == 2, rng.integers(1, 5, m) * _DAY_US, 0)
    picked = routed[p_order] + backorder + _lognormal_us(rng, 5, 0.9, m)
    packed = picked + rng.integers(10, 90, m) * _MIN_US
    shipped = packed + _lognormal_us(rng, 3, 0.8, m)
    country = country_of_store[store_idx][p_order]
    carrier = np.empty(m, dtype=object)
    for c, options in cat.CARRIERS_BY_COUNTRY.items():
        sel = country == c
        carrier[sel] = _choice(rng, [o[0] for o in options], [o[1] for o in options], int(sel.sum()))
    carrier = carrier.astype(str)
    transit_median_h = np.vectorize({"ES": 30, "PT": 40, "BR": 90, "MX": 60}.get)(country)
    in_transit = shipped + rng.integers(2, 8, m) * _HOUR_US
    exception = rng.uniform(0, 1, m) < 0.04
    exception_at = np.where(exception, in_transit + _lognormal_us(rng, 12, 0.5, m), NA)
    delay = np.where(exception, rng.integers(1, 4, m) * _DAY_US, 0)
    ofd = shipped + (rng.lognormal(np.log(transit_median_h), 0.45, m) * _HOUR_US).astype(np.int64) + delay
    attempt1 = ofd + rng.integers(1, 7, m) * _HOUR_US
    ok1 = rng.uniform(0, 1, m) < 0.88
    fail_kind = rng.choice(len(cat.ATTEMPT_FAILURES), size=m, p=[f[2] for f in cat.ATTEMPT_FAILURES])
    ok2 = ~ok1 & (fail_kind == 0) & (rng.uniform(0, 1, m) < 0.85)  # not-at-home often succeeds next day
    ofd2 = np.where(~ok1, attempt1 + _DAY_US - 4 * _HOUR_US, NA)
    attempt2 = np.where(~ok1, ofd2 + rng.integers(1, 7, m) * _HOUR_US, NA)
    delivered_p = np.where(ok1, attempt1, np.where(ok2, attempt2, NA))
    rts = ~ok1 & ~ok2  # returned to sender: available for pickup, then back to the warehouse
    pickup_at = np.where(rts, attempt1 + 2 * _HOUR_US, NA)
    rts_at = np.where(rts, attempt1 + 7 * _DAY_US, NA)
    attempts = np.where(ok1, 1, np.where(ok2, 2, 1))

    # stalls cut a parcel's chain after the stall stage (1 routed, 2 picked, 3 packed, 4 shipped)
    stall = stall_at[p_order]
    for stage_no, arr in ((1, picked), (2, packed), (3, shipped)):
        arr[stall <= stage_no] = NA
    for arr in (in_transit, exception_at, ofd, attempt1, ofd2, attempt2, delivered_p, pickup_at, rts_at):
        arr[stall <= 4] = NA

    tracking_prefix = {
        "correos": "PQ",
        "ctt": "RR",
        "correios": "OB",
        "seur": "SE",
        "mrw": "MR",
        "jadlog": "JD",
        "estafeta": "ES",
        "dhl": "JJ",
    }
    tn_num = rng.integers(10**9, 10**10, m)
    while True:  # a tracking number names one parcel: redraw the (rare, at ~1M parcels) collisions
        _, first_seen = np.unique(tn_num, return_index=True)
        repeated = np.setdiff1d(np.arange(m), first_seen)
        if repeated.size == 0:
            break
        tn_num[repeated] = rng.integers(10**9, 10**10, repeated.size)
    tracking = np.char.add(np.vectorize(tracking_prefix.get)(carrier), tn_num.astype(str))
    shipment_id = np.char.add("S", np.char.zfill(np.arange(1, m + 1).astype(str), 8))

    # order-level delivered = when the last parcel was delivered (only if all were)
    all_delivered = np.ones(n, bool)
    np.logical_and.at(all_delivered, p_order, delivered_p >= 0)
    last_delivery = np.full(n, NA)
    np.maximum.at(last_delivery, p_order, delivered_p)
    delivered = np.where(fulfil & all_delivered, last_delivery, NA)

    # returns: 9% of delivered orders ask to return one line; returned-to-sender parcels come back too
    ret_req = (delivered >= 0) & (rng.uniform(0, 1, n) < 0.09)
    return_requested = np.where(ret_req, delivered + rng.integers(1, 14, n) * _DAY_US, NA)
    rts_order = np.zeros(n, bool)
    np.logical_or.at(rts_order, p_order, rts & (rts_at >= 0))
    rts_order_at = np.full(n, NA)
    np.maximum.at(rts_order_at, p_order, rts_at)
    return_received = np.where(
        ret_req,
        return_requested + rng.integers(3, 9, n) * _DAY_US,
        np.where(rts_order, rts_order_at + rng.integers(2, 6, n) * _DAY_US, NA),
    )
    refunded = np.where(
        return_received >= 0,
        return_received + rng.integers(1, 4, n) * _DAY_US,
        np.where(cancel_after_pay, canceled + _DAY_US, NA),
    )
    closed = np.where((delivered >= 0) & ~ret_req, delivered + 15 * _DAY_US, np.where(refunded >= 0, refunded, NA))

    # ---- returns table -------------------------------------------------------------------------
    ret_orders = np.flatnonzero(return_received >= 0)
    first_line = np.r_[0, np.cumsum(n_lines)[:-1]]
    ret_line_offset = (rng.uniform(0, 1, ret_orders.size) * n_lines[ret_orders]).astype(int)
    ret_line = first_line[ret_orders] + ret_line_offset
    is_rts = ~ret_req[ret_orders]
    reason_idx = rng.choice(len(cat.RETURN_REASONS), ret_orders.size, p=[r[2] for r in cat.RETURN_REASONS])
    refund_amount = np.where(is_rts, total[ret_orders], np.round(line_gross[ret_line] - line_discount[ret_line], 2))
    returns = pl.DataFrame(
        {
            "return_id": np.char.add("R", np.char.zfill(np.arange(1, ret_orders.size + 1).astype(str), 7)),
            "order_id": np.char.add("O", np.char.zfill((ret_orders + 1).astype(str), 8)),
            "line_no": np.where(is_rts, 0, line_no[ret_line]),
            "sku": np.where(is_rts, "", products["sku"].to_numpy()[sku_idx[ret_line]]).astype(str),
            "quantity": np.where(is_rts, qty[first_line[ret_orders]], qty[ret_line]),
            "initiator": np.where(is_rts, "carrier", "customer"),
            "reason_code": np.where(
                is_rts, "returned_to_sender", np.array([r[0] for r in cat.RETURN_REASONS])[reason_idx]
            ),
            "reason_text": np.where(
                is_rts, "Devuelto al remitente", np.array([r[1] for r in cat.RETURN_REASONS])[reason_idx]
            ),
            "disposition": _choice(
                rng, [d[0] for d in cat.DISPOSITIONS], [d[1] for d in cat.DISPOSITIONS], ret_orders.size
            ),
            "requested_at": np.where(is_rts, rts_order_at[ret_orders], return_requested[ret_orders]),
            "received_at": return_received[ret_orders],
            "refunded_at": refunded[ret_orders],
            "refund_amount": refund_amount,
        }
    )
    refunded_amount = np.zeros(n)
    np.add.at(refunded_amount, ret_orders, refund_amount)
    refunded_amount[cancel_after_pay] = total[cancel_after_pay]

    # ---- the event log (truth), cut at the end of the world ----------------------------------------
    order_ids = np.char.add("O", np.char.zfill(np.arange(1, n + 1).astype(str), 8))
    ev = []

    def add(stage, at, idx, source, parcel=None):
        ok = (at >= 0) & (at < end_us)
        ev.append(
            pl.DataFrame(
                {
                    "order_id": order_ids[idx[ok]],
                    "stage": stage,
                    "occurred_at": at[ok],
                    "source_system": source,
                    "shipment_id": shipment_id[parcel[ok]] if parcel is not None else np.full(int(ok.sum()), None),
                },
                schema_overrides={"shipment_id": pl.Utf8},
            )
        )

    oi, pi = np.arange(n), np.arange(m)
    add("placed", placed, oi, "channel")
    add("paid", paid, oi, "channel")
    add("invoiced", invoiced, oi, "erp")
    add("routed", routed, oi, "oms")
    add("picked", picked, p_order, "wms", pi)
    add("packed", packed, p_order, "wms", pi)
    add("shipped", shipped, p_order, "wms", pi)
    add("in_transit", in_transit, p_order, "carrier", pi)
    add("out_for_delivery", ofd, p_order, "carrier", pi)
    add("delivery_attempt_failed", np.where(~ok1, attempt1, NA), p_order, "carrier", pi)
    add("out_for_delivery", ofd2, p_order, "carrier", pi)
    add("delivered", delivered_p, p_order, "carrier", pi)
    add("return_requested", return_requested, oi, "channel")
    add("return_received", return_received, oi, "wms")
    add("refunded", refunded, oi, "channel")
    add("canceled", canceled, oi, "channel")
    add("closed", closed, oi, "erp")
    order_events = (
        pl.concat(ev)
        .with_columns(pl.col("occurred_at").cast(pl.Datetime("us")))
        .sort("order_id", "occurred_at", "stage")
    )

    # carrier tracking feed, in each carrier's own words
    tev = []

    def track(status, at, sub=None, msg=None):
        ok = (at >= 0) & (at < end_us)
        raw = np.array([cat.CARRIER_RAW_STATUS[c][status] for c in carrier[ok]]) if ok.any() else np.array([], str)
        tev.append(
            pl.DataFrame(
                {
                    "tracking_number": tracking[ok],
                    "carrier": carrier[ok],
                    "occurred_at": at[ok],
                    "canonical_status": status,
                    "raw_status": raw,
                    "sub_status": sub[ok] if sub is not None else np.full(int(ok.sum()), None),
                    "message": msg[ok] if msg is not None else np.full(int(ok.sum()), None),
                    "location": np.array([cat.WAREHOUSES[w][2] for w in warehouse[p_order][ok]])
                    if status in ("info_received", "in_transit")
                    else np.full(int(ok.sum()), None),
                },
                schema_overrides={"sub_status": pl.Utf8, "message": pl.Utf8, "location": pl.Utf8},
            )
        )

    fail_sub = np.array([f[0] for f in cat.ATTEMPT_FAILURES])[fail_kind]
    fail_msg = np.array([f[1] for f in cat.ATTEMPT_FAILURES])[fail_kind]
    track("info_received", np.where(shipped >= 0, shipped - 30 * _MIN_US, NA))
    track("in_transit", in_transit)
    track("exception", exception_at, np.full(m, "delayed"), np.full(m, "Incidencia en tránsito / delay"))
    track("out_for_delivery", ofd)
    track("attempt_failed", np.where(~ok1, attempt1, NA), fail_sub, fail_msg)
    track("out_for_delivery", ofd2)
    track("attempt_failed", np.where(~ok1 & ~ok2, attempt2, NA), fail_sub, fail_msg)
    track("available_for_pickup", pickup_at)
    track("delivered", delivered_p)
    track("returned_to_sender", rts_at)
    tracking_events = (
        pl.concat(tev)
        .with_columns(pl.col("occurred_at").cast(pl.Datetime("us")))
        .sort("tracking_number", "occurred_at")
    )

    def ts(a):  # µs → Datetime, -1 → null, after the end → null (hasn't happened yet)
        a = np.asarray(a, dtype=np.int64)
        return pl.Series(a).set(pl.Series((a < 0) | (a >= end_us)), None).cast(pl.Datetime("us"))

    last_event = order_events.group_by("order_id").agg(pl.col("occurred_at").max().alias("updated_at"))
    email_seen = customers["email"].to_numpy()[cust_of_order]
    orders_df = (
        pl.DataFrame(
            {
                "order_id": order_ids,
                "store_id": store,
                "channel": np.array([store_meta[s].channel for s in store]),
                "customer_id": cust_ids[cust_of_order],
                "email": email_seen,
                "currency": currency,
                "fx_to_eur": fx,
                "gross": gross,
                "discount": discount,
                "shipping": shipping,
                "tax": tax,
                "total": total,
                "n_lines": n_lines,
                "warehouse_id": pl.Series(np.where(fulfil, warehouse, np.array(None)).tolist(), dtype=pl.Utf8),
                "promised_days": promised_days,
                "is_guest": np.isin(store, ["shopify-es", "shopify-mx", "woo-pt"]) & (rng.uniform(0, 1, n) < 0.2),
                "payment_method": _choice(rng, ["card", "paypal", "transfer"], [6, 3, 1], n),
                "cancel_reason": np.where(
                    canceled >= 0,
                    np.where(paid_ok, _choice(rng, ["customer", "inventory"], [3, 1], n), "payment_declined"),
                    "",
                ).astype(str),
            }
        )
        .with_columns(pl.col("cancel_reason").replace("", None))
        .with_columns(
            placed_at=ts(placed),
            paid_at=ts(paid),
            invoiced_at=ts(invoiced),
            canceled_at=ts(canceled),
            delivered_at=ts(delivered),
            refunded_at=ts(refunded),
            closed_at=ts(closed),
            promised_delivery_at=pl.Series(promised_date_us, dtype=pl.Int64).cast(pl.Datetime("us")),
            refunded_amount=pl.Series(
                np.where(refunded >= 0, np.where(refunded < end_us, refunded_amount, 0.0), 0.0)
            ).round(2),
        )
        .join(last_event, on="order_id", how="left")
    )

    order_lines = pl.DataFrame(
        {
            "order_id": order_ids[line_order],
            "line_no": line_no,
            "sku": products["sku"].to_numpy()[sku_idx],
            "quantity": qty,
            "unit_price": unit_price,
            "gross": line_gross,
            "discount": line_discount,
            "parcel_no": np.where(split[line_order] & (line_no > (n_lines[line_order] + 1) // 2), 2, 1),
        }
    )
    shipments = pl.DataFrame(
        {
            "shipment_id": shipment_id,
            "order_id": order_ids[p_order],
            "parcel_no": p_no,
            "warehouse_id": warehouse[p_order],
            "carrier": carrier,
            "service": np.vectorize(cat.CARRIER_SERVICE.get)(carrier),
            "tracking_number": tracking,
            "attempts": attempts,
            "exception": exception,
        }
    ).with_columns(
        picked_at=ts(picked),
        packed_at=ts(packed),
        shipped_at=ts(shipped),
        out_for_delivery_at=ts(ofd),
        first_attempt_at=ts(attempt1),
        delivered_at=ts(delivered_p),
        returned_to_sender_at=ts(rts_at),
        promised_delivery_at=pl.Series(promised_date_us[p_order], dtype=pl.Int64).cast(pl.Datetime("us")),
    )
    returns = returns.with_columns(
        pl.col("sku").replace("", None),
        requested_at=ts(returns["requested_at"].to_numpy()),
        received_at=ts(returns["received_at"].to_numpy()),
        refunded_at=ts(returns["refunded_at"].to_numpy()),
    )
    # Only what has happened by the end of the world exists: orders are placed before it.
    return World(
        start=start,
        end=end,
        seed=seed,
        stores=stores,
        products=products.drop("popularity"),
        customers=customers,
        orders=orders_df,
        order_lines=order_lines,
        shipments=shipments,
        tracking_events=tracking_events,
        order_events=order_events,
        returns=returns.filter(pl.col("requested_at").is_not_null()),
    )
