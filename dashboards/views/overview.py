"""Overview: the period's orders, revenue and delivery, and what needs attention now, each against
the comparison period."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data
from dashboards.filters import global_filters
from dashboards.ui import mask_emails, metric, require, require_login, table

require_login()
st.title("Overview")
require("rpt_orders_daily", what="Orders are")

filters = global_filters()
periods = {"now": filters, "before": filters.previous()}


def _orders(f):
    where, params = f.where()
    return data.query(
        f"select coalesce(sum(orders), 0) as orders, coalesce(sum(revenue_rc), 0) as revenue "
        f"from rpt_orders_daily where {where}",
        params,
    ).iloc[0]


def _delivery(f):
    if not data.table_exists("fct_shipments"):
        return None
    where, params = f.where("cast(delivered_at as date)", warehouse="warehouse_id", carrier="carrier")
    return data.query(
        f"select avg(case when is_on_time then 1.0 else 0.0 end) as on_time "
        f"from fct_shipments where delivered_at is not null and {where}",
        params,
    )["on_time"][0]


def _stockouts(day):
    if not data.table_exists("fct_stock_levels"):
        return None
    where, params = filters.where(None, channel=None, warehouse="warehouse_id")
    return data.query(
        f"select count(*) as n from fct_stock_levels where stock_date = ? and is_stockout and {where}", [day, *params]
    )["n"][0]


orders = {k: _orders(f) for k, f in periods.items()}
on_time = {k: _delivery(f) for k, f in periods.items()}
cols = st.columns(6)
metric(cols[0], "Orders", orders["now"]["orders"], orders["before"]["orders"], compare=filters.compare)
metric(cols[1], "Revenue (EUR)", orders["now"]["revenue"], orders["before"]["revenue"], compare=filters.compare)
metric(
    cols[2],
    "On-time rate",
    on_time["now"],
    on_time["before"],
    fmt="{:.1%}",
    compare=filters.compare,
    help="Parcels delivered in the period by the end of their promised day.",
)
if data.table_exists("rpt_stuck_orders"):
    where, params = filters.where(None)
    stuck = data.query(f"select count(*) as n from rpt_stuck_orders where {where}", params)["n"][0]
    metric(
        cols[3],
        "Stuck orders now",
        stuck,
        compare=False,
        inverse=True,
        help="Orders sitting in their stage longer than its SLA.",
    )
else:
    cols[3].metric("Stuck orders now", "—")
last_day = (
    data.query("select max(stock_date) as d from fct_stock_levels")["d"][0]
    if data.table_exists("fct_stock_levels")
    else None
)
metric(
    cols[4],
    "Stock-outs",
    _stockouts(min(filters.end, last_day.date())) if last_day is not None else None,
    _stockouts(filters.previous().end) if last_day is not None else None,
    compare=filters.compare,
    inverse=True,
    help="SKU × warehouse with nothing to promise at the end of the period (vs. the end of the previous one).",
)
if data.table_exists("writeback_attempts"):
    failed = {
        k: data.query(
            "select count(*) as n from ops.writeback_attempts where outcome = 'failed' "
            "and cast(attempted_at as date) between ? and ?",
            [f.start, f.end],
        )["n"][0]
        for k, f in periods.items()
    }
    metric(cols[5], "Write-back failures", failed["now"], failed["before"], compare=filters.compare, inverse=True)
else:
    cols[5].metric("Write-back failures", "—", help="No write-back has run yet.")
if filters.compare:
    st.caption(f"Changes against {filters.previous().start:%d %b %Y} – {filters.previous().end:%d %b %Y}.")

FINDINGS_SHOWN = 5  # newest open findings listed per check
if data.table_exists("rpt_data_quality"):
    findings = data.query(
        "select check_name, store_id, entity, record_key, detail, first_seen_at, "
        "count(*) over () as open_findings from rpt_data_quality where is_open "
        "qualify row_number() over (partition by check_name order by first_seen_at desc, "
        f"record_key) <= {FINDINGS_SHOWN} order by check_name, first_seen_at desc, record_key"
    )
    open_findings = 0 if findings.empty else int(findings["open_findings"].iloc[0])
    with st.expander(f"Data-quality findings: {open_findings:,} open"):
        st.caption(
            "Records that break a check on the sources' data (values that do not add up, impossible "
            "dates, lines without an order). They are kept as the source states them and never stop "
            f"the build; fix them at the source. The newest {FINDINGS_SHOWN} of each check; all of "
            "them in rpt_data_quality and `afterclick status`."
        )
        shown = findings.drop(columns="open_findings")
        shown["detail"] = mask_emails(shown["detail"])
        table(shown, "data_quality_findings", empty="No open findings.")

where, params = filters.where()
daily = data.query(
    f"select placed_date, channel, sum(orders) as orders, sum(revenue_rc) as revenue_eur "
    f"from rpt_orders_daily where {where} group by all order by 1, 2",
    params,
)
if daily.empty:
    st.info("No orders in the chosen period and channels.")
    st.stop()
st.subheader("Orders by channel and day")
st.altair_chart(
    alt.Chart(daily)
    .mark_bar()
    .encode(
        x=alt.X("placed_date:T", title="Day placed"),
        y=alt.Y("orders:Q", title="Orders"),
        color=alt.Color("channel:N", title="Channel"),
        tooltip=["placed_date:T", "channel:N", "orders:Q", alt.Tooltip("revenue_eur:Q", format=",.2f")],
    ),
    width="stretch",
)
st.subheader("Revenue by channel and day (EUR)")
st.altair_chart(
    alt.Chart(daily)
    .mark_line()
    .encode(
        x=alt.X("placed_date:T", title="Day placed"),
        y=alt.Y("revenue_eur:Q", title="Revenue (EUR)"),
        color=alt.Color("channel:N", title="Channel"),
    ),
    width="stretch",
)
table(daily, "orders_by_channel_day")
