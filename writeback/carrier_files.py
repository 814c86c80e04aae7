"""The shipments file ("fichero de expediciones") a carrier's label tool imports.

Every parcel the warehouse has packed for a carrier that works by file exchange goes into
exactly one shipments file, written to ``<landing>/carriers/<carrier>/outbox/``: one line per
parcel with its reference (our ``shipment_id``), order, recipient, address, weight, parcels and
service. Free text (recipient, address, city, …) is written so it cannot break the file nor run in a
spreadsheet (``safe_text``). The label tool answers with a labels file (reference → tracking number) in the
carrier's inbox, which ``ingest.carriers.files`` lands.

Exactly once: the file is first written as ``<name>.part`` (a name the label tool ignores),
then its parcels are recorded in ``ops.carrier_file_parcels`` (one transaction), then it is
renamed to ``<name>``. A crash before the commit leaves a ``.part`` nobody recorded: the next
run deletes it and writes those parcels again; a crash after the commit leaves a ``.part``
whose parcels are recorded: the next run completes the rename. A parcel is never in two files.

The packed confirmations are read straight from ``raw.wms__fulfilment_events``: labels are
needed minutes after packing, not after the next dbt build. Each file written is also recorded in
``ops.writeback_attempts`` (kind ``carrier_file``), in the same transaction, for the write-back page.
"""

from __future__ import annotations

import logging
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from afterclick.errors import CarrierHandOffFailed
from afterclick.settings import CarrierFileFormat
from writeback import ledger

log = logging.getLogger("afterclick.writeback.carrier_files")

PENDING_SQL = """
select shipment_id as reference, any_value(order_key) as order_key,
       any_value(ship_to_name) as recipient, any_value(ship_to_address) as address,
       any_value(ship_to_postcode) as postcode, any_value(ship_to_city) as city,
       any_value(ship_to_country) as country, cast(null as varchar) as email,
       any_value(weight_kg) as weight_kg, 1 as parcels, any_value(service) as service
from raw.wms__fulfilment_events
where stage = 'packed' and carrier = ?
  and shipment_id not in (select reference from ops.carrier_file_parcels where carrier = ?)
group by shipment_id
order by shipment_id
"""


# a value starting with one of these is run as a formula by a spreadsheet opening the file
FORMULA_START = r"^[=+\-@\t\r]"


def safe_text(frame: pl.DataFrame, separator: str) -> pl.DataFrame:
    """Every text column as a label tool and a spreadsheet can take it: line breaks and the separator
    become spaces (one line per parcel and one column per field, even for a tool that splits lines
    naively), and a value a spreadsheet would run as a formula (starting with = + - @ or a tab) gets
    a leading ' (OWASP's advice against CSV injection). Numbers (weight, parcels) are left as they are."""

    def safe(column: str) -> pl.Expr:
        one_line = pl.col(column).str.replace_all(r"\r\n|[\r\n]", " ").str.replace_all(separator, " ", literal=True)
        return (
            pl.when(one_line.str.contains(FORMULA_START))
            .then(pl.concat_str([pl.lit("'"), one_line]))
            .otherwise(one_line)
            .alias(column)
        )

    return frame.with_columns([safe(c) for c, dtype in frame.schema.items() if dtype == pl.String])


@dataclass
class ShipmentsFile:
    carrier: str
    path: Path | None
    parcels: int


def outbox(landing: Path, carrier: str) -> Path:
    return landing / "carriers" / carrier / "outbox"


def recover(con: duckdb.DuckDBPyConnection, folder: Path, carrier: str) -> None:
    """Finish or discard what a crash left: see the module docstring."""
    for part in sorted(folder.glob("*.part")):
        final = part.with_suffix("")
        recorded = con.execute(
            "select count(*) from ops.carrier_file_parcels where carrier = ? and file_name = ?", [carrier, final.name]
        ).fetchall()[0][0]
        if recorded:
            part.rename(final)
            log.info("%s: completed %s left by an interrupted run", carrier, final.name)
        else:
            part.unlink()
            log.info("%s: discarded %s, never recorded; its parcels go in the next file", carrier, part.name)


