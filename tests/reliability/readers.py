"""A snapshot reader for the concurrency drill, run as its own process:
``python -m tests.reliability.readers <state_dir> <stop_file> <result_file>``.

Until the stop file appears it opens the serving snapshot read-only (as the dashboards and
``afterclick sql`` do), checks that every table holds the rows the snapshot says it published,
runs a mart query, and closes; then it reports the status as ``afterclick status`` does (which
must not get in the writer's way either). It writes how many reads it made, the versions it saw
and every error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from afterclick import warehouse
from afterclick.settings import load_settings
from afterclick.status import report


def read_once(settings) -> str:
    with warehouse.read_serving(settings) as con:
        [(version, tables)] = con.execute("select version, tables from _snapshot").fetchall()
        for name, rows in json.loads(tables).items():
            table = name if name.startswith("ops.") else name.split(".", 1)[1]  # marts and wb_* are in main
            [(found,)] = con.execute(f"select count(*) from {table}").fetchall()
            if found != rows:
                raise AssertionError(f"{version}: {name} has {found} rows, the snapshot says {rows}")
        con.execute("select store_id, count(*), sum(net_sales_rc) from fct_orders group by 1").fetchall()
    assert report(settings, lambda line: None)
    return version


def main(state_dir: str, stop_file: str, result_file: str) -> None:
    settings = load_settings(state_dir=state_dir)
    reads, versions, errors = 0, set(), []
    while not Path(stop_file).exists():
        try:
            versions.add(read_once(settings))
            reads += 1
        except Exception as exc:  # noqa: BLE001 - every failure is the drill's finding
            errors.append(f"{type(exc).__name__}: {exc}")
    Path(result_file).write_text(json.dumps({"reads": reads, "versions": sorted(versions), "errors": errors}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
