"""The carrier's label tool of the demo world (Correos' style): imports our shipments files and
answers with a labels file.

It reads a complete shipments file from ``<landing>/carriers/<carrier>/outbox/``, gives each
parcel reference the tracking number the ground truth says the parcel carries, writes
``etiquetas_<stamp>.txt`` (reference, tracking number, local time of labelling) into the
carrier's inbox and moves the imported file to ``outbox/imported/``. A reference it does not
know gets no label (the reconciliation shows it).

The demo configures it as the carrier's ``label_command`` (demo/outside_world.py), so the platform
runs it like any carrier hand-off: ``python -m demo.label_tool --state-dir S --carrier C FILE``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl

from afterclick.settings import CarrierFileFormat, load_settings


def run_label_tool(
    shipments: pl.DataFrame, carrier_dir: Path, fmt: CarrierFileFormat, now: datetime, files: list[Path] | None = None
) -> int:
    """Answer the shipments ``files`` (default: every complete one in the outbox) from the world's
    ``shipments`` (shipment_id, tracking_number); returns the number of labels produced."""
    outbox, inbox, imported = carrier_dir / "outbox", carrier_dir / "inbox", carrier_dir / "outbox" / "imported"
    inbox.mkdir(parents=True, exist_ok=True)
    imported.mkdir(parents=True, exist_ok=True)
    ref_col = fmt.shipments_columns["reference"]
    tracking = shipments.select(pl.col("shipment_id").alias("reference"), "tracking_number")
    labelled = 0
    files = files or sorted(p for p in outbox.iterdir() if p.is_file() and p.suffix != ".part")
    for path in files:
        sent = pl.read_csv(path, separator=fmt.separator, encoding=fmt.encoding, infer_schema_length=0)
        labels = (
            sent.select(pl.col(ref_col).alias("reference"))
            .join(tracking, on="reference", how="inner")
            .with_columns(
                pl.lit(now)
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(fmt.timezone)
                .dt.strftime(fmt.date_format)
                .alias("labelled_at")
            )
        )
        out = inbox / fmt.labels_glob.replace("*", path.stem.split("_", 1)[-1])
        labels.select([pl.col(ours).alias(theirs) for ours, theirs in fmt.labels_columns.items()]).write_csv(
            out, separator=fmt.separator
        )
        shutil.move(str(path), imported / path.name)
        labelled += labels.height
    return labelled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The demo carrier's label tool: answer a shipments file.")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--carrier", required=True)
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings(state_dir=args.state_dir)
    end = datetime.fromisoformat(json.loads((settings.demo_dir / "world.json").read_text())["end"])
    shipments = pl.read_parquet(
        settings.demo_dir / "truth" / "shipments.parquet", columns=["shipment_id", "tracking_number"]
    )
    labelled = run_label_tool(
        shipments, args.file.parent.parent, settings.carrier_files[args.carrier], end, [args.file]
    )
    print(f"{args.carrier} label tool: {labelled} labels for {args.file.name}")


if __name__ == "__main__":
    main()
