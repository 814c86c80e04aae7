"""Marketplace exports: each file landed once, bad rows quarantined, bad files rejected."""

import os
import time

import polars as pl

from afterclick import warehouse
from afterclick.channels.export_description import ExportDescription
from demo.generate import load_truth
from ingest.files.marketplace import MarketplaceStore, ingest_marketplace_store
from ingest.run import marketplace_stores


def _land_all(settings):
    con = warehouse.connect(settings)
    try:
        return [x for store in marketplace_stores(settings) for x in ingest_marketplace_store(con, store)]
    finally:
        con.close()


def test_every_export_lands_once_and_matches_the_world(settings, small_world):
    landed = _land_all(settings)
    assert sum(x.rows_quarantined for x in landed) == 0
    truth = load_truth(settings).orders
    with warehouse.connect(settings) as con:
        got = dict(
            con.sql("select _store, count(distinct order_id) from raw.marketplace__order_lines group by 1").fetchall()
        )
        files = con.sql("select count(*) from ops.files").fetchall()[0][0]
    expected = dict(truth.filter(pl.col("channel") == "marketplace").group_by("store_id").len().iter_rows())
    assert got == expected
    assert files == sum(small_world["marketplace_files"].values())
    for store in marketplace_stores(settings):
        assert not any(store.inbox_root.joinpath("inbox").iterdir())
    assert _land_all(settings) == []  # nothing left, nothing landed twice


def test_a_file_dropped_again_is_not_landed_twice(settings, small_world):
    _land_all(settings)
    store = marketplace_stores(settings)[0]
    archived = sorted((store.inbox_root / "archive").iterdir())[0]
    (store.inbox_root / "inbox" / ("copy_" + archived.name)).write_bytes(archived.read_bytes())
    with warehouse.connect(settings) as con:
        before = con.sql("select count(*) from raw.marketplace__order_lines").fetchall()
        assert ingest_marketplace_store(con, store) == []
        assert con.sql("select count(*) from raw.marketplace__order_lines").fetchall() == before


def test_bad_rows_are_quarantined_with_the_reason_and_the_rest_lands(settings):
    store = MarketplaceStore(
        "miravia-es", ExportDescription(preset="miravia_orders"), settings.landing_dir / "marketplace" / "miravia-es"
    )
    inbox = store.inbox_root / "inbox"
    inbox.mkdir(parents=True)
    header = (
        "Número de pedido;Fecha de creación;Fecha de actualización;Estado;SKU del vendedor;Cantidad;Precio unitario\n"
    )
    (inbox / "orders.csv").write_text(
        header
        + "MV1;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-1;2;10,50\n"
        + "MV2;31/02/2026 10:56;03/10/2026 09:00;enviado;SKU-2;1;5\n"
        + "MV3;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-3;-1;5\n"
        # two bad rows of five: below the share that rejects the file whole
        + "MV4;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-4;1;5\n"
        + "MV5;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-5;1;5\n"
    )
    with warehouse.connect(settings) as con:
        [landed] = ingest_marketplace_store(con, store)
        rows = con.sql("select order_id, placed_at, item_price from raw.marketplace__order_lines order by 1").fetchall()
        reasons = dict(con.sql("select record_key, reason from ops.quarantine order by 1").fetchall())
    assert (landed.rows_landed, landed.rows_quarantined) == (3, 2)
    assert rows[0][0] == "MV1" and rows[0][1].day == 2 and rows[0][1].month == 10 and rows[0][2] == 21.0
    assert "placed_at missing or unparsable" in reasons["MV2"]
    assert "quantity must be positive" in reasons["MV3"]


def test_a_file_without_the_required_columns_is_rejected_whole(settings):
    store = MarketplaceStore(
        "amazon-es", ExportDescription(preset="amazon_all_orders"), settings.landing_dir / "marketplace" / "amazon-es"
    )
    (store.inbox_root / "inbox").mkdir(parents=True)
    (store.inbox_root / "inbox" / "broken.txt").write_text("amazon-order-id\tsku\n1\tA\n")
    with warehouse.connect(settings) as con:
        assert ingest_marketplace_store(con, store) == []
        [(reason,)] = con.sql("select reason from ops.quarantine").fetchall()
    assert "lacks required column" in reason and "purchase-date" in reason
    assert (store.inbox_root / "rejected" / "broken.txt").exists()


def test_a_file_still_being_written_waits(settings):
    store = MarketplaceStore(
        "amazon-es", ExportDescription(preset="amazon_all_orders"), settings.landing_dir / "marketplace" / "amazon-es"
    )
    inbox = store.inbox_root / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "growing.txt").write_text("amazon-order-id\tpurchase-date\n")
    (inbox / "upload.txt.part").write_text("partial")
    with warehouse.connect(settings) as con:
        assert ingest_marketplace_store(con, store, min_age_seconds=60) == []
        assert con.sql("select count(*) from ops.quarantine").fetchall() == [(0,)]
    assert (inbox / "growing.txt").exists() and (inbox / "upload.txt.part").exists()
    old = time.time() - 120
    os.utime(inbox / "growing.txt", (old, old))
    with warehouse.connect(settings) as con:
        ingest_marketplace_store(con, store, min_age_seconds=60)  # now settled: read (and rejected: no columns)
    assert (store.inbox_root / "rejected" / "growing.txt").exists()
    assert (inbox / "upload.txt.part").exists()


def test_xlsx_exports_land_the_same_orders_as_their_csvs(settings, small_world):
    """Marketplaces also export XLSX: every export rewritten as a workbook (text cells, as the
    exports hold) lands the same orders."""
    converted = 0
    for store in marketplace_stores(settings):
        mapping = store.export
        for path in sorted((store.inbox_root / "inbox").iterdir()):
            sheet = pl.read_csv(path, separator=mapping.separator, encoding="utf8", infer_schema_length=0)
            sheet.write_excel(path.with_suffix(".xlsx"), autofit=False)
            path.unlink()
            converted += 1
    assert converted == sum(small_world["marketplace_files"].values())
    landed = _land_all(settings)
    assert len(landed) == converted and sum(x.rows_quarantined for x in landed) == 0
    truth = load_truth(settings).orders.filter(pl.col("channel") == "marketplace")
    with warehouse.connect(settings) as con:
        got = dict(
            con.sql("select _store, count(distinct order_id) from raw.marketplace__order_lines group by 1").fetchall()
        )
        placed = con.sql("select min(placed_at), max(placed_at) from raw.marketplace__order_lines").fetchall()[0]
        revenue = dict(
            con.sql("select _store, round(sum(item_price), 2) from raw.marketplace__order_lines group by 1").fetchall()
        )
    assert got == dict(truth.group_by("store_id").len().iter_rows())
    assert placed[0] is not None and placed[1] is not None  # dates parsed from the workbook's text cells
    assert all(v > 0 for v in revenue.values())
