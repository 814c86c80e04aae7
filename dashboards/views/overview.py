"""Overview: the period's orders, revenue and delivery, and what needs attention now, each against
the comparison period."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, kpis
from dashboards.filters import global_filters
from dashboards.ui import mask_customers, metric, require, require_login, table

require_login()
st.title("Overview")
require("rpt_kpi_orders_daily", what="Orders are")

filters = global_filters()
periods = {"now": filters, "before": filters.previous()}


def _stock_day(f):
    """The end-of-period stock position's day: the period's last day, or the newest position."""
    last = data.query("select max(stock_date) as d from rpt_kpi_stock_daily")["d"][0]
    return None if last is None or pd.isna(last) else min(f.end, last.date())


orders = {k: kpis.values(["orders", "revenue"], f) for k, f in periods.items()}
on_time = {
    k: kpis.values(["on_time_rate"], f)["on_time_rate"] if data.table_exists("rpt_kpi_delivery_daily") else None
    for k, f in periods.items()
}
cols = st.columns(6)
metric(cols[0], "Orders", orders["now"]["orders"], orders["before"]["orders"], compare=filters.compare)
metric(
    cols[1],
    "Revenue (EUR)",
    orders["now"]["revenue"],
    orders["before"]["revenue"],
    compare=filters.compare,
    help="Net sales of the orders placed in the period and not canceled: items − discounts, "
    "without tax and shipping, before refunds.",
)
metric(
    cols[2],
    "On-time rate",
    on_time["now"],
    on_time["before"],
    fmt="{:.1%}",
    compare=filters.compare,
    help="Parcels shipped in the period and delivered, that arrived by the end of their promised day.",
)
if data.table_exists("rpt_stuck_orders"):
    metric(
        cols[3],
        "Stuck orders now",
        kpis.values(["stuck_orders_now"], filters)["stuck_orders_now"],
        compare=False,
        inverse=True,
        help="Orders sitting in their stage longer than its SLA.",
    )
else:
    cols[3].metric("Stuck orders now", "—")
if data.table_exists("rpt_kpi_stock_daily"):
    stockouts = {k: kpis.values(["stockouts"], f, on_day=_stock_day(f))["stockouts"] for k, f in periods.items()}
else:
    stockouts = {"now": None, "before": None}
metric(
    cols[4],
    "Stock-outs",
    stockouts["now"],
    stockouts["before"],
    compare=filters.compare,
    inverse=True,
    help="SKU × warehouse with nothing to promise at the end of the period (vs. the end of the previous one).",
)
if data.table_exists("writeback_attempts"):
    failed = {k: kpis.values(["writeback_failures"], f)["writeback_failures"] for k, f in periods.items()}
    metric(cols[5], "Write-back failures", failed["now"], failed["before"], compare=filters.compare, inverse=True)
else:
    cols[5].metric("Write-back failures", "—", help="No write-back has run yet.")
if filters.compare:
    st.caption(f"Changes against {filters.previous().start:%d %b %Y} – {filters.previous().end:%d %b %Y}.")

FINDINGS_SHOWN = 5  # newest open findings listed per check
if data.table_exists("rpt_data_quality"):
    findings = data.query(
        "select check_name, store_id, entity, record_key, detail, first_seen_at "
        "from rpt_data_quality where is_open "
        "qualify row_number() over (partition by check_name order by first_seen_at desc, "
        f"record_key) <= {FINDINGS_SHOWN} order by check_name, first_seen_at desc, record_key"
    )
    open_findings = int(kpis.values(["open_findings"], filters)["open_findings"])
    with st.expander(f"Data-quality findings: {open_findings:,} open"):
        st.caption(
            "Records that break a check on the sources' data (values that do not add up, impossible "
            "dates, lines without an order). They are kept as the source states them and never stop "
            f"the build; fix them at the source. The newest {FINDINGS_SHOWN} of each check; all of "
            "them in rpt_data_quality and `afterclick status`."
        )
        shown = findings.copy()
        shown["detail"] = mask_customers(shown["detail"])
        table(shown, "data_quality_findings", empty="No open findings.")

daily = kpis.by(["orders", "revenue"], filters, "placed_date", "channel").rename(columns={"revenue": "revenue_eur"})
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
