"""One real browser (Debian's Chromium driven by Playwright) against the real Streamlit server
started by ``afterclick dashboard``: every page opens and shows its title, a filter changes the
numbers and lands in the URL, and each page leaves a screenshot in the test's output directory.
With the login on, every page's URL shows the login and nothing of the snapshot; by default the
server answers on loopback only."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.sync_api import expect, sync_playwright

from afterclick import warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = {
    "overview": ("", "Overview"),
    "order_cycle": ("order_cycle", "Order cycle"),
    "delivery": ("delivery", "Delivery"),
    "stock": ("stock", "Stock"),
    "customers": ("customers", "Customers"),
    "writeback": ("writeback", "Write-back"),
    "runs": ("runs", "Runs"),
}
# Chromium as root in a container, with no network beyond loopback: no sandbox, no background calls.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _dashboard(port: int, cwd: Path | None = None):
    """``afterclick dashboard`` on ``port`` (started in ``cwd``): its URL once it answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "afterclick.cli", "dashboard", "--port", str(port)],
        env=os.environ.copy(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:  # ready when Streamlit's health endpoint answers
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited: {proc.stdout.read()}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the dashboard did not answer within 90 s")
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and anything it started
        proc.wait(timeout=30)


@pytest.fixture
def server(built_env):
    warehouse.publish(built_env[0])
    with _dashboard(_free_port()) as url:
        yield url


# What Streamlit's st.login needs to offer the login: an [auth] section in .streamlit/secrets.toml
# of the directory the server starts in. The provider is a dummy: it is only asked once a user
# clicks "Log in", which this test does not do.
AUTH_SECRETS = """[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{cookie_secret}"
client_id = "afterclick-dashboards"
client_secret = "{client_secret}"
server_metadata_url = "http://127.0.0.1:{port}/.well-known/openid-configuration"
"""


@pytest.fixture
def login_server(built_env, tmp_path, monkeypatch):
    """The dashboards with dashboard_login on, started from a directory holding a login provider."""
    warehouse.publish(built_env[0])
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_LOGIN", "true")
    port = _free_port()
    workdir = tmp_path / "workdir"
    (workdir / ".streamlit").mkdir(parents=True)
    (workdir / ".streamlit" / "secrets.toml").write_text(
        AUTH_SECRETS.format(port=port, cookie_secret=uuid.uuid4().hex, client_secret=uuid.uuid4().hex)
    )
    with _dashboard(port, cwd=workdir) as url:
        yield url


def _chromium_page(pw):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make browser-deps` installs Debian's chromium"
    browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    return browser, browser.new_page(viewport={"width": 1400, "height": 1000})


def test_every_page_in_a_real_browser(server, tmp_path):
    with sync_playwright() as pw:
        browser, page = _chromium_page(pw)
        for name, (path, title) in PAGES.items():
            page.goto(f"{server}/{path}")
            expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=60_000)
            # rendered: its last table's download button (or, on the write-back page, its message)
            # is there and the script has stopped running
            ready = page.locator("[data-testid='stDownloadButton'], [data-testid='stAlert']").last
            expect(ready).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)
            expect(page.locator("[data-testid='stException']")).to_have_count(0)
            page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
        # a filter: one carrier on the delivery page narrows the parcels and lands in the URL
        page.goto(f"{server}/delivery")
        shipped = page.locator("[data-testid='stMetric']", has_text="Parcels shipped")
        expect(shipped).to_be_visible(timeout=60_000)
        before = shipped.locator("[data-testid='stMetricValue']").inner_text()
        page.locator("[data-testid='stMultiSelect']", has_text="Carrier").click()
        page.get_by_role("option", name="correos").click()
        page.wait_for_url("**carrier=correos**", timeout=30_000)
        expect(shipped.locator("[data-testid='stMetricValue']")).not_to_have_text(before, timeout=30_000)
        page.screenshot(path=tmp_path / "delivery_correos.png", full_page=True)
        browser.close()
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == len(PAGES) + 1 and all((tmp_path / s).stat().st_size > 10_000 for s in shots)
    print(f"screenshots in {tmp_path}")


def test_with_the_login_on_every_page_url_shows_only_the_login(login_server, tmp_path):
    """Each page's own URL, opened directly by a visitor who is not logged in: the login, and
    nothing of the page (its title, metrics, tables, charts, downloads) nor the page list."""
    with sync_playwright() as pw:
        browser, page = _chromium_page(pw)
        for name, (path, title) in PAGES.items():
            page.goto(f"{login_server}/{path}")
            login = page.get_by_role("button", name="Log in")
            heading = page.get_by_role("heading", name=title, exact=True)
            expect(login.or_(heading).first).to_be_visible(timeout=60_000)  # the script has rendered
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)  # and stopped
            expect(login).to_be_visible()
            expect(page.get_by_role("heading", name="afterclick", exact=True)).to_be_visible()
            expect(heading).to_have_count(0)
            for element in (
                "stMetric",
                "stDataFrame",
                "stVegaLiteChart",
                "stDownloadButton",
                "stSidebarNav",
                "stException",
            ):
                expect(page.locator(f"[data-testid='{element}']")).to_have_count(0)
            expect(page.get_by_text("Page not found")).to_have_count(0)
            page.screenshot(path=tmp_path / f"login_{name}.png", full_page=True)
        browser.close()


def _non_loopback_addresses() -> list[str]:
    found = []
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                ip = ipaddress.ip_address(a.address.split("%")[0])
                if not (ip.is_loopback or ip.is_link_local):
                    found.append(str(ip))
    return found


def test_the_dashboard_answers_on_loopback_only_by_default(server):
    """dashboard_address defaults to 127.0.0.1: the machine's other addresses refuse the connection."""
    others = _non_loopback_addresses()
    if not others:
        pytest.skip("no address but loopback here (test_dashboard_command.py checks the command line)")
    port = int(server.rsplit(":", 1)[1])
    assert httpx.get(f"{server}/_stcore/health", timeout=10).status_code == 200
    for address in others:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=10).close()