def _warehouse_confirmations(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' "
            "and table_name = 'wms__fulfilment_events'"
        ).fetchall()[0][0]
    )


def write_shipments_file(
    con: duckdb.DuckDBPyConnection, landing: Path, carrier: str, fmt: CarrierFileFormat, now: datetime | None = None
) -> ShipmentsFile:
    """Write one shipments file with every packed parcel not yet sent to the carrier."""
    folder = outbox(landing, carrier)
    folder.mkdir(parents=True, exist_ok=True)
    recover(con, folder, carrier)
    if not _warehouse_confirmations(con):  # nothing landed from the warehouses yet: nothing packed
        return ShipmentsFile(carrier, None, 0)
    pending = con.sql(PENDING_SQL, params=[carrier, carrier]).pl()
    if pending.is_empty():
        return ShipmentsFile(carrier, None, 0)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    final = folder / fmt.shipments_file.format(stamp=now.strftime("%Y%m%d%H%M%S%f"))
    part = final.with_name(final.name + ".part")
    body = safe_text(
        pending.select([pl.col(ours).alias(theirs) for ours, theirs in fmt.shipments_columns.items()]), fmt.separator
    )
    with open(part, "w", encoding=fmt.encoding, newline="") as fh:
        body.write_csv(fh, separator=fmt.separator)
    con.execute("begin transaction")
    try:
        con.register("_parcels", pending.select("reference", "order_key").to_arrow())
        con.execute(
            "insert into ops.carrier_file_parcels select ?, reference, order_key, ?, ? from _parcels",
            [carrier, final.name, now],
        )
        con.unregister("_parcels")
        # the exchange shows on the write-back page like every other push (kind carrier_file)
        ledger.ensure(con)
        con.execute(
            "insert into ops.writeback_attempts values (?, ?, 'carrier_file', ?, ?, ?, 'succeeded', null, null, "
            "null, ?, false)",
            [uuid.uuid4().hex, final.name, carrier, carrier, final.name, now],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    part.rename(final)
    log.info("%s: wrote %d parcels to %s", carrier, pending.height, final)
    if fmt.label_command:
        hand_over(final, carrier, fmt.label_command)
    return ShipmentsFile(carrier, final, pending.height)


def hand_over(path: Path, carrier: str, command: list[str], timeout: float = 600.0) -> None:
    """Run the carrier's ``label_command`` on a shipments file just written ({file}: its path). A
    command that fails raises CarrierHandOffFailed; the file stays in the outbox, recorded as sent."""
    args = [part.replace("{file}", str(path)) for part in command]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CarrierHandOffFailed(f"{carrier}: label_command could not run on {path.name}: {exc}") from None
    if done.returncode != 0:
        raise CarrierHandOffFailed(
            f"{carrier}: label_command exited {done.returncode} on {path.name}: {done.stderr.strip()[-500:]}"
        )
    log.info(
        "%s: handed %s to the label tool%s",
        carrier,
        path.name,
        f" ({done.stdout.strip().splitlines()[-1]})" if done.stdout.strip() else "",
    )


RECONCILE_SQL = """
with sent as (select reference, order_key from ops.carrier_file_parcels where carrier = $carrier),
labels as (select distinct reference, tracking_number from raw.carrier_files__labels where _store = $carrier),
statuses as (select distinct tracking_number from raw.carrier_files__status_events where _store = $carrier)
select
    (select count(*) from sent) as parcels_sent,
    (select count(*) from sent where reference not in (select reference from labels)) as sent_without_label,
    (select count(*) from labels where reference not in (select reference from sent)) as labels_not_sent,
    (select count(*) from statuses where tracking_number not in (select tracking_number from labels))
        as statuses_without_label
"""


def reconcile(con: duckdb.DuckDBPyConnection, carrier: str) -> dict[str, int]:
    """How the round trip stands: parcels sent, and every mismatch between sent, labelled and tracked."""
    row = con.execute(RECONCILE_SQL, {"carrier": carrier}).fetchall()[0]
    return dict(zip(("parcels_sent", "sent_without_label", "labels_not_sent", "statuses_without_label"), row))
