"""Stock: what can be promised per SKU and warehouse now, how long it lasts, what runs out soon,
what was oversold, and where channels show something other than they should."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data, kpis
from dashboards.filters import global_filters
from dashboards.ui import metric, require, require_login, table

require_login()
st.title("Stock")
require("fct_stock_levels", "rpt_kpi_stock_daily", "rpt_stock_health", "fct_channel_stock", what="The stock marts are")
filters = global_filters()
wh_where, wh_params = filters.where(None, channel=None, warehouse="warehouse_id")

current = data.query(
    f"""
    select sku, category, warehouse_id, on_hand, reserved, safety_stock, available_to_promise, atp_sellable,
           inbound_units, next_inbound_date, sales_velocity_per_day as units_per_day, days_of_cover,
           projected_stockout_date, is_stockout
    from fct_stock_levels where is_current and {wh_where}
    order by sales_velocity_per_day desc, sku, warehouse_id""",
    wh_params,
)
if current.empty:
    st.info("No stock position for the chosen warehouses.")
    st.stop()
as_of = data.query("select max(stock_date) as d from fct_stock_levels where is_current")["d"][0]
st.caption(f"Position at the end of {as_of:%d %b %Y}.")
position = kpis.values(["on_hand", "atp_sellable", "stockouts", "oversold_units"], filters, on_day=as_of)
cols = st.columns(4)
metric(cols[0], "Units on hand", position["on_hand"], compare=False)
metric(cols[1], "Units sellable (ATP)", position["atp_sellable"], compare=False)
metric(
    cols[2],
    "Stock-outs",
    position["stockouts"],
    compare=False,
    inverse=True,
    help="SKU × warehouse with nothing to promise.",
)
metric(cols[3], "Units oversold", position["oversold_units"], compare=False, inverse=True)

st.subheader("Available to promise by SKU and warehouse")
top = st.slider("Best-selling SKUs shown", 10, 100, 30, step=10, key="top_skus")
velocity = kpis.by(["sales_velocity"], filters, "sku", on_day=as_of).sort_values(
    ["sales_velocity", "sku"], ascending=[False, True]
)
skus = velocity["sku"].head(top).tolist()
heat = current[current["sku"].isin(skus)]
st.altair_chart(
    alt.Chart(heat)
    .mark_rect()
    .encode(
        x=alt.X("warehouse_id:N", title="Warehouse"),
        y=alt.Y("sku:N", sort=skus, title="SKU (best-selling first)"),
        color=alt.Color(
            "available_to_promise:Q", title="ATP (units)", scale=alt.Scale(scheme="redyellowgreen", domainMid=0)
        ),
        tooltip=[
            "sku:N",
            "warehouse_id:N",
            "on_hand:Q",
            "reserved:Q",
            "safety_stock:Q",
            "available_to_promise:Q",
            "days_of_cover:Q",
        ],
    ),
    width="stretch",
)
table(current, "stock_positions")

st.subheader("Running out within 14 days")
soon = current[(~current["is_stockout"]) & current["days_of_cover"].notna() & (current["days_of_cover"] < 14)]
table(
    soon.sort_values("days_of_cover")[
        [
            "sku",
            "warehouse_id",
            "atp_sellable",
            "units_per_day",
            "days_of_cover",
            "projected_stockout_date",
            "next_inbound_date",
            "inbound_units",
        ]
    ],
    "upcoming_stockouts",
    empty="Nothing runs out within 14 days at the current sales rate.",
)

st.subheader("Available to promise over the period")
history = data.query(
    f"""
    select stock_date, warehouse_id, atp_sellable as sellable_units, oversold_units, stockout_pairs as stockouts
    from rpt_kpi_stock_daily where stock_date between ? and ? and {wh_where} order by 1, 2""",
    [filters.start, filters.end, *wh_params],
)
st.altair_chart(
    alt.Chart(history)
    .mark_line()
    .encode(
        x=alt.X("stock_date:T", title="Day"),
        y=alt.Y("stockouts:Q", title="SKUs out of stock"),
        color=alt.Color("warehouse_id:N", title="Warehouse"),
    ),
    width="stretch",
)

st.subheader("Oversells")
health_where, health_params = filters.where(None, channel=None, warehouse="warehouse_id")
oversells = data.query(
    f"""
    select observed_date as day, order_key, sku, warehouse_id, store_id, quantity as available_to_promise
    from rpt_stock_health where issue = 'oversell' and observed_date between ? and ? and {health_where}
    order by observed_date desc""",
    [filters.start, filters.end, *health_params],
)
table(oversells, "oversells", empty="No order was accepted against negative stock in the period.")

st.subheader("Channel drift")
ch_where, ch_params = filters.where(None)
drift = data.query(
    f"""
    select store_id, channel, sku, quantity_to_show, quantity_to_send, channel_available, drift_units,
           channel_observed_at
    from fct_channel_stock where has_drift and {ch_where} order by abs(drift_units) desc""",
    ch_params,
)
read = not data.query("select 1 as seen from fct_channel_stock where channel_observed_at is not null limit 1").empty
table(
    drift,
    "channel_drift",
    empty="Every channel shows what it should."
    if read
    else "No channel inventory has been read yet, so drift cannot be measured.",
)
