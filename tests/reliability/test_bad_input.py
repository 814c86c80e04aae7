"""Bad-input drill: one ingest run meets a catalogue of bad input next to the demo world's good
data. Each bad record gets a clear reason in ops.quarantine and in the run summary; the rest of
its batch, file and run lands.

The catalogue: a channel page that stays malformed JSON; a CSV in the wrong encoding; a file
missing required columns; a file with extra columns (lands, the column is kept); a different row
reusing a key (and a row repeated whole, which lands once); an impossible date; a negative
quantity; an unknown SKU; a JSON line that does not parse; a marketplace export with bad rows; a
time dated 2099; thousands of blank lines; a column twice; a file mostly bad (rejected whole with
one summary row); a marketplace export cut mid-line; a
big file (DRILL_BIG_FILE_MB, 20 MB here by default, 200 MB recorded in the README)."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import polars as pl

from afterclick import warehouse
from afterclick.pipeline.figures import RunSummary
from afterclick.pipeline.steps import ingest_step, plain_call, summary_markdown
from afterclick.settings import ChannelStoreSettings
from demo.generate import load_truth
from ingest.files import wms
from ingest.inbox import Inbox

MB = 1024 * 1024


def _old(folder: Path) -> None:
    old = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (old, old))


def _drop_bad_night(settings, sku: str) -> Path:
    """The bad files, each next to good rows, in the first warehouse's inbox and a marketplace's."""
    inbox = settings.landing_dir / "wms" / settings.warehouses[0] / "inbox"
    (inbox / "returns_latin1.csv").write_bytes(
        f"order_key,sku,quantity,received_at,reason_text\ns:1,{sku},1,2026-10-02 10:00:00,Talla pequeña\n".encode(
            "latin-1"
        )
    )
    (inbox / "stock_snapshot_no_sku.csv").write_text("articulo,cantidad,snapshot_at\nA,5,2026-10-02 00:00:00\n")
    (inbox / "stock_snapshot_drill.csv").write_text(
        f"sku,warehouse_id,on_hand,snapshot_at\n{sku},wh-x,7,2026-10-02 00:00:00\n{sku},wh-x,-3,2026-10-03 00:00:00\n"
    )  # negative quantity
    (inbox / "movements_drill.csv").write_text(
        "sku,warehouse_id,movement,quantity,reference,moved_at,lot\n"  # "lot": an extra column
        f"{sku},wh-x,receipt,5,PO-1,2026-10-02 10:00:00,L-77\n"
        f"{sku},wh-x,receipt,5,PO-2,2026-02-30 10:00:00,L-78\n"  # impossible date
        "NOPE-404,wh-x,receipt,5,PO-3,2026-10-02 11:00:00,L-79\n"  # unknown SKU
        f"{sku},wh-x,adjustment,many,ADJ-1,2026-10-02 12:00:00,\n"  # not a number
        f"{sku},wh-x,receipt,5,PO-4,2099-10-02 10:00:00,L-80\n"  # a time no system can send
        # good rows enough to keep the file below the share of bad rows that rejects it whole
        + "".join(f"{sku},wh-x,receipt,1,PO-G{i},2026-10-03 10:00:00,\n" for i in range(4))
        + ",,,,,,\n" * 1000
        + "   \n" * 1000
    )  # blank lines: no rows, nothing quarantined
    (inbox / "returns_twice.csv").write_text(  # a column twice: rejected whole
        f"order_key,sku,Quantity,quantity,received_at\ns:1,{sku},1,1,2026-10-02 10:00:00\n"
    )
    (inbox / "stock_snapshot_mostly_bad.csv").write_text(  # 9 rows of 10 bad: rejected whole, one summary row
        "sku,warehouse_id,on_hand,snapshot_at\n"
        + f"{sku},wh-x,1,2026-10-04 00:00:00\n"
        + "".join(f"{sku},wh-x,x,2026-10-04 0{i}:00:00\n" for i in range(1, 10))
    )
    fulfilment = (
        '{"order_key":"s:1","shipment_id":"DRILL-1","warehouse_id":"wh-x","stage":"picked",'
        '"occurred_at":"2026-10-01T10:00:00Z","carrier":"correos"}\n'
    )
    (inbox / "fulfilment_drill.jsonl").write_text(
        fulfilment
        + fulfilment  # repeated whole: the same record, lands once
        + fulfilment.replace("correos", "seur")  # the same key, different content
        + '{"order_key":"s:1","shipment_id":"DRILL-2", "stage": "pack\n'
    )  # a line that does not parse
    market = settings.landing_dir / "marketplace" / "miravia-es" / "inbox"
    market.mkdir(parents=True, exist_ok=True)
    (market / "drill_orders.csv").write_text(
        "Número de pedido;Fecha de creación;Fecha de actualización;Estado;SKU del vendedor;Cantidad;Precio unitario\n"
        f"MVD1;02/10/2026 10:56;03/10/2026 09:00;enviado;{sku};2;10,50\n"
        f"MVD2;31/02/2026 10:56;03/10/2026 09:00;enviado;{sku};1;5\n"
    )
    (market / "drill_cut.csv").write_text(  # the writer stopped inside 131,74: the cut row is named, not landed
        "Número de pedido;Fecha de creación;Fecha de actualización;Estado;SKU del vendedor;Cantidad;Precio unitario\n"
        f"MVC1;02/10/2026 10:56;03/10/2026 09:00;enviado;{sku};1;10,50\n"
        f"MVC2;02/10/2026 10:56;03/10/2026 09:00;enviado;{sku};1;20,50\n"
        f"MVC3;02/10/2026 10:56;03/10/2026 09:00;enviado;{sku};1;13"
    )
    _old(inbox)
    _old(market)
    return inbox


def test_a_bad_night_quarantines_each_bad_record_with_its_reason_and_the_rest_lands(settings, demo_world):
    from demo.emulators.server import serve_channels

    world = load_truth(settings)
    sku = world.products["sku"][0]
    inbox = _drop_bad_night(settings, sku)
    with serve_channels(world) as endpoints:
        settings.channel_stores = {
            store: ChannelStoreSettings(
                channel=_channel(store), base_url=url, credentials=state.credentials, requests_per_second=0
            )
            for store, (url, state) in endpoints.items()
        }
        endpoints["woo-pt"][1].faults = ["malformed"] * 10  # every attempt at the first page
        summary = ingest_step(settings, plain_call)

    # the channel with the broken page is reported, and only it
    assert set(summary.errors) == {"channels woo-pt"}
    assert "not valid JSON" in summary.errors["channels woo-pt"]
    with warehouse.connect(settings) as con:
        quarantine = con.sql("select source, entity, store, reason, payload from ops.quarantine").fetchall()
        landed = {
            ch: dict(con.sql(f"select _store, count(distinct id) from raw.{ch}__orders group by 1").fetchall())
            for ch in ("shopify", "vtex", "magento", "woocommerce")
        }
        drill_rows = con.sql(
            "select source_file, count(*) from (select source_file from raw.wms__stock_movements "
            "union all select source_file from raw.wms__stock_snapshots union all "
            "select source_file from raw.wms__fulfilment_events) where source_file like '%drill%' "
            "group by 1 order by 1"
        ).fetchall()
        lot = con.sql("select lot from raw.wms__stock_movements where lot is not null").fetchall()
        market = con.sql("select order_id from raw.marketplace__order_lines where order_id like 'MVD%'").fetchall()
    reasons = [r for *_, r, _ in quarantine]
    page = [q for q in quarantine if q[2] == "woo-pt"]
    assert len(page) == 1 and "not valid JSON" in page[0][3] and page[0][4].startswith('{"orders"')

    expected = {  # what each bad input must say
        "wrong encoding": "returns_latin1.csv is not valid utf8",
        "missing columns": "stock_snapshot_no_sku.csv lacks required column(s) ['sku', 'on_hand']",
        "negative quantity": "stock_snapshot_drill.csv row 3: on_hand is negative",
        "impossible date": "movements_drill.csv row 3: moved_at unparsable as datetime (2026-02-30 10:00:00)",
        "unknown SKU": "movements_drill.csv row 4: sku NOPE-404 is not in the product catalogue",
        "not a number": "movements_drill.csv row 5: quantity unparsable as int (many)",
        "duplicate key": "fulfilment_drill.jsonl row 3: duplicate key (shipment_id=DRILL-1, stage=picked",
        "bad JSON line": "fulfilment_drill.jsonl line 4: not a JSON object",
        "marketplace date": "placed_at missing or unparsable",
        "future time": "movements_drill.csv row 6: moved_at 2099-10-02 10:00:00 lies in the future",
        "column twice": "returns_twice.csv: column 'quantity' appears twice (as 'Quantity' and 'quantity')",
        "mostly bad": "stock_snapshot_mostly_bad.csv rejected: 9 of 10 rows bad",
        "truncated export": "drill_cut.csv row 4: the file looks truncated",
    }
    for what, reason in expected.items():
        assert sum(reason in r for r in reasons) == 1, f"{what}: no quarantine row says {reason!r}"
    in_summary = [r for q in summary.quarantined for r in q.reasons]
    for what, reason in expected.items():
        assert any(reason in r for r in in_summary), f"{what}: the run summary does not say {reason!r}"
    table = summary_markdown(RunSummary(ingest=summary))
    assert "quarantined from wms stock_movements (wh-mad)" in table and "error in channels woo-pt" in table
    assert summary.rows_quarantined == len(quarantine)

    # the rest lands: every other store whole, and the good rows of every bad file
    truth = world.orders.group_by("store_id").len()
    for store, n in truth.iter_rows():
        channel = _channel(store)
        if channel in landed and store != "woo-pt":
            assert landed[channel].get(store) == n, store
    assert dict(drill_rows) == {"fulfilment_drill.jsonl": 1, "movements_drill.csv": 5, "stock_snapshot_drill.csv": 1}
    assert lot == [("L-77",)]  # the extra column was kept
    assert market == [("MVD1",)]
    assert sorted(p.name for p in (inbox.parent / "rejected").iterdir()) == [
        "returns_latin1.csv",
        "returns_twice.csv",
        "stock_snapshot_mostly_bad.csv",
        "stock_snapshot_no_sku.csv",
    ]


def _channel(store_id: str) -> str:
    from demo.catalog import STORE_BY_ID

    return STORE_BY_ID[store_id].channel


def test_a_big_file_lands_whole_except_its_bad_rows(settings):
    """A movements file of DRILL_BIG_FILE_MB megabytes with a bad row every 100,000:
    every good row lands once, each bad one is quarantined, and the time and memory it took are printed."""
    size_mb = float(os.environ.get("DRILL_BIG_FILE_MB", "20"))
    inbox = Inbox(settings.landing_dir / "wms" / "wh-big")
    inbox.ensure()
    row = "SKU-{:06d},wh-big,receipt,{},PO-{:09d},2026-10-02 10:{:02d}:00\n"
    rows_per_mb = MB // len(row.format(1, 5, 1, 1))
    n = int(size_mb * rows_per_mb)
    bad = set(range(50_000, n, 100_000))
    frame = (
        pl.DataFrame({"i": range(n)})
        .with_columns(
            ("SKU-" + (pl.col("i") % 5000).cast(pl.Utf8).str.zfill(6)).alias("sku"),
            pl.lit("wh-big").alias("warehouse_id"),
            pl.lit("receipt").alias("movement"),
            pl.when(pl.col("i").is_in(list(bad)))
            .then(pl.lit("x"))
            .otherwise((pl.col("i") % 9 + 1).cast(pl.Utf8))
            .alias("quantity"),
            ("PO-" + pl.col("i").cast(pl.Utf8).str.zfill(9)).alias("reference"),
            pl.lit("2026-10-02 10:00:00").alias("moved_at"),
        )
        .drop("i")
    )
    path = inbox.inbox / "movements_big.csv"
    frame.write_csv(path)
    actual_mb = path.stat().st_size / MB
    _old(inbox.inbox)
    started = time.perf_counter()
    with warehouse.connect(settings) as con:
        [landed] = wms.ingest_warehouse(con, settings.landing_dir, "wh-big")
        raw = con.sql("select count(*), count(distinct reference) from raw.wms__stock_movements").fetchall()[0]
        reasons = con.sql("select reason from ops.quarantine").fetchall()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nbig file: {actual_mb:.0f} MB, {n:,} rows landed in {seconds:.1f} s; process peak RSS {peak_mb:.0f} MB")
    assert (landed.rows_landed, landed.rows_quarantined) == (n - len(bad), len(bad))
    assert raw == (n - len(bad), n - len(bad))
    assert all("quantity unparsable as int (x)" in r for (r,) in reasons) and len(reasons) == len(bad)
    assert [p.name for p in inbox.archive.iterdir()] == ["movements_big.csv"]
