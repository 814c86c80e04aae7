"""Marketing spend per store, campaign and day (CSV in ``<landing>/marketing/inbox``) → ``raw.marketing__spend``.

A later file for the same day, store and campaign supersedes the earlier one (staging keeps the
latest landed): ad platforms restate spend for a few days after the fact.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.files.tabular import FileSpec, ingest_inbox
from ingest.inbox import Inbox
from ingest.landing import Landed, ensure_raw_table

SOURCE = "marketing"
SPEC = FileSpec(
    entity="spend",
    pattern="spend_*",
    columns={
        "date": "date",
        "store_id": "str",
        "campaign": "str",
        "spend": "float",
        "currency": "str",
        "clicks": "int",
        "impressions": "int",
    },
    required=("date", "store_id", "campaign", "spend", "currency"),
    key=("date", "store_id", "campaign", "source_file"),
    non_negative=("spend", "clicks", "impressions"),
)
RAW_TABLES = {f"raw.{SOURCE}__{SPEC.entity}": SPEC.raw_columns()}


def ingest_spend(con: duckdb.DuckDBPyConnection, landing: Path, min_age_seconds: float = 0.0) -> list[Landed]:
    for table, columns in RAW_TABLES.items():
        ensure_raw_table(con, table, columns)
    return ingest_inbox(con, Inbox(landing / SOURCE), SOURCE, "", [SPEC], min_age_seconds)
