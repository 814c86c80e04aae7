"""Small building blocks the pages share: the login every page requires, a page's required marts,
tables with a CSV download, metrics with the change against the comparison period, customers'
addresses as readers see them."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import streamlit as st

from afterclick import pseudonyms
from afterclick.settings import load_settings
from dashboards import data


def login_required() -> bool:
    """True while the visitor must still log in: ``dashboard_login`` is on and st.user is not logged in."""
    return load_settings().dashboard_login and st.user.get("is_logged_in") is not True


def login_screen() -> None:
    """The login (or, with no provider configured, why there is none), then stop: nothing below runs."""
    st.title("afterclick")
    if "is_logged_in" in st.user:  # Streamlit sets it only when an [auth] provider is configured
        st.caption("The dashboards require a login.")
        st.button("Log in", on_click=st.login, type="primary", key="login")
    else:
        st.error(
            "The dashboards require a login (`dashboard_login` is on), but no login provider is "
            "configured: add an `[auth]` section to `.streamlit/secrets.toml` in the directory "
            "`afterclick dashboard` is started from (see the security docs)."
        )
    st.stop()


def require_login() -> None:
    """First line of every page: with ``dashboard_login`` on, a visitor who is not logged in sees the
    login, never the page, whichever way the page was reached (app.py's navigation checks first too)."""
    if login_required():
        login_screen()


def require(*tables: str, what: str) -> None:
    """Stop the page with a friendly message when a mart it reads is not in the snapshot."""
    missing = [t for t in tables if not data.table_exists(t)]
    if missing:
        st.info(
            f"{what} not built yet: {', '.join(f'`{t}`' for t in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing from the snapshot. Run `afterclick run`."
        )
        st.stop()


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    empty: str = "Nothing to show for these filters.",
    column_config: dict | None = None,
) -> None:
    """A table and its CSV download (every table on every page is downloadable)."""
    if frame.empty:
        st.caption(empty)
        return
    st.dataframe(frame, width="stretch", hide_index=True, column_config=column_config)
    st.download_button(
        f"Download {name}.csv", frame.to_csv(index=False), f"{name}.csv", "text/csv", key=f"download-{name}"
    )


def metric(
    column,
    label: str,
    value: float | None,
    previous: float | None = None,
    *,
    fmt: str = "{:,.0f}",
    compare: bool = True,
    inverse: bool = False,
    help: str | None = None,
) -> None:
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
        col.altair_chart(
            alt.Chart(frame.dropna(subset=[field]))
            .mark_bar()
            .encode(
                x=alt.X(f"{field}:Q", bin=alt.Bin(maxbins=40), title=title),
                y=alt.Y("count():Q", title=count_title),
            ),
            width="stretch",
        )


_PSEUDONYM = re.compile(rf"\b({re.escape(pseudonyms.PREFIX)}[0-9a-f]{{8}})[0-9a-f]{{{pseudonyms.DIGITS - 8}}}\b")
_EMAIL = re.compile(r"([A-Za-z0-9])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]*(@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def mask_customers(series: pd.Series) -> pd.Series:
    """Customers' addresses as a reader sees them, whole values or inside a text: a pseudonym
    shortened (anon-3f9a1b2c…); an email as it is where the snapshot publishes them
    (publish_customer_addresses), else masked (a****@example.com: a snapshot published before)."""
    clear = load_settings().publish_customer_addresses

    def shown(value):
        if not isinstance(value, str):
            return value
        value = _PSEUDONYM.sub(r"\1…", value)
        return value if clear else _EMAIL.sub(r"\1****\2", value)

    return series.map(shown)
