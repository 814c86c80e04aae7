"""Marketplace order exports (CSV / TSV / XLSX) dropped in a store's inbox, read as the store's
export description says (``marketplaces.<store>.export``; ingest.files.export_reader reads them).

Rows land in ``raw.marketplace__order_lines`` (one row per line per export: the same order appears
again in a later export with its newer status, and staging keeps the latest; an order without item
rows lands as one row without a line). A row whose required fields are missing or unparsable, or
whose time lies in the future, is quarantined with the reason, and so is a last line cut short (no
line end: the file looks truncated); a file whose required columns are missing, whose header is
unusable (a column twice, ingest.files.header), that is not text in the described encoding or
whose share of bad rows passes ``file_reject_bad_share`` is rejected whole. Blank lines are no rows.

A two-file export (an orders file and an items file) lands when both kinds of file are in the inbox:
the files of one kind wait for the other's; a file matching neither pattern is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from afterclick.channels.export_description import ExportDescription
from ingest.bad_input import file_rejected_summary, rules
from ingest.files.export_reader import EVENT_TIMES, RAW_COLUMNS, read_lines_export, read_two_file_export
from ingest.files.header import FileRejected
from ingest.inbox import Inbox, already_processed, content_hash, file_record_sql, move_to, ready_files
from ingest.landing import (
    Batch,
    Landed,
    Rejected,
    ensure_raw_table,
    land_batch,
    refused_for_its_data,
    split_future_times,
)

SOURCE, ENTITY = "marketplace", "order_lines"
TABLE = f"raw.{SOURCE}__{ENTITY}"
KEY = ("order_id", "sku", "updated_at", "source_row", "status")


@dataclass(frozen=True)
class MarketplaceStore:
    store_id: str
    export: ExportDescription
    inbox_root: Path  # <landing>/marketplace/<store>


def _backfill_files(inbox: Inbox, since: datetime) -> list[Path]:
    """Archived exports written at or after ``since``, to land again (rows already in raw are skipped)."""
    return sorted(
        p for p in inbox.archive.iterdir() if p.is_file() and datetime.fromtimestamp(p.stat().st_mtime) >= since
    )


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """The raw table with every column the models read (a warehouse from before a column existed
    gets it, empty)."""
    ensure_raw_table(con, TABLE, RAW_COLUMNS)
    have = {r[0].casefold() for r in con.execute(f"select column_name from (describe {TABLE})").fetchall()}
    for column, duck_type in RAW_COLUMNS.items():
        if column.casefold() not in have:
            con.execute(f'alter table {TABLE} add column "{column}" {duck_type}')


def _groups(store: MarketplaceStore, paths: list[Path]) -> tuple[list[list[Path]], list[tuple[Path, str]]]:
    """The exports to land, each its list of files, and the files to reject with the reason. A
    two-file export is every orders file and every items file at hand, or nothing while one kind
    is missing."""
    desc = store.export
    if desc.orders is None or desc.items is None:
        return [[p] for p in paths], []
    orders: list[Path] = []
    items: list[Path] = []
    strays: list[tuple[Path, str]] = []
    for p in paths:
        kinds = [k for k, f in (("orders", desc.orders), ("items", desc.items)) if f.matches(p.name)]
        if len(kinds) == 1:
            (orders if kinds == ["orders"] else items).append(p)
        else:
            strays.append(
                (
                    p,
                    f"{p.name} matches "
                    + (
                        "both the orders and the items pattern"
                        if kinds
                        else f"neither the orders pattern {desc.orders.pattern!r} nor the items pattern "
                        f"{desc.items.pattern!r}"
                    ),
                )
            )
    return ([[*orders, *items]] if orders and items else []), strays


def _read(store: MarketplaceStore, files: list[Path]) -> tuple[pl.DataFrame, list[Rejected]]:
    desc = store.export
    if desc.orders is None or desc.items is None:
        return read_lines_export(files[0], desc)
    return read_two_file_export(
        [p for p in files if desc.orders.matches(p.name)], [p for p in files if desc.items.matches(p.name)], desc
    )


def ingest_marketplace_store(
    con: duckdb.DuckDBPyConnection, store: MarketplaceStore, min_age_seconds: float = 0.0, since: datetime | None = None
) -> list[Landed]:
    """Land every complete, not-yet-seen export in the store's inbox; archive or reject each.

    With ``since`` (a backfill), archived exports from then on are landed again too.
    """
    inbox = Inbox(store.inbox_root).ensure()
    _ensure_table(con)
    results: list[Landed] = []
    backfill = set(_backfill_files(inbox, since)) if since else set()
    ready = [*ready_files(inbox, min_age_seconds), *sorted(backfill)]

    def reject(files: list[Path], reason: str) -> None:
        land_batch(
            con,
            Batch(
                SOURCE,
                ENTITY,
                store.store_id,
                pl.DataFrame(),
                key=(),
                rejected=[Rejected(payload=", ".join(p.name for p in files), reason=reason, key=files[0].name)],
            ),
        )
        for path in files:
            if path not in backfill:
                move_to(path, inbox.rejected)

    groups, strays = _groups(store, ready)
    for path, reason in strays:
        reject([path], reason)
    for files in groups:
        digests = {path: content_hash(path) for path in files}
        if all(path not in backfill and already_processed(con, d) for path, d in digests.items()):
            for path in files:  # landed before a crash stopped the move
                move_to(path, inbox.archive)
            continue
        try:
            good, rejected = _read(store, files)
        except FileRejected as exc:
            reject(files, str(exc))
            continue
        except OSError:
            raise  # the inbox itself is unreadable: not this file's fault
        except Exception as exc:  # noqa: BLE001 - whatever else a file makes the reader stumble on rejects it
            reject(files, f"cannot read {files[0].name}: {type(exc).__name__}: {exc}"[:2000])
            continue
        names = ", ".join(p.name for p in files)
        batch = split_future_times(
            Batch(
                SOURCE,
                ENTITY,
                store.store_id,
                good,
                key=KEY,
                rejected=rejected,
                cursor_value=files[-1].name,
                event_times=tuple(EVENT_TIMES),
            )
        )
        read = batch.records.height + len(batch.rejected)
        if rules().rejects_file(len(batch.rejected), read):
            reject(files, file_rejected_summary(names, len(batch.rejected), read, [r.reason for r in batch.rejected]))
            continue
        try:
            landed = land_batch(
                con,
                batch,
                extra_sql=[
                    file_record_sql(digest, SOURCE, store.store_id, path, batch.batch_id, batch.records.height)
                    for path, digest in digests.items()
                ],
            )
        except Exception as exc:
            if not refused_for_its_data(exc):
                raise
            reject(files, f"{names} could not be landed: {type(exc).__name__}: {exc}"[:2000])
            continue
        for path in files:
            if path not in backfill:
                move_to(path, inbox.archive)
        results.append(landed)
    return results
