"""Delivery: on-time, OTIF, first-attempt success and exceptions by carrier, warehouse, region or
week; how long click-to-door and order-to-ship take; returns by reason and initiator."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data, kpis
from dashboards.filters import global_filters
from dashboards.ui import histograms, metric, require, require_login, table

require_login()
st.title("Delivery")
require("rpt_kpi_delivery_daily", "rpt_kpi_parcels", "rpt_kpi_returns_daily", what="The delivery marts are")
filters = global_filters()
periods = (filters, filters.previous())

# parcels shipped in the period (the delivery clock starts when the parcel leaves)
RATES = ["on_time_rate", "otif_rate", "first_attempt_rate", "exception_rate"]
HOURS = ["click_to_door_hours_p50", "click_to_door_hours_p90"]
now, before = ({**kpis.values(["parcels_shipped", *RATES], f), **kpis.values(HOURS, f)} for f in periods)
cols = st.columns(7)
metric(cols[0], "Parcels shipped", now["parcels_shipped"], before["parcels_shipped"], compare=filters.compare)
for col, (label, key) in zip(
    cols[1:5],
    [
        ("On-time rate", "on_time_rate"),
        ("OTIF", "otif_rate"),
        ("First-attempt success", "first_attempt_rate"),
        ("Exception rate", "exception_rate"),
    ],
):
    metric(col, label, now[key], before[key], fmt="{:.1%}", compare=filters.compare, inverse=key == "exception_rate")
for col, (label, key) in zip(
    cols[5:],
    [("Click-to-door p50 (h)", "click_to_door_hours_p50"), ("Click-to-door p90 (h)", "click_to_door_hours_p90")],
):
    metric(col, label, now[key], before[key], fmt="{:,.1f}", compare=filters.compare, inverse=True)

st.subheader("Performance by")
dimensions = {"Carrier": "carrier", "Warehouse": "warehouse_id", "Region": "region", "Week shipped": "week"}
by = st.radio("Group by", list(dimensions), horizontal=True, key="delivery_by", label_visibility="collapsed")
grouped = kpis.by(["parcels_shipped", "parcels_delivered", *RATES], filters, by)
if grouped.empty:
    st.info("No parcel shipped in the chosen period and filters.")
    st.stop()
rates = grouped.melt(
    id_vars=[by],
    value_vars=RATES,
    var_name="measure",
    value_name="rate",
)
st.altair_chart(
    alt.Chart(rates)
    .mark_bar()
    .encode(
        x=alt.X(f"{by}:{'T' if by.startswith('Week') else 'N'}", title=by),
        xOffset="measure:N",
        y=alt.Y("rate:Q", title="Share of parcels", axis=alt.Axis(format="%")),
        color=alt.Color("measure:N", title="Measure"),
        tooltip=[f"{by}", "measure:N", alt.Tooltip("rate:Q", format=".1%")],
    ),
    width="stretch",
)
table(grouped, f"delivery_by_{dimensions[by]}")

st.subheader("How long it takes")
where, params = filters.where("ship_date", warehouse="warehouse_id", carrier="carrier")
hours = data.query(f"select hours_click_to_door, hours_order_to_ship from rpt_kpi_parcels where {where}", params)
histograms(
    hours, {"hours_click_to_door": "Click to door (hours)", "hours_order_to_ship": "Order to ship (hours)"}, "Parcels"
)

st.subheader("Returns by reason and initiator")
returns = (
    kpis.by(["returns_received", "units_returned", "refunded"], filters, "reason", "initiator")
    .rename(columns={"returns_received": "returns", "units_returned": "units", "refunded": "refunded_eur"})
    .sort_values(["returns", "reason", "initiator"], ascending=[False, True, True])
)
if not returns.empty:
    st.altair_chart(
        alt.Chart(returns)
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", sort="-x", title="Reason"),
            x=alt.X("returns:Q", title="Returns received"),
            color=alt.Color("initiator:N", title="Initiator"),
            tooltip=["reason:N", "initiator:N", "returns:Q", "units:Q", alt.Tooltip("refunded_eur:Q", format=",.2f")],
        ),
        width="stretch",
    )
table(returns, "returns_by_reason", empty="No return received in the chosen period.")
rate = {k: kpis.values(["return_rate"], f)["return_rate"] for k, f in zip(("now", "before"), periods)}
metric(
    st.columns(4)[0],
    "Return rate",
    rate["now"],
    rate["before"],
    fmt="{:.1%}",
    compare=filters.compare,
    inverse=True,
    help="Orders placed in the period and delivered that came back (at least one return received), "
    "of the orders placed in the period and delivered.",
)
