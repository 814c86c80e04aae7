"""One real browser (Debian's Chromium driven by Playwright) against the real Streamlit server
started by ``afterclick dashboard``: every page opens and shows its title, a filter changes the
numbers and lands in the URL, and each page leaves a screenshot in the test's output directory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from afterclick import warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = {"overview": ("", "Overview"), "order_cycle": ("order_cycle", "Order cycle"),
         "delivery": ("delivery", "Delivery"), "stock": ("stock", "Stock"),
         "customers": ("customers", "Customers"), "writeback": ("writeback", "Write-back"),
         "runs": ("runs", "Runs")}
# Chromium as root in a container, with no network beyond loopback: no sandbox, no background calls.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(built_env):
    settings = built_env[0]
    warehouse.publish(settings)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "afterclick.cli", "dashboard", "--port", str(port)],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
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


def test_every_page_in_a_real_browser(server, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make browser-deps` installs Debian's chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
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
