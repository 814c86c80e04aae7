"""Runs: the last run of every flow with its figures (what `afterclick status` shows), the runs
that failed or were partial (some sources failed) and why, and how long the runs took (from ``ops.runs`` in the snapshot)."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data
from dashboards.ui import metric, require_login, table

FIGURES = """
    flow, status, started_at, finished_at,
    cast(summary->>'$.seconds' as double) as seconds,
    cast(summary->>'$.ingest.rows_landed' as bigint) as rows_landed,
    cast(summary->>'$.ingest.rows_quarantined' as bigint) as quarantined,
    cast(summary->>'$.transform.models_built' as integer) as models_built,
    cast(summary->>'$.transform.tests_failed' as integer) as tests_failed,
    cast(summary->>'$.writeback.pushed' as bigint) as pushed,
    cast(summary->>'$.writeback.failed' as bigint) as to_retry,
    cast(summary->>'$.writeback.dead' as bigint) as dead,
    error"""

require_login()
st.title("Runs")
last = (
    data.query(
        f"select {FIGURES} from ops.runs "
        "qualify row_number() over (partition by flow order by started_at desc) = 1 order by flow"
    )
    if data.table_exists("runs")
    else None
)
if last is None or last.empty:
    st.info(
        "No run recorded yet: `ops.runs` in the snapshot is empty or absent. Run `afterclick run` or "
        "`afterclick serve`."
    )
    st.stop()
failed_now = int((last["status"] != "success").sum())  # failed, or partial: some sources failed
cols = st.columns(3)
metric(cols[0], "Flows", len(last), compare=False)
metric(cols[1], "Whose last run failed or was partial", failed_now, compare=False, inverse=True)
cols[2].metric("Newest run finished", f"{last['finished_at'].max():%Y-%m-%d %H:%M} UTC")

st.subheader("Last run of every flow")
table(last, "runs_last")

st.subheader("Run time")
recent = data.query(f"select {FIGURES} from ops.runs order by started_at desc limit 500")
st.altair_chart(
    alt.Chart(recent)
    .mark_circle(size=60)
    .encode(
        x=alt.X("started_at:T", title="Started (UTC)"),
        y=alt.Y("seconds:Q", title="Seconds"),
        color=alt.Color("flow:N", title="Flow"),
        shape=alt.Shape("status:N", title="Status"),
        tooltip=["flow:N", "status:N", "started_at:T", "seconds:Q", "rows_landed:Q", "pushed:Q", "error:N"],
    )
)

st.subheader("Failed and partial runs")
st.caption("A partial run landed, built and published all but the sources its error names.")
table(recent[recent["status"] != "success"], "runs_failed", empty="No run failed.")
