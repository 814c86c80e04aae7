"""A run's figures are typed (afterclick/pipeline/figures.py) and recorded as plain JSON of a fixed
shape, ops.runs' ``summary``, which `afterclick status` and the Runs page read by key."""

from __future__ import annotations

import json

import pytest

from afterclick import runs, warehouse
from afterclick.pipeline.figures import (
    BuildFigures,
    LandingFigures,
    PublishFigures,
    PushFigures,
    QuarantinedBatch,
    RunSummary,
    TargetFigures,
)
from afterclick.pipeline.steps import summary_markdown
from afterclick.status import QUERIES

EVERY_STEP = RunSummary(
    ingest=LandingFigures(
        rows_landed=5,
        rows_quarantined=1,
        rows_by_table={"raw.shopify__orders": 5},
        quarantined=[
            QuarantinedBatch(
                "wms", "wh-mad", "stock_movements", 1, ["movements.csv row 3: sku NOPE-404 is not in the catalogue"]
            )
        ],
        quarantined_batches=3,
        errors={"channels woo-pt": "BadSourceData: page 2 | not JSON"},
    ),
    transform=BuildFigures(models_built=12, tests_passed=30, tests_failed=0, seconds=4.5),
    writeback=PushFigures(
        [
            TargetFigures("stock", "shopify-es", pushed=4, failed=1, dead=0),
            TargetFigures("stock", "woo-pt", pushed=0, failed=0, dead=0, skipped="no connection configured"),
            TargetFigures("carrier_file", "correos", pushed=2, failed=0, dead=1),
        ]
    ),
    publish=PublishFigures(version="20261001T100600-0001", seconds=0.8, tables=40),
    seconds=12.3,
)

# the shape ops.runs' summary has always had: the readers (status, the Runs page) read these keys
RECORD = {
    "ingest": {
        "rows_landed": 5,
        "rows_quarantined": 1,
        "rows_by_table": {"raw.shopify__orders": 5},
        "quarantined": [
            {
                "source": "wms",
                "store": "wh-mad",
                "entity": "stock_movements",
                "records": 1,
                "reasons": ["movements.csv row 3: sku NOPE-404 is not in the catalogue"],
            }
        ],
        "quarantined_batches": 3,
        "errors": {"channels woo-pt": "BadSourceData: page 2 | not JSON"},
    },
    "transform": {"models_built": 12, "tests_passed": 30, "tests_failed": 0, "seconds": 4.5},
    "writeback": {
        "pushed": 6,
        "failed": 1,
        "dead": 1,
        "skipped_targets": ["woo-pt"],
        "targets": [
            {"kind": "stock", "target": "shopify-es", "pushed": 4, "failed": 1, "dead": 0},
            {
                "kind": "stock",
                "target": "woo-pt",
                "pushed": 0,
                "failed": 0,
                "dead": 0,
                "skipped": "no connection configured",
            },
            {"kind": "carrier_file", "target": "correos", "pushed": 2, "failed": 0, "dead": 1},
        ],
    },
    "publish": {"version": "20261001T100600-0001", "seconds": 0.8, "tables": 40},
    "seconds": 12.3,
}


def test_a_summary_round_trips_through_the_recorded_json_shape():
    assert EVERY_STEP.to_record() == RECORD
    stored = json.loads(json.dumps(EVERY_STEP.to_record()))
    assert stored == RECORD
    assert RunSummary.from_record(stored) == EVERY_STEP
    # a step that did not run has no key
    assert RunSummary().to_record() == {}
    assert RunSummary(transform=EVERY_STEP.transform).to_record() == {"transform": RECORD["transform"]}
    assert EVERY_STEP.failed_sources() == {"channels woo-pt": "BadSourceData: page 2 | not JSON"}
    assert RunSummary(transform=EVERY_STEP.transform).failed_sources() == {}


def _runs(settings) -> list[tuple]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return con.sql("select flow, status, summary, error from ops.runs order by started_at").fetchall()


def test_a_run_records_its_summary_in_ops_runs_where_status_reads_it(settings):
    with runs.run_record(settings, "pipeline", RunSummary(), hold=lambda: warehouse.writer(settings)) as run:
        run.summary.ingest = EVERY_STEP.ingest
        run.summary.transform = EVERY_STEP.transform
        run.summary.writeback = EVERY_STEP.writeback
    [(flow, status, summary, error)] = _runs(settings)
    assert (flow, status) == ("pipeline", "partial")  # a source failed, the run got to its end
    assert error == "sources failed: channels woo-pt: BadSourceData: page 2 | not JSON"
    recorded = json.loads(summary)
    assert recorded["seconds"] == run.summary.seconds >= 0
    assert {k: v for k, v in recorded.items() if k != "seconds"} == {
        k: RECORD[k] for k in ("ingest", "transform", "writeback")
    }
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        shown = con.sql(QUERIES["last run of every flow"]).fetchall()
    assert [row[4:11] for row in shown] == [("5", "1", "12", "0", "6", "1", "1")]


def test_a_run_that_fails_records_what_it_had_and_the_failed_sources(settings):
    with pytest.raises(RuntimeError, match="dbt went away"):
        with runs.run_record(settings, "pipeline", RunSummary(), hold=lambda: warehouse.writer(settings)) as run:
            run.summary.ingest = LandingFigures(rows_landed=2, errors={"erp": "OperationalError: no such file"})
            raise RuntimeError("dbt went away")
    [(_, status, summary, error)] = _runs(settings)
    assert status == "failed"
    assert error == "RuntimeError: dbt went away; sources failed: erp: OperationalError: no such file"
    assert json.loads(summary)["ingest"]["rows_landed"] == 2 and "transform" not in json.loads(summary)


def test_the_summary_table_shows_every_step_it_ran():
    table = summary_markdown(EVERY_STEP)
    assert "| ingest | rows landed in `raw.shopify__orders` | 5 |" in table
    assert (
        "| ingest | quarantined from wms stock_movements (wh-mad) | 1: "
        "movements.csv row 3: sku NOPE-404 is not in the catalogue |"
    ) in table
    assert "| ingest | quarantined batches not shown | 2 (see ops.quarantine) |" in table
    assert "| ingest | error in channels woo-pt | BadSourceData: page 2 / not JSON |" in table
    assert "| write-back | changes pushed | 6 |" in table
    assert "| write-back | stock to woo-pt | no connection configured |" in table
    assert "| write-back | carrier_file to correos | 2 pushed, 0 to retry, 1 dead |" in table
    assert "| publish | snapshot version | 20261001T100600-0001 |" in table
    assert table.endswith("| run | seconds | 12.3 |")
    assert "transform" not in summary_markdown(RunSummary(ingest=LandingFigures()))
