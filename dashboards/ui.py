"""Small building blocks the pages share: a page's required marts, tables with a CSV download,
metrics with the change against the comparison period, masked emails."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import streamlit as st

from afterclick.settings import load_settings
from dashboards import data


def require(*tables: str, what: str) -> None:
    """Stop the page with a friendly message when a mart it reads is not in the snapshot."""
    missing = [t for t in tables if not data.table_exists(t)]
    if missing:
        st.info(f"{what} not built yet: {', '.join(f'`{t}`' for t in missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing from the snapshot. Run `afterclick run`.")
        st.stop()


def table(frame: pd.DataFrame, name: str, *, empty: str = "Nothing to show for these filters.",
          column_config: dict | None = None) -> None:
    """A table and its CSV download (every table on every page is downloadable)."""
    if frame.empty:
        st.caption(empty)
        return
    st.dataframe(frame, width="stretch", hide_index=True, column_config=column_config)
    st.download_button(f"Download {name}.csv", frame.to_csv(index=False), f"{name}.csv", "text/csv",
                       key=f"download-{name}")


def metric(column, label: str, value: float | None, previous: float | None = None, *, fmt: str = "{:,.0f}",
           compare: bool = True, inverse: bool = False, help: str | None = None) -> None:
    """A metric, with its change against the comparison period when there is one."""
    shown = "—" if value is None or pd.isna(value) else fmt.format(value)
    delta = None
    if compare and previous is not None and not pd.isna(previous) and value is not None and not pd.isna(value):
        delta = fmt.format(value - previous)
        if not delta.startswith("-"):
            delta = "+" + delta
    column.metric(label, shown, delta, delta_color="inverse" if inverse else "normal", help=help)


def histograms(frame: pd.DataFrame, fields: dict[str, str], count_title: str) -> None:
    """Side-by-side distributions of ``fields`` (column -> axis title), nulls left out."""
    for col, (field, title) in zip(st.columns(len(fields)), fields.items()):
        col.altair_chart(alt.Chart(frame.dropna(subset=[field])).mark_bar().encode(
            x=alt.X(f"{field}:Q", bin=alt.Bin(maxbins=40), title=title),
            y=alt.Y("count():Q", title=count_title),
        ), width="stretch")


_EMAIL = re.compile(r"^(.)[^@]*(@.*)$")


def mask_emails(series: pd.Series) -> pd.Series:
    """a****@example.com, unless settings allow showing customer emails."""
    if load_settings().show_customer_emails:
        return series
    return series.map(lambda e: _EMAIL.sub(r"\1****\2", e) if isinstance(e, str) else e)
