"""What ``afterclick status`` reports, read as every reader reads: from the published serving
snapshot (its ``ops`` records), the writer lock's holder file and the run journal. It never opens
warehouse.duckdb, which a running pipeline holds read-write, and never takes the writer lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import duckdb
import pandas as pd

from afterclick import runs, warehouse
from afterclick.settings import Settings

QUERIES = {
    "last loads per source": """select source, entity, store, count(*) as batches, sum(rows_landed) as rows_landed,
             sum(rows_quarantined) as quarantined, max(finished_at) as last_loaded_at,
             any_value(cursor_value order by finished_at desc) as cursor
             from ops.loads group by all order by source, entity, store""",
    "last builds": """select command, status, started_at, finished_at, models_built, tests_passed, tests_failed
             from ops.builds order by started_at desc limit 5""",
    "last run of every flow": """select flow, status, started_at, finished_at,
             summary->>'$.ingest.rows_landed' as rows_landed, summary->>'$.ingest.rows_quarantined' as quarantined,
             summary->>'$.transform.models_built' as models_built, summary->>'$.transform.tests_failed' as tests_failed,
             summary->>'$.writeback.pushed' as pushed, summary->>'$.writeback.failed' as to_retry,
             summary->>'$.writeback.dead' as dead, summary->>'$.seconds' as seconds, error
             from ops.runs qualify row_number() over (partition by flow order by started_at desc) = 1
             order by flow""",
    # sent, never confirmed (a crash in between, on a target that cannot be read back, such as email):
    # not sent again, so never twice; a person checks them
    "write-back changes in doubt (sent but never confirmed, not sent again: check them by hand in "
    "ops.writeback_ledger where status = 'unknown')": """select kind, store_id, count(*) as changes,
             min(updated_at) as first_at, max(updated_at) as last_at
             from ops.writeback_ledger where status = 'unknown' group by all order by kind, store_id""",
    "quarantine totals (records set aside with their reason in ops.quarantine)": """select source, entity, store,
             count(*) as records, count(distinct batch_id) as batches, max(quarantined_at) as last_quarantined_at
             from ops.quarantine group by all order by source, entity, store""",
}
# record-level checks of the sources' data (dbt's rpt_data_quality): they never fail the build
FINDINGS = (
    "open data-quality findings (records kept as the source states them; each one in rpt_data_quality where is_open)",
    """select check_name, store_id, count(*) as findings,
             min(first_seen_at) as first_seen_at, max(last_seen_at) as last_seen_at
             from main.rpt_data_quality where is_open group by all order by check_name, store_id""",
)


def _table(frame: pd.DataFrame) -> str:
    return "(none)" if frame.empty else frame.to_string(index=False, max_colwidth=40)


def writer_line(settings: Settings) -> str:
    holder = warehouse.current_writer(settings)
    if holder is None:
        return "warehouse: no writer is running"
    return f"warehouse: being written by {holder}; what follows is the published snapshot"


def pending_lines(settings: Settings) -> list[str]:
    """The journal's run records the published snapshot does not carry yet."""
    pending = runs.not_yet_published(settings, runs.pending_runs(settings))
    if not pending:
        return []
    frame = pd.DataFrame(
        [{k: r.get(k) for k in ("flow", "status", "started_at", "finished_at", "error")} for r in pending]
    )
    return [
        f"\nruns not yet in the snapshot (recorded in {runs.journal_path(settings)}; they move into ops.runs "
        "with the next run that holds the writer):",
        _table(frame),
    ]


def _has_table(con: duckdb.DuckDBPyConnection, query: str) -> bool:
    table = query.split(" from ops.", 1)[1].split()[0]
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = ?", [table]
    ).fetchall() != [(0,)]


def report(settings: Settings, echo: Callable[[str], None]) -> bool:
    """Echo the status; False when there is no serving snapshot to report from yet."""
    echo(writer_line(settings))
    if not settings.serving_path.exists():
        for line in pending_lines(settings):
            echo(line)
        return False
    with warehouse.read_serving(settings) as con:
        [(version, published_at)] = con.execute("select version, published_at from _snapshot").fetchall()
        echo(
            f"serving snapshot: {settings.serving_path} version {version}, "
            f"published at {published_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        for title, query in QUERIES.items():
            echo(f"\n{title}:")
            echo(_table(con.sql(query).pl().to_pandas()) if _has_table(con, query) else "(none)")
            if title == "last run of every flow":
                for line in pending_lines(settings):
                    echo(line)
        title, query = FINDINGS
        published = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' "
            "and table_name = 'rpt_data_quality'"
        ).fetchall() != [(0,)]
        echo(f"\n{title}:")
        echo(_table(con.sql(query).pl().to_pandas()) if published else "(none)")
    return True
