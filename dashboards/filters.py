"""Global filters, kept in the URL query parameters so a view can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import streamlit as st

from dashboards import data


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    channels: tuple[str, ...]

    def where(self, date_column: str = "placed_date", channel_column: str = "channel") -> tuple[str, list]:
        """A WHERE clause with placeholders, and its parameters (never string-built values)."""
        clause = f"{date_column} between ? and ?"
        params: list = [self.start, self.end]
        if self.channels:
            clause += f" and {channel_column} in ({', '.join('?' for _ in self.channels)})"
            params += list(self.channels)
        return clause, params


def _parse_date(value: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(value) if value else fallback
    except ValueError:
        return fallback


def global_filters() -> Filters:
    bounds = data.query("select min(placed_date) as lo, max(placed_date) as hi from fct_orders")
    hi = bounds["hi"][0].date() if bounds["hi"][0] is not None else date.today()
    lo_all = bounds["lo"][0].date() if bounds["lo"][0] is not None else hi
    default_start = max(lo_all, hi - timedelta(days=89))
    qp = st.query_params
    start = _parse_date(qp.get("start"), default_start)
    end = _parse_date(qp.get("end"), hi)
    all_channels = data.query("select distinct channel from fct_orders order by 1")["channel"].tolist()
    chosen = [c for c in qp.get_all("channel") if c in all_channels]
    with st.sidebar:
        picked = st.date_input("Placed between", value=(start, end), min_value=lo_all, max_value=hi, key="dates")
        channels = st.multiselect("Channel", all_channels, default=chosen, key="channels",
                                  placeholder="All channels")
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    st.query_params.update({"start": start.isoformat(), "end": end.isoformat()})
    st.query_params["channel"] = channels
    return Filters(start=start, end=end, channels=tuple(channels))
