"""The benchmark suite: measured speed of each pipeline stage at several world sizes.

Each size runs in its own subprocess (so peak memory is that size's alone) on a fresh
state dir: generate → land → dbt build → publish → dashboard queries → one more day
(incremental cycle). Results go to ``benchmarks/results/latest.json`` and a markdown
table on stdout and in ``benchmarks/results/latest.md``.

    uv run python -m benchmarks.run                 # 100k and 1M order lines
    uv run python -m benchmarks.run --lines 10000000  # one size
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
DASHBOARD_QUERIES = {
    "overview totals": "select sum(orders), sum(revenue_rc) from rpt_orders_daily where placed_date between ? and ?",
    "overview by day": "select placed_date, channel, sum(orders), sum(revenue_rc) from rpt_orders_daily "
                       "where placed_date between ? and ? group by all order by 1, 2",
    "orders of a week": "select channel, count(*), sum(total_amount_rc) from fct_orders "
                        "where placed_date between ? and ? group by all",
}


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - t0, 3)


def measure(lines: int, days: int) -> dict:
    """Run every stage for a world of about ``lines`` order lines; returns the figures."""
    state = Path(tempfile.mkdtemp(prefix=f"afterclick-bench-{lines}-"))
    os.environ["AFTERCLICK_STATE_DIR"] = str(state)
    os.environ["AFTERCLICK_FILE_MIN_AGE_SECONDS"] = "0"
    import duckdb

    from afterclick import warehouse
    from afterclick.demo.generate import generate
    from afterclick.settings import load_settings
    from afterclick.transform import run_dbt
    from ingest.run import ingest_all

    settings = load_settings()
    settings.ensure_dirs()
    out: dict = {"target_lines": lines}
    world, out["generate_s"] = _timed(generate, settings, orders=lines // 3, days=days, seed=1)
    out["orders"], out["order_lines"] = world["orders"], world["order_lines"]
    with warehouse.writer(settings):
        report, out["land_s"] = _timed(ingest_all, settings)
        out["rows_landed"] = report.rows_landed
        out["land_rows_per_s"] = round(report.rows_landed / out["land_s"])
        build, out["dbt_build_s"] = _timed(run_dbt, settings, "build")
        assert build.status == "success", build.errors
        out["dbt_nodes"] = build.models_built + build.tests_passed
        meta, out["publish_s"] = _timed(warehouse.publish, settings)
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    hi = con.sql("select max(placed_date) from fct_orders").fetchall()[0][0]
    lo = hi.fromordinal(hi.toordinal() - 89)
    out["queries"] = {}
    for name, sql in DASHBOARD_QUERIES.items():
        params = [lo, hi] if "week" not in name else [hi.fromordinal(hi.toordinal() - 6), hi]
        timings = []
        for _ in range(30):
            t0 = time.perf_counter()
            con.execute(sql, params).fetchall()
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        out["queries"][name] = {"p50_ms": round(statistics.median(timings), 1),
                                "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 1)}
    con.close()
    # The incremental cycle: nothing new arrives → land + build + publish (the floor of a cycle).
    with warehouse.writer(settings):
        _, land_again = _timed(ingest_all, settings)
        _, build_again = _timed(run_dbt, settings, "build")
        _, publish_again = _timed(warehouse.publish, settings)
    out["cycle_no_change_s"] = round(land_again + build_again + publish_again, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["state_dir"] = str(state)
    return out


def markdown(results: list[dict]) -> str:
    header = ("| order lines | orders | generate s | land s (rows/s) | dbt build s | publish s | "
              "cycle, nothing new s | dashboard p95 ms (worst query) | peak RSS MB |")
    rows = [header, "|" + "---|" * 9]
    for r in results:
        worst = max(q["p95_ms"] for q in r["queries"].values())
        rows.append(f"| {r['order_lines']:,} | {r['orders']:,} | {r['generate_s']} | {r['land_s']} "
                    f"({r['land_rows_per_s']:,}) | {r['dbt_build_s']} | {r['publish_s']} | "
                    f"{r['cycle_no_change_s']} | {worst} | {r['peak_rss_mb']:,} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, action="append", help="order lines (repeatable)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.days)))
        return
    results = []
    for lines in args.lines or [100_000, 1_000_000]:
        print(f"measuring {lines:,} order lines …", flush=True)
        proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--one", str(lines), "--days", str(args.days)],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"benchmark at {lines:,} lines failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    RESULTS.mkdir(exist_ok=True)
    meta = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine":
            f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"}
    (RESULTS / "latest.json").write_text(json.dumps({**meta, "results": results}, indent=2))
    table = markdown(results)
    (RESULTS / "latest.md").write_text(f"Measured {meta['measured_at']} on {meta['machine']}.\n\n{table}\n")
    print(table)
    print(f"\nwritten: {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
