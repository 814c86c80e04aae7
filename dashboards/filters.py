"""Global filters, kept in the URL query parameters so a view can be shared.

The sidebar holds the date range (with a comparison period: the same number of days just before),
channels, warehouses and carriers. Each page applies the ones its data has, through ``where``,
which returns placeholders and parameters: filter values never become SQL text.

The default period is the 30 days up to the newest data, but never past the day the snapshot's
marts are computed as of: a bad timestamp far in the future (an order dated 2099) does not move it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboards import data


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    channels: tuple[str, ...] = ()
    warehouses: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    compare: bool = True
    ends_at_latest: bool = False  # the period runs to the newest data (operational pages may run to now)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The comparison period: as many days, ending the day before ``start``."""
        end = self.start - timedelta(days=1)
        return replace(self, start=end - timedelta(days=self.days - 1), end=end)

    def where(
        self,
        date_column: str | None = "placed_date",
        channel: str | None = "channel",
        warehouse: str | None = None,
        carrier: str | None = None,
    ) -> tuple[str, list]:
        """A WHERE clause over the given columns (None: not filtered), and its parameters."""
        clauses: list[str] = []
        params: list = []
        if date_column:
            clauses.append(f"{date_column} between ? and ?")
            params += [self.start, self.end]
        for column, values in ((channel, self.channels), (warehouse, self.warehouses), (carrier, self.carriers)):
            if column and values:
                clauses.append(f"{column} in ({', '.join('?' for _ in values)})")
                params += list(values)
        return (" and ".join(clauses) or "true"), params


def _parse_date(value: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(value) if value else fallback
    except ValueError:
        return fallback


def _options(sql: str, column: str) -> list[str]:
    try:
        return [v for v in data.query(sql)[column].tolist() if v is not None]
    except Exception:  # noqa: BLE001 - a mart not built yet offers no options
        return []


def _multiselect(label: str, key: str, options: list[str], placeholder: str) -> list[str]:
    chosen = [v for v in st.query_params.get_all(key) if v in options]
    picked = st.multiselect(label, options, default=chosen, key=key, placeholder=placeholder)
    st.query_params[key] = picked
    return picked


def as_of_day() -> date:
    """The day the snapshot's marts are computed as of (the build's as-of instant, kept as the as-of
    day of ``dim_dates``); today (UTC) for a snapshot without the calendar."""
    if data.table_exists("dim_dates"):
        day = data.query("select max(date_day) as d from dim_dates where is_as_of_day")["d"][0]
        if pd.notna(day):
            return pd.Timestamp(day).date()
    return datetime.now(UTC).date()


def global_filters() -> Filters:
    as_of = as_of_day()
    # the newest data up to the as-of day: an order dated later is a bad timestamp, not news
    bounds = data.query(
        "select min(placed_date) as lo, max(case when placed_date <= ? then placed_date end) as hi from fct_orders",
        [as_of],
    )
    hi = bounds["hi"][0].date() if pd.notna(bounds["hi"][0]) else as_of
    lo_all = min(bounds["lo"][0].date(), hi) if pd.notna(bounds["lo"][0]) else hi
    default_start = max(lo_all, hi - timedelta(days=29))
    qp = st.query_params
    start = min(max(_parse_date(qp.get("start"), default_start), lo_all), hi)
    end = min(max(_parse_date(qp.get("end"), hi), start), hi)
    with st.sidebar:
        picked = st.date_input("Period", value=(start, end), min_value=lo_all, max_value=hi, key="dates")
        compare = st.toggle("Compare with the previous period", value=qp.get("compare", "1") != "0", key="compare")
        channels = _multiselect(
            "Channel",
            "channel",
            _options("select distinct channel from fct_orders order by 1", "channel"),
            "All channels",
        )
        warehouses = _multiselect(
            "Warehouse",
            "warehouse",
            _options(
                "select distinct warehouse_id from fct_shipments where warehouse_id is not null order by 1",
                "warehouse_id",
            ),
            "All warehouses",
        )
        carriers = _multiselect(
            "Carrier",
            "carrier",
            _options("select distinct carrier from fct_shipments where carrier is not null order by 1", "carrier"),
            "All carriers",
        )
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    st.query_params.update({"start": start.isoformat(), "end": end.isoformat(), "compare": "1" if compare else "0"})
    return Filters(
        start=start,
        end=end,
        channels=tuple(channels),
        warehouses=tuple(warehouses),
        carriers=tuple(carriers),
        compare=compare,
        ends_at_latest=end >= hi,
    )
