"""``afterclick``: the command line. Each command prints what it did and where the output is.

Heavy imports (Prefect, dbt, Streamlit) happen inside the commands that need them, so
``afterclick sql`` or ``afterclick status`` answer in well under a second.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from afterclick.errors import AfterclickError
from afterclick.settings import load_settings

if TYPE_CHECKING:
    from afterclick.pipeline.figures import RunSummary


class _Commands(typer.core.TyperGroup):
    """The commands, with a user's error (AfterclickError: bad settings, a refused store…) printed
    as one line on stderr and exit status EXIT_FAILED, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AfterclickError as exc:
            typer.echo("error: " + " ".join(str(exc).splitlines()), err=True)
            raise typer.Exit(EXIT_FAILED) from None


app = typer.Typer(
    help="afterclick: what happens after the click. Data platform for e-commerce operations.",
    no_args_is_help=True,
    add_completion=False,
    cls=_Commands,
)

# Exit codes (docs/operations/running.md, "Exit codes"); 0: done, 2 also: a usage error.
EXIT_FAILED = 1  # the run, build or query failed (or the writer lock stayed taken)
EXIT_NOTHING_YET = 2  # no serving snapshot to read yet
EXIT_PARTIAL = 3  # a run in which some sources failed: the others landed, built and published
EXIT_REFUSED = 4  # ad-hoc SQL that is not a read (readers are read-only)
EXIT_TIMED_OUT = 5  # ad-hoc SQL stopped at the reader time limit


def _echo_json(data: dict) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


# The modules of the demo extra (pyproject.toml, [project.optional-dependencies] demo), as imported.
DEMO_EXTRA_MODULES = ("starlette", "uvicorn", "aiosmtpd", "graphql", "jsonschema", "yaml")
DEMO_EXTRA_MISSING = "the demo needs the demo extra: pip install 'afterclick[demo]'"


