"""The in-process dbt run keeps one database handle for the whole build and lets go of the file
when it returns."""

from __future__ import annotations

import subprocess
import sys


def test_the_warehouse_is_free_for_another_process_once_dbt_returns(built):
    settings = built[0]
    # a read-write open from another process fails while any handle in this one holds the file
    probe = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
             "print(con.execute('select count(*) from ops.builds').fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", probe, str(settings.warehouse_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert int(done.stdout) >= 2  # both builds of the fixture recorded
