"""Back-office connectors against the demo world: ERP database, WMS drops, carrier file exchange, spend."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import date, timedelta

import polars as pl
import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.pipeline.steps import ingest_source_step
from demo.generate import load_truth
from demo.label_tool import run_label_tool
from ingest import erp
from ingest.carriers import files as carrier_files
from ingest.files import spend, wms
from ingest.run import ingest_wms
from writeback.carrier_files import outbox, reconcile, write_shipments_file


def _erp_url(settings) -> SecretStr:
    return SecretStr(f"sqlite:///{settings.demo_dir / 'erp.sqlite'}")


def _rows(con, sql):
    return con.sql(sql).fetchall()


def test_erp_reads_incrementally_new_and_changed_rows_only(settings, demo_world):
    with warehouse.connect(settings) as con:
        first = erp.ingest_erp(con, _erp_url(settings), settings.erp.tables, chunk_rows=500)
        by_table = {}
        for x in first:
            by_table[x.table] = by_table.get(x.table, 0) + x.rows_landed
        assert by_table == {f"raw.erp__{k}": v for k, v in demo_world["back_office"]["erp"].items()}
        assert sum(1 for x in first if x.table == "raw.erp__invoices") > 1  # read in chunks, cursor per chunk
        assert sum(x.rows_landed for x in erp.ingest_erp(con, _erp_url(settings), settings.erp.tables)) == 0

    with sqlite3.connect(settings.demo_dir / "erp.sqlite") as db:  # the ERP books a new invoice and corrects one
        last = db.execute("select max(updated_at) from invoices").fetchone()[0]
        # a day after the last change (a year later would lie in the future: quarantined at landing)
        later = last.replace(last[:10], (date.fromisoformat(last[:10]) + timedelta(days=1)).isoformat(), 1)
        db.execute(
            "insert into invoices select 'INV-NEW', 'F-NEW', order_ref, store_id, kind, issued_at, net, tax, "
            "total, currency, ? from invoices limit 1",
            [later],
        )
        db.execute(
            "update invoices set total = total + 1, updated_at = ? where invoice_id = "
            "(select min(invoice_id) from invoices where invoice_id <> 'INV-NEW')",
            [later],
        )
    with warehouse.connect(settings) as con:
        again = erp.ingest_erp(con, _erp_url(settings), settings.erp.tables)
        assert {x.table: x.rows_landed for x in again if x.rows_landed} == {"raw.erp__invoices": 2}
        versions = _rows(con, "select count(*), count(distinct invoice_id) from raw.erp__invoices")[0]
        assert versions == (
            demo_world["back_office"]["erp"]["invoices"] + 2,
            demo_world["back_office"]["erp"]["invoices"] + 1,
        )


def test_erp_table_misconfigured_is_a_clear_error(settings, demo_world):
    tables = {"invoices": settings.erp.tables["invoices"].model_copy(update={"incremental_column": "changed_on"})}
    with warehouse.connect(settings) as con, pytest.raises(ValueError, match="changed_on.*erp.tables.invoices"):
        erp.ingest_erp(con, _erp_url(settings), tables)


def test_wms_and_spend_counts_equal_the_generated_world(settings, small_world):
    truth = load_truth(settings)
    ingest_wms(settings)
    with warehouse.connect(settings) as con:
        spend.ingest_spend(con, settings.landing_dir)
        stages = dict(_rows(con, "select stage, count(*) from raw.wms__fulfilment_events group by 1"))
        returns = _rows(con, "select count(*) from raw.wms__returns_received")[0][0]
        spend_rows = _rows(con, "select count(*) from raw.marketing__spend")[0][0]
        quarantined = _rows(con, "select count(*) from ops.quarantine")[0][0]
    assert stages == {s: truth.shipments[f"{s}_at"].is_not_null().sum() for s in ("picked", "packed", "shipped")}
    assert returns == truth.returns["received_at"].is_not_null().sum()
    assert spend_rows > 0 and quarantined == 0
    for wh in settings.warehouses:  # every file archived, none left
        assert not any((settings.landing_dir / "wms" / wh / "inbox").iterdir())


def test_a_wms_folder_processes_exactly_the_good_files_once(settings, small_world):
    folder = settings.landing_dir / "wms" / "wh-test" / "inbox"
    folder.mkdir(parents=True)
    good = (
        '{"order_key":"s:1","shipment_id":"S1","warehouse_id":"wh-test","stage":"picked",'
        '"occurred_at":"2026-10-01T10:00:00Z"}\n'
        '{"order_key":"s:1","shipment_id":"S1","warehouse_id":"wh-test","stage":"packed",'
        '"occurred_at":"2026-10-01T11:00:00Z","weight_kg":"-2"}\n'
        "not json at all\n"  # two bad rows of five: below the share that rejects the file whole
        '{"order_key":"s:1","shipment_id":"S1","warehouse_id":"wh-test","stage":"shipped",'
        '"occurred_at":"2026-10-01T12:00:00Z"}\n'
        '{"order_key":"s:2","shipment_id":"S2","warehouse_id":"wh-test","stage":"picked",'
        '"occurred_at":"2026-10-01T12:00:00Z"}\n'
    )
    (folder / "fulfilment_1.jsonl").write_text(good)
    (folder / "fulfilment_1_copy.jsonl").write_text(good)  # the same content under another name
    (folder / "returns_bad_encoding.csv").write_bytes(
        "order_key,sku,quantity,received_at,reason_text\ns:1,A,1,2026-10-02 10:00:00,Talla pequeña\n".encode("latin-1")
    )
    (folder / "movements_truncated.csv").write_text("sku,movement,quantity,moved_at\nA,receipt,5,2026-10-0")
    (folder / "stock_snapshot_wrong_columns.csv").write_text("articulo,cantidad\nA,5\n")
    (folder / "stock_snapshot_ok.csv").write_text(
        "sku,warehouse_id,on_hand,snapshot_at\nA,wh-test,7,2026-10-02 00:00:00\n"
    )
    old = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (old, old))
    (folder / "movements_growing.csv").write_text("sku,movement,quantity,moved_at\n")  # still being written
    with warehouse.connect(settings) as con:
        landed = wms.ingest_warehouse(con, settings.landing_dir, "wh-test", min_age_seconds=60)
        assert sorted((x.table, x.rows_landed, x.rows_quarantined) for x in landed) == [  # a rejected file counts once
            ("raw.wms__fulfilment_events", 3, 2),
            ("raw.wms__returns_received", 0, 1),
            ("raw.wms__stock_movements", 0, 1),
            ("raw.wms__stock_snapshots", 0, 1),
            ("raw.wms__stock_snapshots", 1, 0),
        ]
        reasons = [r for (r,) in _rows(con, "select reason from ops.quarantine order by reason")]
        assert wms.ingest_warehouse(con, settings.landing_dir, "wh-test", min_age_seconds=60) == []
        assert _rows(con, "select count(*) from raw.wms__fulfilment_events where _store = 'wh-test'")[0][0] == 3
    assert any("line 3: not a JSON object" in r for r in reasons)
    assert any("weight_kg is negative" in r for r in reasons)
    assert any("returns_bad_encoding.csv is not valid utf8" in r for r in reasons)
    assert any("movements_truncated.csv is truncated" in r for r in reasons)
    assert any("lacks required column(s) ['sku', 'on_hand', 'snapshot_at']" in r for r in reasons)
    root = folder.parent
    assert sorted(p.name for p in (root / "rejected").iterdir()) == [
        "movements_truncated.csv",
        "returns_bad_encoding.csv",
        "stock_snapshot_wrong_columns.csv",
    ]
    assert sorted(p.name for p in (root / "archive").iterdir()) == [
        "fulfilment_1.jsonl",
        "fulfilment_1_copy.jsonl",
        "stock_snapshot_ok.csv",
    ]
    assert [p.name for p in folder.iterdir()] == ["movements_growing.csv"]


def test_carrier_file_round_trip_reconciles_every_parcel(settings, demo_world):
    truth = load_truth(settings)
    ingest_wms(settings)
    ingest_source_step(settings, "carrier_files")  # the exchange: shipments file out, labels and statuses in
    with warehouse.connect(settings) as con:
        state = reconcile(con, "correos")
        labels = dict(_rows(con, "select reference, tracking_number from raw.carrier_files__labels"))
        statuses = _rows(con, "select count(*) from raw.carrier_files__status_events")[0][0]
        raw_sent = _rows(con, "select count(*) from ops.carrier_file_parcels")[0][0]
        files_logged = {
            f
            for (f,) in _rows(
                con,
                "select change_key from ops.writeback_attempts where kind = 'carrier_file' and outcome = 'succeeded'",
            )
        }
        files_recorded = {f for (f,) in _rows(con, "select distinct file_name from ops.carrier_file_parcels")}
    correos = truth.shipments.filter((pl.col("carrier") == "correos") & pl.col("packed_at").is_not_null())
    assert state == {
        "parcels_sent": correos.height,
        "sent_without_label": 0,
        "labels_not_sent": 0,
        "statuses_without_label": 0,
    }
    assert labels == dict(correos.select("shipment_id", "tracking_number").iter_rows())
    assert raw_sent == correos.height
    assert files_logged == files_recorded and files_logged  # each file once on the write-back log
    assert statuses == truth.tracking_events.filter(pl.col("carrier") == "correos").height
    sent = sorted((outbox(settings.landing_dir, "correos") / "imported").iterdir())
    header = sent[0].read_text(encoding="utf8").splitlines()[0]
    assert header.split(";")[:4] == ["REFERENCIA", "PEDIDO", "DESTINATARIO", "DIRECCION"]
    with warehouse.connect(settings) as con:  # nothing new packed: no second file, no parcel twice
        assert (
            write_shipments_file(con, settings.landing_dir, "correos", settings.carrier_files["correos"]).parcels == 0
        )


def test_a_crash_around_the_shipments_file_never_sends_a_parcel_twice_or_loses_one(settings, small_world):
    ingest_wms(settings)
    fmt = settings.carrier_files["correos"]
    folder = outbox(settings.landing_dir, "correos")
    folder.mkdir(parents=True)
    (folder / "expediciones_crashed_before_commit.txt.part").write_text("REFERENCIA\nS00000001\n")
    with warehouse.connect(settings) as con:
        first = write_shipments_file(con, settings.landing_dir, "correos", fmt)
        assert not (folder / "expediciones_crashed_before_commit.txt.part").exists()
        # a crash after the commit, before the rename: the file is still .part but its parcels are recorded
        first.path.rename(first.path.with_name(first.path.name + ".part"))
        again = write_shipments_file(con, settings.landing_dir, "correos", fmt)
        assert again.parcels == 0 and first.path.exists()
        sent = _rows(con, "select count(*), count(distinct reference) from ops.carrier_file_parcels")[0]
    lines = first.path.read_text(encoding="utf8").splitlines()[1:]
    assert sent == (first.parcels, first.parcels) == (len(lines), len(lines))
    truth = load_truth(settings)
    world_end_labels = run_label_tool(
        truth.shipments, carrier_files.carrier_dir(settings.landing_dir, "correos"), fmt, truth.end
    )
    assert world_end_labels == first.parcels
