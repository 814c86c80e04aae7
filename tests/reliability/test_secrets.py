"""Security drill: the credentials afterclick is configured with never reach its logs, the
warehouse (raw tables, ledger, attempts, run records), the serving snapshot, the demo's files or
dbt's artifacts, after a full build and a push to every channel and customer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from demo.emulators.server import DEMO_CREDENTIALS
from demo.emulators.tracking import DEMO_TRACKING_TOKEN

REPO = Path(__file__).resolve().parents[2]
SECRETS = sorted({v for creds in DEMO_CREDENTIALS.values() for v in creds.values()} | {DEMO_TRACKING_TOKEN})


def _database_hits(path: Path) -> list[str]:
    """schema.table.column of every text column holding a secret."""
    hits = []
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.sql(
            "select table_catalog, table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        for catalog, schema, table, column in columns:
            where = " or ".join(f'contains("{column}", ?)' for _ in SECRETS)
            found = con.execute(f'select count(*) from "{catalog}"."{schema}"."{table}" where {where}', SECRETS)
            if found.fetchall()[0][0]:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def _file_hits(root: Path) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".duckdb.wal", ".parquet")):
            data = path.read_bytes()
            hits += [f"{path}: {secret[:4]}…" for secret in SECRETS if secret.encode() in data]
    return hits


def test_no_secret_reaches_logs_tables_snapshot_or_files(built, wb):
    env = {**os.environ, "AFTERCLICK_STATE_DIR": str(wb.root)}
    pushed = subprocess.run(
        [sys.executable, "-m", "afterclick.cli", "push"], env=env, capture_output=True, text=True, timeout=600
    )
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    assert "pushed" in pushed.stdout + pushed.stderr  # it really talked to the channels
    logs = pushed.stdout + pushed.stderr
    assert [s for s in SECRETS if s in logs] == []
    assert _database_hits(wb.warehouse_path) == []
    assert _database_hits(wb.serving_path) == []
    assert _database_hits(built[0].warehouse_path) == []  # the full build: every raw table the APIs filled
    assert _file_hits(wb.root) == [] and _file_hits(built[0].root) == []
    assert _file_hits(REPO / "dbt" / "target") == [] and _file_hits(REPO / "dbt" / "logs") == []
