"""afterclick dashboards: a Streamlit multipage app over the serving snapshot (read-only)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` does not add the repo root

from dashboards import data  # noqa: E402

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="afterclick", page_icon="📦", layout="wide")

info = data.snapshot_info()
if info is None:
    st.title("afterclick")
    st.info("No serving snapshot yet. Run `afterclick run` (or `make demo`) and reload this page.")
    st.stop()
st.sidebar.caption(f"Snapshot {info['version']}  \npublished {info['published_at']:%Y-%m-%d %H:%M:%S %Z}")

navigation = st.navigation([
    st.Page(PAGES / "overview.py", title="Overview", icon="📊", default=True),
])
navigation.run()