@contextmanager
def _demo_extra() -> Iterator[None]:
    """Around the demo's imports (commands demo, generate, emulate): an install without the demo
    extra gets one line saying how to add it and exit status EXIT_FAILED, not a traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in DEMO_EXTRA_MODULES:
            raise
        typer.echo(DEMO_EXTRA_MISSING, err=True)
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
def generate(
    orders: Annotated[int | None, typer.Option(help="Number of orders in the demo world.")] = None,
    days: Annotated[int | None, typer.Option(help="Days of history.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed and end, same world.")] = None,
    end: Annotated[
        datetime | None, typer.Option(help="Last instant of the world (UTC); default: today's midnight.")
    ] = None,
) -> None:
    """Generate the deterministic demo world: channels, ERP, WMS and carrier data with ground truth."""
    with _demo_extra():
        from demo.generate import generate as run_generate

    settings = load_settings()
    settings.ensure_dirs()
    summary = run_generate(
        settings,
        orders or settings.demo.orders,
        days or settings.demo.days,
        settings.demo.seed if seed is None else seed,
        end,
    )
    typer.echo(
        f"generated {summary['orders']:,} orders ({summary['order_lines']:,} lines, "
        f"{summary['customers']:,} customers) from {summary['start']} to {summary['end']} "
        f"in {summary['seconds']}s"
    )
    for channel, count in summary["orders_by_channel"].items():
        typer.echo(f"  {channel:<12} {count:>9,} orders")
    typer.echo(f"ground truth: {summary['path']}/truth   source files: {settings.landing_dir}")


@contextmanager
def _holding_writer(settings, purpose: str) -> Iterator[None]:
    """The writer lock for a command; when it stays taken, say by whom and exit (no traceback)."""
    from afterclick import warehouse

    held = ExitStack()
    try:
        held.enter_context(warehouse.writer(settings, purpose=purpose))
    except warehouse.WarehouseBusy as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_FAILED) from None
    with held:
        yield


def _report_pipeline_run(settings, summary: RunSummary) -> None:
    """What a pipeline run did; a run in which sources failed names them on stderr and
    exits EXIT_PARTIAL."""
    landed, built, published = summary.ingest, summary.transform, summary.publish
    assert landed is not None and built is not None and published is not None, "a pipeline run runs every step"
    typer.echo(
        f"landed {landed.rows_landed:,} rows ({landed.rows_quarantined:,} quarantined); "
        f"dbt built {built.models_built} models, "
        f"{built.tests_failed} tests failed; published snapshot "
        f"{published.version} in {summary.seconds}s"
    )
    typer.echo(f"serving snapshot: {settings.serving_path}")
    if failed := summary.failed_sources():
        typer.echo(
            f"run partial: {len(failed)} source{'s' if len(failed) > 1 else ''} failed "
            f"({', '.join(failed)}); the other sources landed, the build ran and the snapshot was "
            "published (recorded in ops.runs as partial)",
            err=True,
        )
        for source, error in failed.items():
            typer.echo(f"  {source}: {error}", err=True)
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def run(
    select: Annotated[str | None, typer.Option(help="dbt selector for a partial build.")] = None,
    plain: Annotated[bool, typer.Option(help="Run the steps without Prefect (no server start-up).")] = False,
) -> None:
    """Run the pipeline once: ingest every source, dbt build, publish the serving snapshot. Exits 3 when
    some sources failed (the others are landed, built and published), 1 when the run failed."""
    from afterclick.transform import BuildFailed
    from afterclick.warehouse import WarehouseBusy

    settings = load_settings()
    try:
        if plain:
            import logging

            from afterclick.pipeline.steps import run_pipeline

            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
            summary = run_pipeline(settings, select)
        else:
            from afterclick.prefect_env import configure_prefect

            configure_prefect(settings)
            from flows.pipeline import pipeline_flow

            summary = pipeline_flow(state_dir=str(settings.root), select=select)
    except (WarehouseBusy, BuildFailed) as exc:
        typer.echo(f"pipeline run failed: {exc}\n(the run is recorded: see `afterclick status`)", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    _report_pipeline_run(settings, summary)


@app.command()
def serve(
    once: Annotated[
        bool,
        typer.Option(
            help="Run the pipeline once through the server and exit (for cron); exits 3 when some sources failed."
        ),
    ] = False,
) -> None:
    """Start (or reuse) a local Prefect server and run every flow on its schedule from settings."""
    from flows.serve import serve_forever

    settings = load_settings()
    summary = serve_forever(settings, once=once)
    if summary:
        typer.echo("pipeline run through the Prefect server:")
        _report_pipeline_run(settings, summary)


@app.command()
def backfill(
    source: Annotated[str, typer.Option(help="Source kind to re-ingest (e.g. marketplace).")],
    since: Annotated[datetime, typer.Option(help="Re-land everything from this instant (UTC) on.")],
    store: Annotated[str | None, typer.Option(help="Only this store (channels and marketplace).")] = None,
) -> None:
    """Re-ingest a source from a date on; idempotent (rows already landed are not landed again)."""
    import logging

    from afterclick import warehouse
    from afterclick.pipeline.steps import ingest_source_step

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    with warehouse.writer(settings, purpose=f"backfill {source}"):
        out = ingest_source_step(settings, source, since, store)
    typer.echo(
        f"backfill of {source} since {since:%Y-%m-%d %H:%M}: {out.rows_landed:,} new rows "
        f"({out.rows_quarantined:,} quarantined); run `afterclick run` or wait for the next build"
    )


@app.command()
def build(
    select: Annotated[str | None, typer.Option(help="dbt selector for a partial build.")] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help=(
                "Rebuild the incremental models from scratch (after a change of their columns, of the "
                "safety_stock seed or of stock_velocity_days)."
            ),
        ),
    ] = False,
    publish_after: Annotated[bool, typer.Option("--publish/--no-publish", help="Publish the snapshot after.")] = True,
) -> None:
    """dbt build on what the warehouse holds now (no ingest), then publish the serving snapshot."""
    import logging

    from afterclick.pipeline.steps import publish_step, transform_step
    from afterclick.transform import BuildFailed

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    with _holding_writer(settings, "afterclick build"):
        try:
            built = transform_step(settings, select, full_refresh=full_refresh)
        except BuildFailed as exc:
            typer.echo(f"{exc}\nif a model's columns changed, run `afterclick build --full-refresh`", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        published = publish_step(settings) if publish_after else None
    typer.echo(
        f"dbt built {built.models_built} models{' from scratch' if full_refresh else ''}, "
        f"{built.tests_passed} tests passed in {built.seconds}s"
        + (f"; published snapshot {published.version} to {settings.serving_path}" if published else "")
    )


@app.command()
def publish() -> None:
    """Publish the serving snapshot from the warehouse as it is now."""
    from afterclick import warehouse

    settings = load_settings()
    with _holding_writer(settings, "afterclick publish"):
        meta = warehouse.publish(settings)
    typer.echo(f"published {len(meta['tables'])} tables to {meta['path']} in {meta['seconds']}s")


@app.command()
def push(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="stock and/or notification (default: settings).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Record and print what would change; push nothing.")
    ] = False,
    publish_after: Annotated[bool, typer.Option("--publish/--no-publish", help="Publish the snapshot after.")] = True,
) -> None:
    """Push what changed in the warehouse's desired state (wb_* models) to the channels and customers."""
    from afterclick import warehouse
    from writeback.run import push as push_changes
    from writeback.run import report_lines

    settings = load_settings()
    with _holding_writer(settings, "afterclick push"):
        report = push_changes(settings, kinds=kind, dry_run=dry_run)
        for line in report_lines(report):
            typer.echo(line)
        if publish_after:
            warehouse.publish(settings)
    typer.echo(
        f"{'dry run: nothing pushed; ' if dry_run else ''}attempts recorded in ops.writeback_attempts "
        f"({settings.warehouse_path})"
    )


