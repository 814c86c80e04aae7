"""The benchmark suite: measured speed of each pipeline stage at several world sizes.

Each size runs in its own subprocess (so peak memory is that size's alone) on a fresh
state dir: generate → land → dbt build → publish → the pandas baselines → dashboard queries and
pages → write-back (free and at the APIs' rate limits) → a landing that reads back what the push
changed → one more day landed, built and published → the same build with every model refreshed
from scratch. Results go to ``benchmarks/results/latest.json`` and a markdown table on stdout and
in ``benchmarks/results/latest.md``; what each size logged to ``benchmarks/results/<lines>.log``.

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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.stock_push import NO_BULK

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


SKIPPABLE = ("write-back", "full-refresh")


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(lines: int, days: int, size_free: bool = True, skip: frozenset = frozenset()) -> dict:
    """Run every stage for a world of about ``lines`` order lines; returns the figures.
    ``size_free``: also the stages whose figures do not depend on the history (the paced
    write-back, the 10k-SKU stock push): a run of several sizes measures them at the first.
    ``skip``: stages left out (SKIPPABLE). After each stage the figures so far and the peak memory
    until then go to ``results/<lines>.partial.json``: a run cut short keeps what it measured."""
    state = Path(tempfile.mkdtemp(prefix=f"afterclick-bench-{lines}-"))
    out: dict = {"target_lines": lines, "skipped_stages": sorted(skip), "peak_rss_mb_by_stage": {}}

    def done(stage: str) -> None:
        out["peak_rss_mb_by_stage"][stage] = _peak_rss_mb()
        print(f"bench {lines:,}: {stage} done ({_peak_rss_mb():,} MB peak so far)", file=sys.stderr, flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{lines}.partial.json").write_text(json.dumps(out, indent=1, default=str))

    os.environ["AFTERCLICK_STATE_DIR"] = str(state)
    os.environ["AFTERCLICK_FILE_MIN_AGE_SECONDS"] = "0"
    os.environ["AFTERCLICK_DEMO_RATE_LIMITS"] = "false"  # land and push with the APIs' limits off (the paced runs set theirs)
    import duckdb

    from afterclick import warehouse
    from afterclick.demo.generate import generate
    from afterclick.settings import load_settings
    from afterclick.transform import run_dbt
    from ingest.run import enabled_sources, ensure_raw_tables, ingest_all, ingest_source

    settings = load_settings()
    settings.ensure_dirs()
    out["duckdb_memory_limit"] = settings.duckdb.memory_limit or "DuckDB's default (80% of RAM)"
    world, out["generate_s"] = _timed(generate, settings, orders=lines // 3, days=days, seed=1)
    out["orders"], out["order_lines"] = world["orders"], world["order_lines"]
    done("generate")
    # everything up to the world's last day first; the last day's channel activity comes in the
    # incremental cycle below (the demo channels show their world as of settings.as_of)
    end = datetime.fromisoformat(world["end"])
    settings.as_of = end - timedelta(days=1)
    from ingest.landing import LANDING_CLOCK
    with warehouse.writer(settings):
        out["land_by_source"] = {}
        for kind in enabled_sources(settings):  # each source kind timed (ingest_all's order)
            landed, seconds = _timed(ingest_source, settings, kind)
            out["land_by_source"][kind] = {"seconds": seconds, "rows": sum(x.rows_landed for x in landed)}
            done(f"land {kind}")
        out["land_s"] = round(sum(x["seconds"] for x in out["land_by_source"].values()), 3)
        out["rows_landed"] = sum(x["rows"] for x in out["land_by_source"].values())
        out["land_rows_per_s"] = round(out["rows_landed"] / out["land_s"])
        out["api_orders_landed"] = _api_orders(settings)
        # the landing step alone (dedupe, insert, commit), apart from reading APIs and files
        out["landing_step"] = {"seconds": round(LANDING_CLOCK.seconds, 2), "batches": LANDING_CLOCK.batches,
                               "rows_per_s": round(LANDING_CLOCK.rows / LANDING_CLOCK.seconds)}
        ensure_raw_tables(settings)  # every declared raw table, also those no source has filled yet
        build, out["dbt_build_s"] = _timed(run_dbt, settings, "build")
        assert build.status == "success", build.errors
        out["dbt_nodes"] = build.models_built + build.tests_passed
        done("dbt build")
        meta, out["publish_s"] = _timed(warehouse.publish, settings)
        done("publish")
    from benchmarks import baselines
    out["baselines"] = baselines.measure(str(settings.warehouse_path), build.node_timings)
    done("baselines")
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
    out["pages"] = page_timings()
    done("dashboard")
    if "write-back" not in skip:
        _write_back(settings, out, size_free)
        done("write-back")
    # one more day: the channels' last day of orders and changes lands, is built and published
    settings.as_of = end
    with warehouse.writer(settings):
        day, land_day = _timed(ingest_all, settings)
        built, build_day = _timed(run_dbt, settings, "build")
        assert built.status == "success", built.errors
        _, publish_day = _timed(warehouse.publish, settings)
    out["one_day"] = {"rows_landed": day.rows_landed, "land_s": land_day, "build_s": build_day,
                      "publish_s": publish_day, "total_s": round(land_day + build_day + publish_day, 2),
                      "share_of_lines": round(_lines_changed(settings, end) / max(out["order_lines"], 1), 4)}
    done("one more day")
    if "full-refresh" not in skip:  # the naive cycle: every incremental model rebuilt from scratch
        with warehouse.writer(settings):
            refreshed, out["full_refresh_build_s"] = _timed(run_dbt, settings, "build", extra_args=["--full-refresh"])
            assert refreshed.status == "success", refreshed.errors
        done("full refresh")
    out["peak_rss_mb"] = _peak_rss_mb()
    out["state_dir"] = str(state)
    return out


def _write_back(settings, out: dict, size_free: bool) -> None:
    """The first push, a push with nothing new, (size_free) the paced push and the 10k-SKU stock
    push, then a landing that reads back what the first push changed at the channels."""
    from afterclick import warehouse
    from ingest.run import ingest_all
    # Write-back: every change the first time (stock to the four API channels through their
    # emulators, customer messages to the demo mailbox), then a run with nothing changed.
    from writeback.run import push
    with warehouse.writer(settings):
        first, out["push_s"] = _timed(push, settings)
        _, out["push_again_s"] = _timed(push, settings)
    out["push"] = {f"{t.kind} {t.target}": {"changes": t.pushed, "seconds": t.seconds,
                                            "per_s": round(t.pushed / t.seconds) if t.seconds else None}
                   for t in first.targets if not t.skipped}
    out["push_skipped"] = {f"{t.kind} {t.target}": t.skipped for t in first.targets if t.skipped}
    if size_free:
        out["push_paced"], out["push_paced_s"] = _timed(paced_push, settings)
        from benchmarks import stock_push
        out["stock_10k"], out["stock_10k_s"] = _timed(stock_push.measure, settings, STOCK_SKUS, EMULATED_LIMITS,
                                                      SHOPIFY_BUCKET)
    # what the first push changed at the channels (stock, prices, Magento shipments) comes back in the
    # next landing: landed here, so the one-more-day cycle below brings only the day's news
    with warehouse.writer(settings):
        back, land_back = _timed(ingest_all, settings)
    out["read_back"] = {"rows_landed": back.rows_landed, "land_s": land_back}


def _api_orders(settings) -> int:
    """Orders landed from the channel APIs (distinct per store): the API landing's orders per second."""
    from afterclick import warehouse
    from ingest.channels.connector import raw_table
    con = warehouse.connect(settings)
    try:
        return sum(con.execute(f"select count(distinct (_store, id)) from {raw_table(channel)}").fetchall()[0][0]
                   for channel in ("shopify", "vtex", "magento", "woocommerce"))
    finally:
        con.close()


