"""afterclick dashboards: a Streamlit multipage app over the serving snapshot (read-only)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` does not add the repo root

from afterclick.settings import load_settings  # noqa: E402
from dashboards import data  # noqa: E402

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="afterclick", page_icon=":material/inventory_2:", layout="wide")

info = data.snapshot_info()
if info is None:
    st.title("afterclick")
    st.info("No serving snapshot yet. Run `afterclick run` (or `make demo`) and reload this page.")
    st.stop()
if load_settings().dashboard_login and not st.user.is_logged_in:
    st.title("afterclick")
    st.button("Log in", on_click=st.login)
    st.stop()

navigation = st.navigation([
    st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(PAGES / "order_cycle.py", title="Order cycle", icon=":material/autorenew:"),
    st.Page(PAGES / "delivery.py", title="Delivery", icon=":material/local_shipping:"),
    st.Page(PAGES / "stock.py", title="Stock", icon=":material/inventory_2:"),
    st.Page(PAGES / "customers.py", title="Customers", icon=":material/group:"),
    st.Page(PAGES / "writeback.py", title="Write-back", icon=":material/sync_alt:"),
    st.Page(PAGES / "runs.py", title="Runs", icon=":material/history:"),
])
navigation.run()
# under the page's filters: which snapshot the numbers come from, and when it was built
st.sidebar.caption(f"Snapshot {info['version']}  \npublished {info['published_at']:%Y-%m-%d %H:%M:%S %Z}")
