"""The carrier's label tool of the demo world (Correos' style): imports our shipments files and
answers with a labels file.

It reads every complete shipments file in ``<landing>/carriers/<carrier>/outbox/``, gives each
parcel reference the tracking number the ground truth says the parcel carries, writes
``etiquetas_<stamp>.txt`` (reference, tracking number, local time of labelling) into the
carrier's inbox and moves the imported file to ``outbox/imported/``. A reference it does not
know gets no label (the reconciliation shows it).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import polars as pl

from afterclick.settings import CarrierFileFormat
from afterclick.demo.world import World


def run_label_tool(world: World, carrier_dir: Path, fmt: CarrierFileFormat, now: datetime) -> int:
    """Process the outbox; returns the number of labels produced."""
    outbox, inbox, imported = carrier_dir / "outbox", carrier_dir / "inbox", carrier_dir / "outbox" / "imported"
    inbox.mkdir(parents=True, exist_ok=True)
    imported.mkdir(parents=True, exist_ok=True)
    ref_col = fmt.shipments_columns["reference"]
    tracking = world.shipments.select(pl.col("shipment_id").alias("reference"), "tracking_number")
    labelled = 0
    for path in sorted(p for p in outbox.iterdir() if p.is_file() and p.suffix != ".part"):
        sent = pl.read_csv(path, separator=fmt.separator, encoding=fmt.encoding, infer_schema_length=0)
        labels = (sent.select(pl.col(ref_col).alias("reference")).join(tracking, on="reference", how="inner")
                  .with_columns(pl.lit(now).dt.replace_time_zone("UTC").dt.convert_time_zone(fmt.timezone)
                                .dt.strftime(fmt.date_format).alias("labelled_at")))
        out = inbox / fmt.labels_glob.replace("*", path.stem.split("_", 1)[-1])
        labels.select([pl.col(ours).alias(theirs) for ours, theirs in fmt.labels_columns.items()]).write_csv(
            out, separator=fmt.separator)
        shutil.move(str(path), imported / path.name)
        labelled += labels.height
    return labelled
