"""The one definition of every KPI the dashboards show, and the one place that computes them.

A KPI is a column of a KPI mart summed over the chosen period and selection, or the ratio of two
such sums (``numerator`` / ``denominator``), or a percentile of a per-record column of a fact mart
(which cannot be added up across days). The marts hold only additive parts (counts, EUR sums), so a
KPI over any period equals the same KPI computed from its records; no page adds, averages or
divides a measure itself. Each KPI here is listed, with its time basis, currency and tax basis, in
docs/concepts/kpis.md (a test keeps the two in step).

Pages call :func:`values` (one row of KPIs for a period) or :func:`by` (the KPIs per dimension
value); filter values reach SQL only as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dashboards import data
from dashboards.filters import Filters


@dataclass(frozen=True)
class Source:
    """A mart the KPIs are read from: its date column (the time basis) and the columns the global
    filters apply to (None: that filter does not apply)."""

    table: str
    date: str | None
    channel: str | None = None
    warehouse: str | None = None
    carrier: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)  # label -> column (or expression) to group by
    monthly: bool = False  # ``date`` is a month's first day: the period starts at its start's month


SOURCES = {
    s.table: s
    for s in (
        Source(
            "rpt_kpi_orders_daily",
            "placed_date",
            channel="channel",
            dimensions={"placed_date": "placed_date", "channel": "channel"},
        ),
        Source(
            "rpt_kpi_delivery_daily",
            "ship_date",
            channel="channel",
            warehouse="warehouse_id",
            carrier="carrier",
            dimensions={
                "Carrier": "carrier",
                "Warehouse": "warehouse_id",
                "Region": "region",
                "Week shipped": "cast(date_trunc('week', ship_date) as date)",
                "Channel": "channel",
            },
        ),
        Source(
            "rpt_kpi_parcels",
            "ship_date",
            channel="channel",
            warehouse="warehouse_id",
            carrier="carrier",
        ),
        Source(
            "rpt_kpi_returns_daily",
            "received_date",
            channel="channel",
            dimensions={"reason": "reason", "initiator": "initiator"},
        ),
        Source("rpt_customers_monthly", "month", channel="channel", dimensions={"month": "month"}, monthly=True),
        Source("rpt_acquisition", "month", channel="channel", dimensions={"channel": "channel"}, monthly=True),
        Source(
            "dim_customers",
            "cast(first_order_at as date)",
            channel="acquisition_channel",
            dimensions={"rfm_segment": "rfm_segment"},
        ),
        Source("rpt_kpi_customers_daily", "first_order_date", channel="acquisition_channel"),
        Source("rpt_kpi_stock_daily", "stock_date", warehouse="warehouse_id"),
        Source("fct_stock_levels", "stock_date", warehouse="warehouse_id", dimensions={"sku": "sku"}),
        Source(
            "fct_order_cycle",
            "placed_date",
            channel="channel",
            dimensions={"Week placed": "cast(date_trunc('week', placed_date) as date)", "Stage": "current_stage"},
        ),
        Source("rpt_stuck_orders", None, channel="channel"),  # now, whenever placed
        Source("ops.writeback_attempts", "cast(attempted_at as date)"),
        Source("rpt_data_quality", None),  # open now
    )
}


@dataclass(frozen=True)
class Kpi:
    name: str  # as docs/concepts/kpis.md lists it
    source: str  # a table of SOURCES
    numerator: str  # an additive column or a 0/1 condition (summed), or the per-record column of a percentile
    denominator: str | None = None  # a ratio of sums when given
    percentile: float | None = None  # a percentile of ``numerator`` over the records
    counts: bool = True  # a sum that is not money (``_rc``) counts whole things (orders, parcels, units)

    def expression(self) -> str:
        if self.percentile is not None:
            return f"quantile_cont({self.numerator}, {self.percentile})"
        if self.denominator is None and self.counts and not self.numerator.endswith("_rc"):
            return f"cast(coalesce(sum({self.numerator}), 0) as bigint)"
        if self.denominator is None:
            return f"coalesce(sum({self.numerator}), 0)"
        return f"sum({self.numerator}) * 1.0 / nullif(sum({self.denominator}), 0)"


STEPS = (  # the order cycle's step durations (fct_order_cycle.hours_<step>)
    "placed_to_paid",
    "paid_to_invoiced",
    "paid_to_picked",
    "picked_to_packed",
    "packed_to_shipped",
    "order_to_ship",
    "in_transit",
    "click_to_door",
)

KPIS = {
    k.name: k
    for k in (
        # orders and revenue (day placed)
        Kpi("orders", "rpt_kpi_orders_daily", "orders"),
        Kpi("revenue", "rpt_kpi_orders_daily", "revenue_rc"),
        Kpi("return_rate", "rpt_kpi_orders_daily", "orders_returned", "orders_delivered"),
        # returns (day received)
        Kpi("returns_received", "rpt_kpi_returns_daily", "returns_received"),
        Kpi("units_returned", "rpt_kpi_returns_daily", "units_returned"),
        Kpi("refunded", "rpt_kpi_returns_daily", "refunded_rc"),
        # delivery (ship day)
        Kpi("parcels_shipped", "rpt_kpi_delivery_daily", "parcels_shipped"),
        Kpi("parcels_delivered", "rpt_kpi_delivery_daily", "parcels_delivered"),
        Kpi("on_time_rate", "rpt_kpi_delivery_daily", "parcels_on_time", "parcels_delivered"),
        Kpi("otif_rate", "rpt_kpi_delivery_daily", "orders_otif", "orders_fully_delivered"),
        Kpi("first_attempt_rate", "rpt_kpi_delivery_daily", "parcels_first_attempt", "parcels_delivered_tracked"),
        Kpi("exception_rate", "rpt_kpi_delivery_daily", "parcels_with_exception", "parcels_tracked"),
        Kpi("click_to_door_hours_p50", "rpt_kpi_parcels", "hours_click_to_door", percentile=0.5),
        Kpi("click_to_door_hours_p90", "rpt_kpi_parcels", "hours_click_to_door", percentile=0.9),
        Kpi("order_to_ship_hours_p50", "rpt_kpi_parcels", "hours_order_to_ship", percentile=0.5),
        Kpi("order_to_ship_hours_p90", "rpt_kpi_parcels", "hours_order_to_ship", percentile=0.9),
        # customers (day of the first counted order)
        Kpi("new_customers", "rpt_kpi_customers_daily", "new_customers"),
        Kpi("repeat_rate", "rpt_kpi_customers_daily", "repeat_customers", "new_customers"),
        Kpi("aov", "rpt_kpi_customers_daily", "net_sales_rc", "orders"),
        Kpi("historic_ltv_net_avg", "rpt_kpi_customers_daily", "historic_ltv_net_rc", "new_customers"),
        Kpi("predicted_clv_12m_avg", "rpt_kpi_customers_daily", "predicted_clv_12m_rc", "customers_predicted"),
        # customers by month ordered (new: their first order that month; returning: an earlier one)
        Kpi("customers_new_in_month", "rpt_customers_monthly", "new_customers"),
        Kpi("customers_returning_in_month", "rpt_customers_monthly", "returning_customers"),
        Kpi("revenue_new_customers", "rpt_customers_monthly", "new_customer_revenue_rc"),
        Kpi("revenue_returning_customers", "rpt_customers_monthly", "returning_customer_revenue_rc"),
        # customers by RFM segment (day of the first counted order)
        Kpi("segment_customers", "dim_customers", "1"),
        Kpi("segment_historic_ltv_net", "dim_customers", "historic_ltv_net_rc"),
        Kpi("segment_historic_ltv_net_avg", "dim_customers", "historic_ltv_net_rc", "1"),
        Kpi(
            "segment_predicted_clv_12m_avg",
            "dim_customers",
            "predicted_clv_12m",
            "case when predicted_clv_12m is not null then 1 else 0 end",
        ),
        Kpi("segment_p_alive_avg", "dim_customers", "p_alive", "case when p_alive is not null then 1 else 0 end"),
        # acquisition by channel (month of the first order; spend by month spent)
        Kpi("acquired_customers", "rpt_acquisition", "new_customers"),
        Kpi("marketing_spend", "rpt_acquisition", "spend_rc"),
        Kpi("cac", "rpt_acquisition", "spend_rc", "new_customers"),
        Kpi("ltv_12m_projected", "rpt_acquisition", "ltv_12m_projected_rc * new_customers", "new_customers"),
        Kpi("ltv_to_cac", "rpt_acquisition", "ltv_12m_projected_rc * new_customers", "spend_rc"),
        # stock (a day's end position: filter the period to one day)
        Kpi("on_hand", "rpt_kpi_stock_daily", "on_hand"),
        Kpi("atp_sellable", "rpt_kpi_stock_daily", "atp_sellable"),
        Kpi("stockouts", "rpt_kpi_stock_daily", "stockout_pairs"),
        Kpi("oversold_units", "rpt_kpi_stock_daily", "oversold_units"),
        Kpi(
            "sales_velocity", "fct_stock_levels", "sales_velocity_per_day", counts=False
        ),  # units a day, all warehouses
        # order cycle (day placed): orders by current stage, step durations
        Kpi("orders_placed", "fct_order_cycle", "1"),
        Kpi("orders_stuck", "fct_order_cycle", "case when is_stuck then 1 else 0 end"),
        Kpi("stuck_orders_now", "rpt_stuck_orders", "1"),
        *(
            Kpi(f"orders_through_{step}", "fct_order_cycle", f"case when hours_{step} is not null then 1 else 0 end")
            for step in STEPS
        ),
        *(
            Kpi(f"hours_{step}_p{int(p * 100)}", "fct_order_cycle", f"hours_{step}", percentile=p)
            for step in STEPS
            for p in (0.5, 0.9)
        ),
        # write-back (day attempted)
        Kpi("writeback_failures", "ops.writeback_attempts", "case when outcome = 'failed' then 1 else 0 end"),
        # data quality (now)
        Kpi("open_findings", "rpt_data_quality", "case when is_open then 1 else 0 end"),
    )
}


def _where(source: Source, filters: Filters, day: bool) -> tuple[str, list]:
    where, params = filters.where(
        None if day or source.monthly else source.date,
        channel=source.channel,
        warehouse=source.warehouse,
        carrier=source.carrier,
    )
    if source.monthly and not day:
        month = f"{source.date} between cast(date_trunc('month', cast(? as date)) as date) and ?"
        where, params = f"{month} and {where}", [filters.start, filters.end, *params]
    return where, params


def sql(names: list[str], filters: Filters, dimensions: tuple[str, ...] = (), on_day=None) -> tuple[str, list]:
    """The query (and its parameters) computing the KPIs ``names`` of one mart over the filters'
    period, or on one day, per value of ``dimensions`` when given."""
    kpis = [KPIS[n] for n in names]
    sources = {k.source for k in kpis}
    if len(sources) != 1:
        raise ValueError(f"KPIs {names} come from more than one mart: {sorted(sources)}")
    source = SOURCES[sources.pop()]
    where, params = _where(source, filters, day=on_day is not None)
    if on_day is not None:
        where, params = f"{source.date} = ? and {where}", [on_day, *params]
    measures = ", ".join(f"{k.expression()} as {k.name}" for k in kpis)
    if not dimensions:
        return f"select {measures} from {source.table} where {where}", params
    columns = ", ".join(f'{source.dimensions[d]} as "{d}"' for d in dimensions)
    positions = ", ".join(str(i + 1) for i in range(len(dimensions)))
    return (
        f"select {columns}, {measures} from {source.table} where {where} group by {positions} order by {positions}",
        params,
    )


def values(names: list[str], filters: Filters, on_day=None) -> dict:
    """The KPIs ``names`` (of one mart) over the filters' period, or on one day (``on_day``: the
    stock KPIs, an end-of-day position)."""
    query, params = sql(names, filters, on_day=on_day)
    row = data.query(query, params).iloc[0]
    return {n: (None if pd.isna(row[n]) else row[n]) for n in names}


def by(names: list[str], filters: Filters, *dimensions: str, on_day=None) -> pd.DataFrame:
    """The KPIs ``names`` over the filters' period (or on one day) per value of the mart's
    ``dimensions`` (``Source.dimensions``), in that order."""
    query, params = sql(names, filters, dimensions=dimensions, on_day=on_day)
    return data.query(query, params)