def _lines_changed(settings, end: datetime) -> int:
    """Order lines of the orders that had news on the world's last day (what the day brought)."""
    import polars as pl

    from afterclick.demo.generate import load_truth
    world = load_truth(settings)
    changed = (world.order_events.filter(pl.col("occurred_at") > end - timedelta(days=1))
               .select("order_id").unique())
    return world.order_lines.join(changed, on="order_id").height


# The rate limits the emulators enforce in the paced write-back run (429 beyond them): assumed
# API limits, a quarter above the client's default pacing per channel (settings
# DEFAULT_REQUESTS_PER_SECOND); Shopify gets its standard cost bucket (1000 points, 50 a second).
EMULATED_LIMITS = {"vtex": 50.0, "magento": 25.0, "woocommerce": 12.5}
SHOPIFY_BUCKET = (1000.0, 50.0)
PACED_SAMPLE = 150  # changes per target (a Shopify price costs ~24 points: ~2 a second at 50 points/s once
                    # the bucket's first 1,000 points are spent)
STOCK_SKUS = 10_000  # the bulk-against-one-call-per-SKU stock push


def paced_push(settings) -> dict:
    """Stock and prices pushed again from an empty ledger through emulators that enforce rate
    limits, the client paced at its channel defaults: for the first PACED_SAMPLE changes of each
    target, changes per second at the API's limit, calls made, requests the store refused (429),
    and calls per 1,000 changes (bulk endpoints versus one call per SKU)."""
    from pydantic import SecretStr

    from afterclick import warehouse
    from afterclick.demo.catalog import STORE_BY_ID
    from afterclick.demo.emulators.server import serve_channels
    from afterclick.demo.generate import load_truth
    from afterclick.settings import DEFAULT_REQUESTS_PER_SECOND
    from ingest.channels.connector import ChannelStore
    from writeback import engine
    from writeback.run import adapter_factory

    out = {}
    with warehouse.writer(settings):
        con = warehouse.connect(settings)
        try:
            con.execute("delete from ops.writeback_ledger where kind in ('stock', 'prices')")
            wanted = {kind: engine.desired(con, kind) for kind in ("stock", "prices")}
            with serve_channels(load_truth(settings), shopify_bucket=SHOPIFY_BUCKET,
                                requests_per_second=EMULATED_LIMITS) as endpoints:
                stores = {sid: ChannelStore(sid, STORE_BY_ID[sid].channel, url,
                                            {k: SecretStr(v) for k, v in state.credentials.items()},
                                            DEFAULT_REQUESTS_PER_SECOND[STORE_BY_ID[sid].channel])
                          for sid, (url, state) in endpoints.items()}
                now = datetime.now(UTC).replace(tzinfo=None)
                make = adapter_factory(stores, None, 60.0)

                def target_run(target: str) -> None:  # its stock, then its prices, on its own cursor
                    cursor = con.cursor()
                    try:
                        for kind in ("stock", "prices"):
                            changes = wanted[kind].get(target)
                            if not changes:
                                continue
                            state, channel = endpoints[target][1], STORE_BY_ID[target].channel
                            before = len(state.requests)
                            adapter = make(kind, target, channel)
                            try:
                                t = engine.push_target(cursor, adapter, changes[:PACED_SAMPLE], now)
                            finally:
                                adapter.close()
                            calls = len(state.requests) - before
                            out[f"{kind} {target}"] = {
                                "changes": t.pushed, "seconds": t.seconds, "calls": calls,
                                "per_s": round(t.pushed / t.seconds, 1) if t.seconds else None,
                                "calls_per_1k": round(1000 * calls / max(t.pushed, 1)),
                                "limit": EMULATED_LIMITS.get(channel, "cost bucket 1000/50"),
                                "refused_429": state.throttled}
                    finally:
                        cursor.close()

                # the targets are separate stores with separate limits: pushed side by side
                with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
                    list(pool.map(target_run, sorted(endpoints)))
        finally:
            con.close()
    return dict(sorted(out.items()))


