"""Overview: orders and revenue by channel and day."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data
from dashboards.filters import global_filters

st.title("Overview")
if not data.table_exists("rpt_orders_daily"):
    st.info("Orders are not built yet: `rpt_orders_daily` is missing from the snapshot. Run `afterclick run`.")
    st.stop()

filters = global_filters()
where, params = filters.where()
totals = data.query(f"select coalesce(sum(orders), 0) as orders, coalesce(sum(revenue_rc), 0) as revenue "
                    f"from rpt_orders_daily where {where}", params)
col1, col2 = st.columns(2)
col1.metric("Orders", f"{int(totals['orders'][0]):,}")
col2.metric("Revenue (EUR)", f"{totals['revenue'][0]:,.2f}")

daily = data.query(f"select placed_date, channel, sum(orders) as orders, sum(revenue_rc) as revenue_eur "
                   f"from rpt_orders_daily where {where} group by all order by 1, 2", params)
if daily.empty:
    st.info("No orders in the chosen period and channels.")
    st.stop()
st.subheader("Orders by channel and day")
st.altair_chart(alt.Chart(daily).mark_bar().encode(
    x=alt.X("placed_date:T", title="Day placed"),
    y=alt.Y("orders:Q", title="Orders"),
    color=alt.Color("channel:N", title="Channel"),
    tooltip=["placed_date:T", "channel:N", "orders:Q", alt.Tooltip("revenue_eur:Q", format=",.2f")],
), width="stretch")
st.subheader("Revenue by channel and day (EUR)")
st.altair_chart(alt.Chart(daily).mark_line().encode(
    x=alt.X("placed_date:T", title="Day placed"),
    y=alt.Y("revenue_eur:Q", title="Revenue (EUR)"),
    color=alt.Color("channel:N", title="Channel"),
), width="stretch")
st.dataframe(daily, width="stretch", hide_index=True)
st.download_button("Download CSV", daily.to_csv(index=False), "orders_by_channel_day.csv", "text/csv")
