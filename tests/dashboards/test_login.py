"""With ``dashboard_login`` on, nothing of the snapshot shows before the login: not the app, not any
page script run on its own (as Streamlit's legacy ``pages/`` mode runs them, without app.py), and
with no login provider configured the app says what is missing instead of failing. A logged-in
user sees the pages. (The real-browser check of every page's URL is in test_browser.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
APP = str(DASHBOARDS / "app.py")
VIEWS = sorted(p.stem for p in (DASHBOARDS / "views").glob("*.py") if p.stem != "__init__")
LOGGED_OUT = {"is_logged_in": False}  # what st.user holds for a visitor when an [auth] provider is configured


@pytest.fixture
def login_on(snapshot, built_env, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_LOGIN", "true")


def _shows_nothing_of_the_snapshot(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["afterclick"]
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart") and not at.get("download_button")
    assert not at.sidebar.caption  # not even the snapshot's version


def test_the_page_scripts_are_not_in_a_pages_folder():
    """A pages/ folder beside app.py switches Streamlit to its legacy multipage mode, where a page's
    URL runs the page's script without app.py (and so without its login)."""
    assert not (DASHBOARDS / "pages").exists()
    assert VIEWS == ["customers", "delivery", "order_cycle", "overview", "runs", "stock", "writeback"]


@pytest.mark.parametrize("view", VIEWS)
def test_every_page_script_on_its_own_asks_for_the_login(login_on, view):
    at = AppTest.from_file(str(DASHBOARDS / "views" / f"{view}.py"), default_timeout=60)
    at.user = dict(LOGGED_OUT)
    at.run()
    _shows_nothing_of_the_snapshot(at)
    assert [b.label for b in at.button] == ["Log in"]


def test_the_app_shows_the_login_until_the_user_is_logged_in(login_on):
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = dict(LOGGED_OUT)
    at.run()
    _shows_nothing_of_the_snapshot(at)
    assert [b.label for b in at.button] == ["Log in"]
    at.user = {"is_logged_in": True, "email": "ops@example.com"}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview" and at.metric and at.dataframe
    assert "Log out" in [b.label for b in at.sidebar.button]


def test_the_login_on_without_a_provider_says_what_is_missing(login_on):
    """No [auth] section in secrets.toml: st.user has no is_logged_in; the app explains, shows nothing."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {}
    at.run()
    _shows_nothing_of_the_snapshot(at)
    assert not at.button
    assert "[auth]" in at.error[0].value and "secrets.toml" in at.error[0].value