PAGES = ("overview", "order_cycle", "delivery", "stock", "customers", "writeback")


def page_timings(runs: int = 3) -> dict:
    """Each dashboard page rendered by Streamlit's AppTest on the snapshot, caches cleared before
    every run (a cold render: every query hits DuckDB): median seconds per page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "dashboards" / "app.py")
    out = {}
    for page in PAGES:
        timings = []
        for _ in range(runs):
            st.cache_data.clear()
            at = AppTest.from_file(app, default_timeout=120).run()
            t0 = time.perf_counter()
            if page != "overview":
                at.switch_page(f"pages/{page}.py")
            at.run()
            timings.append(time.perf_counter() - t0)
            assert not at.exception, (page, at.exception)
        out[page] = round(statistics.median(timings), 3)
    return out


def markdown(results: list[dict]) -> str:
    header = ("| order lines | orders | generate s | land s (rows/s) | dbt build s | publish s | "
              "one more day s | dashboard p95 ms (worst query) | slowest page s (cold) | "
              "write-back s (changes) | write-back, nothing new s | peak RSS MB |")
    rows = [header, "|" + "---|" * 12]
    for r in results:
        worst = max(q["p95_ms"] for q in r["queries"].values())
        page, page_s = max(r["pages"].items(), key=lambda kv: kv[1])
        if "push" in r:
            push = f"{r['push_s']} ({sum(t['changes'] for t in r['push'].values()):,}) | {r['push_again_s']}"
        else:
            push = "not run | not run"
        rows.append(f"| {r['order_lines']:,} | {r['orders']:,} | {r['generate_s']} | {r['land_s']} "
                    f"({r['land_rows_per_s']:,}) | {r['dbt_build_s']} | {r['publish_s']} | "
                    f"{r['one_day']['total_s']} | {worst} | {page_s} ({page}) | {push} | {r['peak_rss_mb']:,} |")
    rows += ["", "Landing by source (each source kind in ingest order; the landing step alone is the time in "
             "`land_batch`: dedupe, insert, commit, apart from reading the source):", "",
             "| order lines | " + " | ".join(results[0]["land_by_source"]) + " | API orders/s | landing step alone |",
             "|---|" + "---|" * (len(results[0]["land_by_source"]) + 2)]
    for r in results:
        api_s = r["land_by_source"]["channels"]["seconds"]
        step = r["landing_step"]
        rows.append(f"| {r['order_lines']:,} | " + " | ".join(
            f"{t['rows']:,} in {t['seconds']} s" for t in r["land_by_source"].values())
            + f" | {round(r['api_orders_landed'] / api_s):,} | {step['rows_per_s']:,} rows/s ({step['batches']:,} "
              f"transactions, {step['seconds']} s) |")
    pushed_runs = [r for r in results if "push" in r]  # the write-back stage can be skipped (--skip write-back)
    targets = list(dict.fromkeys(k for r in pushed_runs for k in [*r["push"], *r.get("push_skipped", {})]))
    if pushed_runs:  # write-back tables only for the sizes that pushed
        rows += ["", "Write-back throughput (first push, changes per second per target):", "",
                 "| order lines | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]

        def pushed(r: dict, target: str) -> str:
            if target in r["push"]:
                t = r["push"][target]
                return f"{t['changes']:,} in {t['seconds']} s ({t['per_s']}/s)"
            return f"skipped: {r.get('push_skipped', {}).get(target, 'not pushed')}"
        for r in pushed_runs:
            rows.append(f"| {r['order_lines']:,} | " + " | ".join(pushed(r, t) for t in targets) + " |")
        rows += ["", "Write-back at the API's rate limit (stock and prices from an empty ledger; emulators "
                 "enforce the limit, the client paces itself):", "",
                 "| order lines | target | changes | calls | calls per 1k changes | seconds | per second | "
                 "limit (req/s) | 429s |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            rows += [f"| {r['order_lines']:,} | {name} | {t['changes']:,} | {t['calls']:,} | {t['calls_per_1k']:,} | "
                     f"{t['seconds']} | {t['per_s']} | {t['limit']} | {t['refused_429']} |"
                     for name, t in r.get("push_paced", {}).items()]
    for r in results:
        if r.get("stock_10k"):
            rows += ["", f"A {STOCK_SKUS:,}-SKU stock change per channel: bulk endpoints against one call per SKU "
                     "(free: emulator without a limit; one call per SKU measured on a sample and scaled; at the limit: "
                     "the emulator enforcing it, the client pacing itself; a floor is what the limit alone imposes on "
                     "the calls made, not waited out):", "",
                     "| channel | bulk: calls, s | one call per SKU: calls, s | bulk at the limit s | "
                     "one call per SKU at the limit, floor s | limit (req/s) |", "|---|---|---|---|---|---|"]
            for channel, t in r["stock_10k"].items():
                bulk, single = t["bulk"], t["one call per SKU"]
                paced = t.get("bulk at the limit")
                at_limit = (f"{paced['seconds']} ({paced['refused_429']} 429s; floor {t['bulk at the limit, floor s']})"
                            if paced else f"≥ {t['bulk at the limit, floor s']} (floor, not waited out)")
                bulk_cell = "no bulk endpoint" if channel in NO_BULK else f"{bulk['calls']:,}, {bulk['seconds']}"
                rows.append(f"| {channel} | {bulk_cell} | {single['all_skus_calls']:,}, {single['all_skus_seconds']} "
                            f"({single['skus']:,} measured: {single['seconds']} s) | "
                            f"{at_limit} | ≥ {t['one call per SKU at the limit, floor s']} | {t['limit']} |")
    rows += ["", "One more day (the channels' last day of orders and changes landed, built and published; the "
             "file sources bring nothing new):", "",
             "| order lines | lines with news | rows landed | land s | build s | publish s | total s | "
             "before it: the first push read back, rows in s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        d = r.get("one_day")
        if d:
            back = r.get("read_back")
            back = f"{back['rows_landed']:,} in {back['land_s']}" if back else "no push: nothing to read back"
            rows.append(f"| {r['order_lines']:,} | {d['share_of_lines']:.2%} | {d['rows_landed']:,} | {d['land_s']} | "
                        f"{d['build_s']} | {d['publish_s']} | {d['total_s']} | "
                        f"{back} |")
    rows += ["", "Baselines in the same run (the naive way to the same result, and how far it agrees):", "",
             "| order lines | cycle build: incremental s / full refresh s | order cycle: dbt s / pandas s (agreement) | "
             "cohorts: dbt s / pandas s (agreement) |", "|---|---|---|---|"]
    for r in results:
        b = r.get("baselines")
        if b:
            oc, co = b["order_cycle"], b["cohorts"]
            rows.append(f"| {r['order_lines']:,} | {r['one_day']['build_s']} / {r.get('full_refresh_build_s', 'not run')} | "
                        f"{oc['dbt_s']} / {oc['pandas_s']} ({oc['delivered_at_agreement']:.2%}) | "
                        f"{co['dbt_s']} / {co['pandas_s']} ({co['active_customers_agreement']:.2%}) |")
    rows += ["", "Dashboard pages, cold render (s): " + "; ".join(
        f"{r['order_lines']:,} lines: " + ", ".join(f"{p} {s}" for p, s in r["pages"].items()) for r in results)]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, action="append", help="order lines (repeatable)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    parser.add_argument("--size-only", action="store_true", help=argparse.SUPPRESS)  # internal: skip size-free stages
    parser.add_argument("--skip", action="append", choices=SKIPPABLE, default=[],
                        help="leave a stage out (repeatable), e.g. at 10M lines, where the first push alone "
                             "would take most of an hour")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.days, size_free=not args.size_only, skip=frozenset(args.skip))))
        return
    results = []
    for n, lines in enumerate(args.lines or [100_000, 1_000_000]):
        print(f"measuring {lines:,} order lines (progress: {RESULTS / f'{lines}.log'}) …", flush=True)
        t0 = time.perf_counter()
        RESULTS.mkdir(exist_ok=True)
        log = RESULTS / f"{lines}.log"  # what the stages logged as they went (a skipped target says why)
        with log.open("w") as stderr:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--one", str(lines), "--days",
                                   str(args.days), *(["--size-only"] if n else []),
                                   *(f"--skip={s}" for s in args.skip)], stdout=subprocess.PIPE, stderr=stderr, text=True)
        if proc.returncode:
            sys.exit(f"benchmark at {lines:,} lines failed:\n{log.read_text()[-3000:]}")
        results.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "run_s": round(time.perf_counter() - t0)})
        print(f"  done in {results[-1]['run_s']} s", flush=True)
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
