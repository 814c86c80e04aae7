"""``afterclick serve``: a real local Prefect server plus one long-running process serving every
deployment on its schedule (from settings). ``--once`` runs the pipeline once through the server.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import httpx
import psutil

from afterclick.pipeline.figures import RunSummary
from afterclick.settings import Settings


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prefect_server(settings: Settings):
    """Reuse a configured or already running server; otherwise start ``prefect server start`` and
    stop it on exit. Yields the API URL (also exported as PREFECT_API_URL)."""
    api_url = settings.prefect.api_url or f"http://127.0.0.1:{settings.prefect.server_port}/api"
    proc = None
    if not _healthy(api_url):
        if settings.prefect.api_url:
            raise RuntimeError(f"the configured Prefect server {api_url} does not answer")
        log = open(settings.logs_dir / "prefect-server.log", "ab")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(settings.prefect.server_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PREFECT_API_URL": ""},
            start_new_session=True,  # our Ctrl-C / SIGTERM reaches us; we stop the server ourselves
        )
        atexit.register(_stop, proc)  # Prefect's runner leaves by sys.exit on SIGTERM: stop it then too
        print(f"starting a Prefect server on {api_url} (log: {log.name}) …", flush=True)
        deadline = time.monotonic() + settings.prefect.startup_timeout_seconds
        while not _healthy(api_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the Prefect server did not start; see {log.name}")
            time.sleep(0.5)
    else:
        print(f"using the Prefect server at {api_url}", flush=True)
    os.environ["PREFECT_API_URL"] = api_url
    try:
        yield api_url
    finally:
        if proc is not None:
            _stop(proc)
            log.close()


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and the processes it started (its own session: one signal reaches all)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _stop_flow_runs() -> None:
    """End the flow-run processes the runner started, so none outlives ``serve``."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        child.terminate()
    _, alive = psutil.wait_procs(children, timeout=20)
    for child in alive:
        child.kill()


def _schedule(spec: str, timezone: str):
    """A cron string, or ``every:<seconds>`` for an interval."""
    from prefect.schedules import Cron, Interval

    if spec.startswith("every:"):
        return Interval(timedelta(seconds=float(spec.split(":", 1)[1])), timezone=timezone)
    return Cron(spec, timezone=timezone)


def _one_at_a_time():
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(settings: Settings) -> list:
    from flows.build_flows import transform_flow
    from flows.ingest_flow import ingest_flow
    from flows.pipeline import pipeline_flow
    from flows.writeback_flow import writeback_flow
    from ingest.run import SOURCE_GROUP, enabled_sources

    sched, state = settings.schedules, str(settings.root)
    out = []
    for kind in enabled_sources(settings):
        spec = getattr(sched, SOURCE_GROUP.get(kind, "back_office"))
        if spec:
            out.append(
                ingest_flow.to_deployment(
                    name=f"ingest-{kind}",
                    parameters={"kind": kind, "state_dir": state},
                    schedule=_schedule(spec, sched.timezone),
                    concurrency_limit=_one_at_a_time(),
                )
            )
    if sched.transform:
        params = {"state_dir": state, **({"select": sched.transform_select} if sched.transform_select else {})}
        out.append(
            transform_flow.to_deployment(
                name="transform",
                parameters=params,
                schedule=_schedule(sched.transform, sched.timezone),
                concurrency_limit=_one_at_a_time(),
            )
        )
    for kind, spec in sched.writeback.items():
        if spec and (kind in settings.writeback.kinds or kind == "carrier_file" and settings.carrier_files):
            out.append(
                writeback_flow.to_deployment(
                    name=f"writeback-{kind}",
                    parameters={"kind": kind, "state_dir": state},
                    schedule=_schedule(spec, sched.timezone),
                    concurrency_limit=_one_at_a_time(),
                )
            )
    if sched.pipeline:
        out.append(
            pipeline_flow.to_deployment(
                name="pipeline-nightly",
                parameters={"state_dir": state},
                schedule=_schedule(sched.pipeline, sched.timezone),
                concurrency_limit=_one_at_a_time(),
            )
        )
    return out


def serve_forever(settings: Settings, once: bool = False) -> RunSummary | None:
    from afterclick.prefect_env import configure_prefect

    configure_prefect(settings)
    with prefect_server(settings) as api_url:
        if once:
            from flows.pipeline import pipeline_flow

            return pipeline_flow(state_dir=str(settings.root))
        from prefect import serve

        deps = deployments(settings)
        print(
            f"serving {len(deps)} deployments on {api_url.removesuffix('/api')} "
            f"({', '.join(d.name for d in deps)}); Ctrl-C stops",
            flush=True,
        )
        try:
            serve(*deps, print_starting_message=False)
        finally:
            _stop_flow_runs()
    return None
