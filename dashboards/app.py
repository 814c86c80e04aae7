"""afterclick dashboards: a Streamlit multipage app over the serving snapshot (read-only)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` does not add the repo root

from dashboards import data, ui

# The page scripts live in views/, not pages/: a pages/ folder beside this script would switch
# Streamlit to its legacy multipage mode, where a page's URL runs the page without this script.
VIEWS = Path(__file__).parent / "views"
PAGES = {  # script (its name is the page's URL path) -> title, icon; the first is the home page
    "overview": ("Overview", ":material/dashboard:"),
    "order_cycle": ("Order cycle", ":material/autorenew:"),
    "delivery": ("Delivery", ":material/local_shipping:"),
    "stock": ("Stock", ":material/inventory_2:"),
    "customers": ("Customers", ":material/group:"),
    "writeback": ("Write-back", ":material/sync_alt:"),
    "runs": ("Runs", ":material/history:"),
}
HOME = next(iter(PAGES))

st.set_page_config(page_title="afterclick", page_icon=":material/inventory_2:", layout="wide")

if ui.login_required():
    # not logged in: every page's address leads to the login screen, never to the page's script
    st.navigation(
        [
            st.Page(ui.login_screen, title=title, url_path=name, default=name == HOME)
            for name, (title, _) in PAGES.items()
        ],
        position="hidden",
    ).run()
    st.stop()

info = data.snapshot_info()
if info is None:
    st.title("afterclick")
    st.info("No serving snapshot yet. Run `afterclick run` (or `make demo`) and reload this page.")
    st.stop()

navigation = st.navigation(
    [
        st.Page(VIEWS / f"{name}.py", title=title, icon=icon, default=name == HOME)
        for name, (title, icon) in PAGES.items()
    ]
)
navigation.run()
# under the page's filters: which snapshot the numbers come from, and when it was built
st.sidebar.caption(f"Snapshot {info['version']}  \npublished {info['published_at']:%Y-%m-%d %H:%M:%S %Z}")
if st.user.get("is_logged_in"):
    st.sidebar.button("Log out", on_click=st.logout, key="logout")
