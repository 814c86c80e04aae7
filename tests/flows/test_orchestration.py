"""Orchestration: one writer at a time, retries only for transient failures, run records."""

import threading
import time

import pytest

from afterclick import warehouse
from afterclick.errors import BadSourceData, TransientSourceError
from ingest import run as ingest_run

# These tests are about the flows, not the models: they build a small selection (the whole project
# is ~300 dbt nodes; tests/flows/test_pipeline_flow.py builds it through the flow).
SMALL_BUILD = "path:models/staging/shopify"


@pytest.fixture
def flaky_source(monkeypatch):
    """A registered source kind whose behaviour the test scripts: fails as told, then lands nothing."""
    calls = {"n": 0}
    script: list[BaseException] = []

    def land(settings):
        calls["n"] += 1
        if script:
            raise script.pop(0)
        return []

    monkeypatch.setitem(ingest_run.SOURCES, "flaky", land)
    return calls, script


def test_a_transient_source_failure_is_retried_and_the_run_succeeds(
    settings, monkeypatch, prefect_server, flaky_source
):
    from flows.pipeline import pipeline_flow

    monkeypatch.setenv("AFTERCLICK_RETRY_BACKOFF_SECONDS", "0.05")
    calls, script = flaky_source
    script += [TransientSourceError("connection reset by the channel"), TransientSourceError("503 from the API")]
    summary = pipeline_flow(state_dir=str(settings.root), select=SMALL_BUILD)
    assert calls["n"] == 3
    assert summary.ingest.errors == {}


def test_bad_data_is_not_retried_and_is_reported_while_the_rest_runs(
    settings, monkeypatch, prefect_server, flaky_source
):
    from flows.pipeline import pipeline_flow

    monkeypatch.setenv("AFTERCLICK_RETRY_BACKOFF_SECONDS", "0.05")
    calls, script = flaky_source
    script.append(BadSourceData("page 3 is not JSON: Expecting value at line 1"))
    summary = pipeline_flow(state_dir=str(settings.root), select=SMALL_BUILD)
    assert calls["n"] == 1
    assert "BadSourceData" in summary.ingest.errors["flaky"]
    assert "page 3 is not JSON" in summary.ingest.errors["flaky"]
    assert summary.publish.version  # the other steps still ran
    with warehouse.read_serving(settings) as con:
        [(status, recorded)] = con.sql("select status, summary from ops.runs").fetchall()
    assert status == "partial" and "page 3 is not JSON" in recorded  # the rest ran: partial, not failed


def test_two_writer_flows_serialise_and_both_succeed(settings, prefect_server, caplog):
    from flows.build_flows import transform_flow

    caplog.set_level("INFO", logger="afterclick")
    results, errors = [], []

    def run():
        try:
            results.append(transform_flow(select=SMALL_BUILD, state_dir=str(settings.root)))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)  # far longer than two small builds one after the other, even on a loaded machine
    assert not any(t.is_alive() for t in threads), "a transform flow was still running after 10 min"
    assert errors == [] and len(results) == 2
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        builds = con.sql("select started_at, finished_at, status from ops.builds order by started_at").fetchall()
        flow_runs = con.sql("select flow, status, summary->>'$.transform.models_built' from ops.runs").fetchall()
    assert [b[2] for b in builds] == ["success", "success"]
    assert len(flow_runs) == 2 and {r[:2] for r in flow_runs} == {("transform", "success")}
    assert all(int(r[2]) > 0 for r in flow_runs)  # each run's figures are recorded
    assert builds[1][0] >= builds[0][1]  # the second build started after the first finished
    assert "waits for the writer slot" in caplog.text  # the second flow said it was waiting


def _task_runs(flow_state) -> dict[str, str]:
    """Task run name (without Prefect's numeric suffix for the build task) -> final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id]))
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:  # task states reach the server as events, after the flow returns: wait until each is final
            runs = client.read_task_runs(flow_run_filter=flow_runs)
            if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    return {r.name.rsplit("-", 1)[0] if r.name.startswith("dbt-build") else r.name: r.state_name for r in runs}


def test_each_dbt_node_shows_as_its_own_prefect_task_when_node_tasks_are_on(settings, monkeypatch, prefect_server):
    from flows.build_flows import transform_flow

    select = SMALL_BUILD
    monkeypatch.setenv("AFTERCLICK_DBT_NODE_TASKS", "false")
    plain = transform_flow(select=select, state_dir=str(settings.root), publish=False, return_state=True)
    assert plain.is_completed() and _task_runs(plain) == {"dbt-build": "Completed"}

    monkeypatch.setenv("AFTERCLICK_DBT_NODE_TASKS", "true")
    per_node = transform_flow(select=select, state_dir=str(settings.root), publish=False, return_state=True)
    assert per_node.is_completed()
    tasks = _task_runs(per_node)
    assert {
        "model stg_shopify__orders",
        "model stg_shopify__order_lines",
        "test primary_key_stg_shopify__orders_order_key",
    } <= set(tasks)
    assert not any(name.startswith("model ") for name in tasks if "shopify" not in name)  # only the selection
    assert set(tasks.values()) == {"Completed"}
