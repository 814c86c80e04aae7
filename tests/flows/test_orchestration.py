"""Orchestration: one writer at a time, retries only for transient failures, run records."""

import threading

import pytest

from afterclick import warehouse
from ingest import run as ingest_run
from ingest.errors import BadSourceData, TransientSourceError


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


def test_a_transient_source_failure_is_retried_and_the_run_succeeds(settings, monkeypatch, prefect_server,
                                                                    flaky_source):
    from flows.pipeline import pipeline_flow

    monkeypatch.setenv("AFTERCLICK_RETRY_BACKOFF_SECONDS", "0.05")
    calls, script = flaky_source
    script += [TransientSourceError("connection reset by the channel"), TransientSourceError("503 from the API")]
    summary = pipeline_flow(state_dir=str(settings.root))
    assert calls["n"] == 3
    assert summary["ingest"]["errors"] == {}


def test_bad_data_is_not_retried_and_is_reported_while_the_rest_runs(settings, monkeypatch, prefect_server,
                                                                    flaky_source):
    from flows.pipeline import pipeline_flow

    monkeypatch.setenv("AFTERCLICK_RETRY_BACKOFF_SECONDS", "0.05")
    calls, script = flaky_source
    script.append(BadSourceData("page 3 is not JSON: Expecting value at line 1"))
    summary = pipeline_flow(state_dir=str(settings.root))
    assert calls["n"] == 1
    assert "BadSourceData" in summary["ingest"]["errors"]["flaky"]
    assert "page 3 is not JSON" in summary["ingest"]["errors"]["flaky"]
    assert summary["publish"]["version"]  # the other steps still ran
    with warehouse.read_serving(settings) as con:
        [(status, recorded)] = con.sql("select status, summary from ops.runs").fetchall()
    assert status == "success" and "page 3 is not JSON" in recorded


def test_two_writer_flows_serialise_and_both_succeed(settings, prefect_server, caplog):
    from flows.build_flows import transform_flow

    caplog.set_level("INFO", logger="afterclick")
    results, errors = [], []

    def run():
        try:
            results.append(transform_flow(state_dir=str(settings.root)))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [] and len(results) == 2
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        builds = con.sql("select started_at, finished_at, status from ops.builds order by started_at").fetchall()
        flow_runs = con.sql("select flow, status, summary->>'$.transform.models_built' from ops.runs").fetchall()
    assert [b[2] for b in builds] == ["success", "success"]
    assert len(flow_runs) == 2 and {r[:2] for r in flow_runs} == {("transform", "success")}
    assert all(int(r[2]) > 0 for r in flow_runs)  # each run's figures are recorded
    assert builds[1][0] >= builds[0][1]  # the second build started after the first finished
    assert "waits for the writer slot" in caplog.text  # the second flow said it was waiting
