"""Files carriers send back, in ``<landing>/carriers/<carrier>/inbox`` (Correos' style by default):

- the label tool's output: one tracking number per parcel reference we sent in the shipments
  file → ``raw.carrier_files__labels``;
- the status-and-incidents file: delivered, failed attempts, recipient not found, refused,
  returned… with the carrier's own words kept → ``raw.carrier_files__status_events``.
The column names, separator, encoding, date format and time zone come from the carrier's
``CarrierFileFormat`` in settings; times are landed in UTC. ``_store`` is the carrier.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import duckdb

from afterclick.settings import CarrierFileFormat
from ingest.files.tabular import FileSpec, ingest_inbox
from ingest.inbox import Inbox
from ingest.landing import Landed, ensure_raw_table

SOURCE = "carrier_files"
LABEL_COLUMNS = {"reference": "str", "tracking_number": "str", "labelled_at": "datetime"}
STATUS_COLUMNS = {
    "tracking_number": "str",
    "reference": "str",
    "occurred_at": "datetime",
    "raw_status": "str",
    "message": "str",
    "location": "str",
}


class _FileLayout(TypedDict):
    """How the carrier writes both of its files (the ``FileSpec`` fields they share)."""

    separator: str
    encoding: str
    date_formats: tuple[str, ...]
    timezone: str | None


def specs(fmt: CarrierFileFormat) -> list[FileSpec]:
    common: _FileLayout = {
        "separator": fmt.separator,
        "encoding": fmt.encoding,
        "date_formats": (fmt.date_format,),
        "timezone": fmt.timezone,
    }
    return [
        FileSpec(
            entity="labels",
            pattern=fmt.labels_glob,
            columns=LABEL_COLUMNS,
            rename={v: k for k, v in fmt.labels_columns.items()},
            required=("reference", "tracking_number"),
            key=("reference", "tracking_number"),
            **common,
        ),
        FileSpec(
            entity="status_events",
            pattern=fmt.status_glob,
            columns=STATUS_COLUMNS,
            rename={v: k for k, v in fmt.status_columns.items()},
            required=("tracking_number", "occurred_at", "raw_status"),
            key=("tracking_number", "occurred_at", "raw_status"),
            **common,
        ),
    ]


RAW_TABLES = {f"raw.{SOURCE}__{spec.entity}": spec.raw_columns() for spec in specs(CarrierFileFormat())}


def carrier_dir(landing: Path, carrier: str) -> Path:
    return landing / "carriers" / carrier


def ingest_carrier_files(
    con: duckdb.DuckDBPyConnection, landing: Path, carrier: str, fmt: CarrierFileFormat, min_age_seconds: float = 0.0
) -> list[Landed]:
    for table, columns in RAW_TABLES.items():
        ensure_raw_table(con, table, columns)
    return ingest_inbox(con, Inbox(carrier_dir(landing, carrier)), SOURCE, carrier, specs(fmt), min_age_seconds)
