"""The in-process dbt run keeps one database handle for the whole build and lets go of the file
when it returns."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from tests.conftest import WORLD_END


def test_the_warehouse_is_free_for_another_process_once_dbt_returns(built):
    settings = built[0]
    # a read-write open from another process fails while any handle in this one holds the file
    probe = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "print(con.execute('select count(*) from ops.builds').fetchone()[0])"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(settings.warehouse_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert int(done.stdout) >= 2  # both builds of the fixture recorded


def test_a_build_at_a_new_as_of_instant_parses_only_what_reads_it_and_uses_the_new_instant(built):
    """The as-of instant reaches dbt as an environment variable: the fixture's second build (a later
    instant) must not parse the whole project again (a changed dbt var would: ~6 s at every
    build of a demo world), and every model that reads the instant must see the new one."""
    settings = built[0]
    runs = (settings.logs_dir / "dbt" / "dbt.log").read_text().split("Running with dbt=")[1:]
    assert len(runs) >= 2
    assert "Unable to do partial parsing" in runs[0]  # the first build: no saved manifest yet
    assert "Unable to do partial parsing" not in runs[1], [
        line for line in runs[1].splitlines() if "partial pars" in line
    ]
    # the new instant reached the SQL models (rendered at run time) ...
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("select max(date_day) from marts.dim_dates").fetchall()[0][0] == WORLD_END.date()
    finally:
        con.close()
    # ... and the Python models' config, which is fixed at parse time
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    for model in ("int_clv_fit", "int_customer_predictions"):
        assert manifest["nodes"][f"model.afterclick.{model}"]["config"]["as_of"] == WORLD_END.isoformat(sep=" ")