@app.command()
def emulate(
    stores_file: Annotated[
        Path | None,
        typer.Option(
            help="Where to write how to reach them: the settings channel_stores, "
            "smtp, erp, tracking_api and carrier_files, and beside it (.env) "
            "the same as AFTERCLICK_* variables (default: "
            "<state>/demo/channels/stores.json)."
        ),
    ] = None,
    store: Annotated[
        list[str] | None, typer.Option(help="Serve only this store (repeatable; default: every API store).")
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            help="Processes to serve the stores from (0: one per store, 1: this "
            "one; default: setting demo_emulator_processes)."
        ),
    ] = None,
    mailbox: Annotated[bool, typer.Option(help="Serve the customers' mailbox too.")] = True,
    tracking: Annotated[bool, typer.Option(help="Serve the tracking service too (in this process).")] = True,
    watch_parent: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Serve the demo world's outside world until stopped (Ctrl-C): its channel stores (Shopify, VTEX,
    Magento, WooCommerce emulators), by default each in a process of its own, its customers'
    mailbox (SMTP) and its tracking service. The stores file names them, with the demo's ERP and
    carrier label tool, as settings; source the .env file beside it and every command (`afterclick
    run`, `serve`, `push`) reads and pushes as to real systems. The stores show their world as of
    ``as_of`` and keep what they are told."""
    with _demo_extra():
        from demo.emulators.server import (
            demo_clock,
            demo_shopify_bucket,
            serve_until_stopped,
            store_groups,
            supervise_until_stopped,
        )
        from demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
        from demo.generate import load_truth
        from demo.outside_world import demo_marketplaces, label_tool_command

    settings = load_settings()
    if not (settings.demo_dir / "world.json").exists():
        raise typer.BadParameter(f"no demo world in {settings.demo_dir}: run `afterclick generate` first")
    inventory = settings.demo_dir / "channels"
    inventory.mkdir(parents=True, exist_ok=True)
    stores_file = stores_file or inventory / "stores.json"
    mailbox_dir = settings.demo_dir / "mailbox" if mailbox else None
    groups = store_groups(settings.demo_emulator_processes if processes is None else processes, store or None)
    if store and (unknown := set(store) - {s for g in groups for s in g}):
        raise typer.BadParameter(f"no demo API store {', '.join(sorted(unknown))}")
    # the demo's other systems, as settings: its SQLite ERP and (demo_label_tool) its carriers' label
    # tool; not in a store process of the supervisor (watch_parent): the supervisor publishes them
    also: dict | None = None if watch_parent else {"erp": {"url": f"sqlite:///{settings.demo_dir / 'erp.sqlite'}"}}
    if also is not None:
        also["marketplaces"] = demo_marketplaces(settings)  # the demo's marketplace stores' profiles
        if settings.demo_label_tool and settings.carrier_files:
            also["carrier_files"] = {
                carrier: {**fmt.model_dump(mode="json"), "label_command": label_tool_command(settings, carrier)}
                for carrier, fmt in settings.carrier_files.items()
            }
        stores_file.unlink(missing_ok=True)  # left by an emulate killed outright: they name dead ports
        stores_file.with_suffix(".env").unlink(missing_ok=True)
    world = load_truth(settings, stores=store or None) if len(groups) == 1 else None
    served = ", ".join(
        [(f"channel store{'s' * (len(store) > 1)} {', '.join(store)}" if store else "channel stores")]
        + ["the mailbox"] * mailbox
        + ["the tracking service"] * (tracking and also is not None)
    )
    with ExitStack() as serving:
        if tracking and also is not None:  # every parcel's tracking: the whole world's
            url, _ = serving.enter_context(
                serve_tracking(world if world is not None and not store else load_truth(settings))
            )
            also["tracking_api"] = {"url": url, "token": DEMO_TRACKING_TOKEN}
        typer.echo(
            f"serving the demo world's {served}"
            + (f" ({len(groups)} store processes)" if len(groups) > 1 else "")
            + f"; how to reach them (with the demo credentials) goes to {stores_file}"
            + (f" and, as AFTERCLICK_* variables, {stores_file.with_suffix('.env')}" if also else "")
            + " once they answer. Stop with Ctrl-C.",
            err=True,
        )
        if len(groups) > 1:
            supervise_until_stopped(stores_file, groups, mailbox_dir, also=also)
            return
        assert world is not None, "one group of stores: its world is loaded above"
        serve_until_stopped(
            world,
            stores_file,
            demo_clock(settings.as_of, world.end),
            demo_shopify_bucket(settings.demo_rate_limits),
            inventory,
            mailbox_dir,
            stores=store or None,
            watch_parent=watch_parent,
            also=also,
        )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the serving snapshot (read-only).")],
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """Ad-hoc SQL against the serving snapshot (marts resolve unqualified, ops tables as ops.<name>).
    Reads only: SELECT (also DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN, within the reader limits
    (settings reader.memory_limit, reader.threads, reader.query_timeout_seconds)."""
    import duckdb
    import polars as pl

    from afterclick import warehouse

    settings = load_settings()
    try:
        con = warehouse.read_serving(settings)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_NOTHING_YET) from None
    try:
        frame = warehouse.run_read(
            con,
            query,
            timeout=settings.reader.query_timeout_seconds,
            fetch=lambda result: pl.from_arrow(result.to_arrow_table()),
        )
    except warehouse.ReadOnlyRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except warehouse.QueryTimedOut as exc:
        typer.echo(
            f"query stopped after {exc.seconds:g} s, the time limit of ad-hoc queries; to allow longer, "
            "set AFTERCLICK_READER__QUERY_TIMEOUT_SECONDS (or query_timeout_seconds under [reader] "
            "in afterclick.toml)",
            err=True,
        )
        raise typer.Exit(EXIT_TIMED_OUT) from None
    except (duckdb.Error, ValueError) as exc:  # show DuckDB's message, not a traceback
        typer.echo(f"query failed: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        con.close()
    if format == "csv":
        typer.echo(frame.write_csv(), nl=False)
    elif format == "json":
        typer.echo(frame.write_json())
    else:
        with pl.Config(tbl_rows=200, tbl_cols=40, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
            typer.echo(frame)


@app.command()
def status() -> None:
    """Who is writing the warehouse now, and what was loaded, built, published and run, and when (from the
    published snapshot's records and the run journal: status never opens the warehouse a pipeline writes).
    Also the write-back changes in doubt and the quarantine totals."""
    from afterclick.status import report

    if not report(load_settings(), typer.echo):
        typer.echo("\nno serving snapshot yet, so nothing more to report: run `afterclick run` first", err=True)
        raise typer.Exit(EXIT_NOTHING_YET)


EVERY_INTERFACE = ("0.0.0.0", "::")


def dashboard_command(settings, port: int, headless: bool) -> list[str]:
    """The ``streamlit run`` command line of the dashboards: listening on ``settings.dashboard_address``
    only (loopback unless the user exposes them)."""
    app_path = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.address",
        settings.dashboard_address.strip(),
        "--server.port",
        str(port),
        "--server.headless",
        str(headless).lower(),
        "--browser.gatherUsageStats",
        "false",
    ]


def dashboard_url(address: str, port: int) -> str:
    """Where to open the dashboards: their address, or this machine's name when they listen on every interface."""
    import socket

    host = socket.gethostname() if address.strip() in EVERY_INTERFACE else address.strip()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    headless: Annotated[bool, typer.Option(help="Do not try to open a browser.")] = True,
) -> None:
    """Start the Streamlit dashboards over the serving snapshot and print their URL."""
    settings = load_settings()
    if not settings.dashboard_address.strip():
        raise typer.BadParameter(
            "dashboard_address is empty: set 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
            param_hint="AFTERCLICK_DASHBOARD_ADDRESS",
        )
    env = {**os.environ, "AFTERCLICK_STATE_DIR": str(settings.root), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    typer.echo(
        f"dashboards: {dashboard_url(settings.dashboard_address, port)}  "
        f"(reading {settings.serving_path}; Ctrl-C stops)"
    )
    if settings.dashboard_address.strip() in EVERY_INTERFACE and not settings.dashboard_login:
        typer.echo("dashboards: listening on every interface without a login (dashboard_login is off)", err=True)
    cmd = dashboard_command(settings, port, headless)
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)  # become the server: signals (Ctrl-C, terminate) reach it directly


@app.command()
def docs(
    port: Annotated[int, typer.Option(help="Port to serve on (0: any free port).")] = 8580,
) -> None:
    """Serve dbt's documentation of the models (lineage, columns, tests) as of the last build, and
    print its URL. It is generated with every build into <state>/dbt/docs; the warehouse is not opened."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from afterclick.transform import docs_dir

    settings = load_settings()
    folder = docs_dir(settings)
    if not (folder / "index.html").exists():
        typer.echo(
            f"no model documentation in {folder} yet: it is generated by every build "
            "(`afterclick run` or `afterclick build`; setting dbt_docs)",
            err=True,
        )
        raise typer.Exit(2)

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer((settings.dashboard_address, port), partial(QuietHandler, directory=str(folder)))
    host = "127.0.0.1" if settings.dashboard_address in ("0.0.0.0", "") else settings.dashboard_address
    typer.echo(f"model documentation: http://{host}:{server.server_port}/  (serving {folder}; Ctrl-C stops)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
def demo(
    orders: Annotated[int | None, typer.Option(help="Number of orders in the demo world.")] = None,
    days: Annotated[int | None, typer.Option(help="Days of history.")] = None,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8501,
    serve: Annotated[bool, typer.Option(help="Start the dashboards at the end.")] = True,
    plain: Annotated[bool, typer.Option(help="Run the pipeline without Prefect (no server start-up).")] = False,
) -> None:
    """Generate the demo world, serve its outside world (channel stores, ERP, tracking service, mailbox,
    label tool) and configure the platform to use it, run the pipeline once, publish and start the
    dashboards."""
    with _demo_extra():
        from demo.outside_world import serve_outside_world

    generate(orders=orders, days=days, seed=None, end=None)
    settings = load_settings()
    with serve_outside_world(settings) as env:
        os.environ.update(env)  # the settings the demo world's systems are reached by, as a merchant sets them
        typer.echo("serving the demo world's stores, ERP, tracking service and mailbox on loopback")
        try:
            run(select=None, plain=plain)
        finally:
            for name in env:
                os.environ.pop(name, None)
    if serve:
        dashboard(port=port, headless=True)


if __name__ == "__main__":
    app()
