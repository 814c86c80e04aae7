"""Drill: several reader processes hammer the serving snapshot while the warehouse is rebuilt and
published again and again: no reader error, no lock error, every read sees a whole snapshot.

CI: 4 readers, 1 dbt build and 10 publishes (``DRILL_BUILDS`` / ``_PUBLISHES`` for more;
the README records the full run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from afterclick import warehouse
from afterclick.transform import run_dbt

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
READERS = 4
BUILDS = int(os.environ.get("DRILL_BUILDS", "1"))
PUBLISHES = int(os.environ.get("DRILL_PUBLISHES", "10"))


def test_readers_never_fail_while_the_warehouse_is_rebuilt_and_published(wb, tmp_path):
    first = warehouse.publish(wb)["version"]
    stop = tmp_path / "stop"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.readers",
                str(wb.root),
                str(stop),
                str(tmp_path / f"reader{i}.json"),
            ],
            cwd=REPO,
        )
        for i in range(READERS)
    ]
    published = [first]
    try:
        for i in range(max(BUILDS, PUBLISHES)):
            with warehouse.writer(wb, purpose="drill"):
                if i < BUILDS:
                    assert run_dbt(wb, "build", select="marts.orders").status == "success"
                published.append(warehouse.publish(wb)["version"])
    finally:
        stop.touch()
        codes = [p.wait(120) for p in procs]
    assert codes == [0] * READERS
    results = [json.loads((tmp_path / f"reader{i}.json").read_text()) for i in range(READERS)]
    assert [r["errors"] for r in results] == [[]] * READERS
    assert all(r["reads"] > 0 for r in results)
    seen = set().union(*(r["versions"] for r in results))
    assert seen <= set(published)  # only whole, published versions were ever read
    assert len(seen) > 1  # the readers really ran across publishes
