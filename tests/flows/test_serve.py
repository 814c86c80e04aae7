"""`afterclick serve` against a real `prefect server start`: a scheduled run happens; it stops cleanly."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from afterclick import warehouse

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_serve_runs_scheduled_flows_and_shuts_down_cleanly(settings, tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(
        {
            "AFTERCLICK_STATE_DIR": str(settings.root),
            "AFTERCLICK_PREFECT__SERVER_PORT": str(port),
            "AFTERCLICK_SCHEDULES__TRANSFORM": "every:15",
            "AFTERCLICK_SCHEDULES__PIPELINE": "",
            "AFTERCLICK_SCHEDULES__TRANSFORM_SELECT": "path:models/staging/shopify",
            "AFTERCLICK_SCHEDULES__CHANNELS": "",
            "AFTERCLICK_SCHEDULES__BACK_OFFICE": "",
            "AFTERCLICK_SCHEDULES__TRACKING": "",
            "AFTERCLICK_SCHEDULES__INVENTORY": "",
            "AFTERCLICK_SCHEDULES__WRITEBACK": "{}",
            "PREFECT_HOME": str(tmp_path / "prefect-serve"),
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "afterclick.cli", "serve"],
        env=env,
        stdout=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 - the server process writes it until stopped
        stderr=subprocess.STDOUT,
    )
    try:

        def completed_scheduled_runs():
            try:
                runs = httpx.post(
                    f"{api}/flow_runs/filter",
                    timeout=10,
                    json={"limit": 10, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
                ).json()
            except (httpx.HTTPError, ValueError):
                return None  # the server is still starting
            # only the transform is scheduled; anything else would be a schedule the settings did not turn off
            return [r for r in runs if r.get("deployment_id") and (r.get("state") or {}).get("type") == "COMPLETED"]

        # the scheduled transform builds the selection from settings (the whole project would take minutes)
        runs = _wait_for(completed_scheduled_runs, 480, "a scheduled flow run to complete")
        assert runs[0]["parameters"].get("select") == "path:models/staging/shopify"
        assert settings.serving_path.exists()  # the scheduled transform published a snapshot
        assert runs[0]["name"]
        first = warehouse.snapshot_version(settings)
        # it keeps the snapshot fresh on its own: the next scheduled build publishes a newer one
        _wait_for(lambda: warehouse.snapshot_version(settings) not in (None, first), 300, "a newer snapshot")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(120)  # serve allows flow runs 20 s, then the server 30 s + 10 s
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert code in (0, -signal.SIGTERM), log[-2000:]

    def server_gone():
        try:
            httpx.get(f"{api}/health", timeout=2)
            return False
        except httpx.HTTPError:
            return True

    _wait_for(server_gone, 40, "the Prefect server to stop")
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(settings.root) in " ".join(p.info["cmdline"] or [])
        or f"--port {port}" in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
