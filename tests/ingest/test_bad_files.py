"""A bad file never blocks its source: it lands correctly or is rejected whole with its real cause,
and the rest of the inbox and the other warehouses (carriers, marketplaces, spend) land in the
same run. Blank lines are skipped; a truncated export is named; a file mostly bad is rejected with
one summary row; quarantined rows go in with one statement."""

from __future__ import annotations

import pytest

from afterclick import warehouse
from ingest.run import ingest_carrier_files, ingest_marketplaces, ingest_spend, ingest_wms

SNAPSHOT_HEADER = "sku,warehouse_id,on_hand,snapshot_at"


def _rows(settings, sql: str) -> list[tuple]:
    with warehouse.connect(settings) as con:
        return con.sql(sql).fetchall()


def _folder(settings, *parts: str):
    folder = settings.landing_dir.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _two_warehouses(settings) -> None:
    """Good files in two warehouses: a snapshot beside the bad file's kind (same group) and a movement."""
    settings.warehouses = ["wh-a", "wh-b"]
    for wh in settings.warehouses:
        inbox = _folder(settings, "wms", wh, "inbox")
        (inbox / "stock_snapshot_b_good.csv").write_text(f"{SNAPSHOT_HEADER}\nGOOD-{wh},{wh},7,2026-10-02 00:00:00\n")
        (inbox / "movements_good.csv").write_text(
            f"sku,warehouse_id,movement,quantity,reference,moved_at\nGOOD-{wh},{wh},receipt,5,PO-{wh},2026-10-02 10:00:00\n"
        )


# the shapes that crashed the wms source, each as the file's text and the reason it is rejected for
# (None: the file is harmless and lands)
BAD_SHAPES = {
    "trailing_delimiter": (
        "sku,warehouse_id,on_hand,snapshot_at,\nBAD-1,wh-a,3,2026-10-02 00:00:00,\nBAD-2,wh-a,4,2026-10-02 00:00:00,\n",
        None,
    ),
    "trailing_delimiter_semicolons_and_blank_end": (
        "sku,warehouse_id,on_hand,snapshot_at,\nBAD-1,wh-a,3,2026-10-02 00:00:00,\n,,,,\n",
        None,
    ),
    "column_twice": (
        "sku,Warehouse_ID,on_hand,snapshot_at,warehouse_id\nBAD-1,wh-a,3,2026-10-02 00:00:00,wh-a\n",
        "column 'warehouse_id' appears twice (as 'Warehouse_ID' and 'warehouse_id')",
    ),
    "column_twice_same_spelling": (
        "sku,on_hand,on_hand,snapshot_at\nBAD-1,3,4,2026-10-02 00:00:00\n",
        "column 'on_hand' appears twice (as 'on_hand' and 'on_hand')",
    ),
    "bookkeeping_source_row": (
        f"{SNAPSHOT_HEADER},source_row\nBAD-1,wh-a,3,2026-10-02 00:00:00,77\n",
        "column 'source_row' has a name the loader uses for its own bookkeeping",
    ),
    "bookkeeping_source_file": (
        f"{SNAPSHOT_HEADER},Source_File\nBAD-1,wh-a,3,2026-10-02 00:00:00,x.csv\n",
        "column 'Source_File' has a name the loader uses for its own bookkeeping",
    ),
    "bookkeeping_load_metadata": (
        f"{SNAPSHOT_HEADER},_loaded_at\nBAD-1,wh-a,3,2026-10-02 00:00:00,2026-10-02\n",
        "column '_loaded_at' has a name the loader uses for its own bookkeeping",
    ),
    "bookkeeping_typed_prefix": (
        f"{SNAPSHOT_HEADER},__typed__ sku\nBAD-1,wh-a,3,2026-10-02 00:00:00,x\n",
        "column '__typed__ sku' has a name the loader uses for its own bookkeeping",
    ),
    "empty_name_with_values": (
        "sku,,on_hand,snapshot_at\nBAD-1,wh-a,3,2026-10-02 00:00:00\n",
        "column 2 has no name but holds values",
    ),
    "name_only_in_case": (  # a canonical column spelled in capitals is that column (lands)
        "SKU,Warehouse_ID,On_Hand,Snapshot_At\nBAD-1,wh-a,3,2026-10-02 00:00:00\n",
        None,
    ),
    "json_key_twice": (
        '{"sku":"BAD-1","Warehouse_ID":"wh-a","warehouse_id":"wh-a","on_hand":3,"snapshot_at":"2026-10-02 00:00:00"}\n',
        "column 'warehouse_id' appears twice (as 'Warehouse_ID' and 'warehouse_id')",
    ),
    "json_key_source_row": (
        '{"sku":"BAD-1","on_hand":3,"snapshot_at":"2026-10-02 00:00:00","source_row":9}\n',
        "column 'source_row' has a name the loader uses for its own bookkeeping",
    ),
}


@pytest.mark.parametrize("shape", BAD_SHAPES)
def test_a_bad_wms_file_is_landed_or_rejected_and_the_rest_lands(settings, shape):
    text, reason = BAD_SHAPES[shape]
    _two_warehouses(settings)
    name = "stock_snapshot_a_bad" + (".jsonl" if shape.startswith("json") else ".csv")
    root = settings.landing_dir / "wms" / "wh-a"
    (root / "inbox" / name).write_text(text)

    ingest_wms(settings)  # raised before

    snapshots = {r[0] for r in _rows(settings, "select sku from raw.wms__stock_snapshots")}
    movements = {r[0] for r in _rows(settings, "select sku from raw.wms__stock_movements")}
    assert {"GOOD-wh-a", "GOOD-wh-b"} <= snapshots and movements == {"GOOD-wh-a", "GOOD-wh-b"}
    quarantine = _rows(settings, "select record_key, reason from ops.quarantine")
    if reason is None:
        assert quarantine == []
        assert {"BAD-1"} <= snapshots
        assert (root / "archive" / name).exists()
        columns = [
            c
            for (c,) in _rows(
                settings, "select column_name from duckdb_columns() where table_name = 'wms__stock_snapshots'"
            )
        ]
        assert "" not in columns and "Warehouse_ID" not in columns  # no empty-named or doubled column
    else:
        assert "BAD-1" not in snapshots
        assert [p.name for p in (root / "rejected").iterdir()] == [name]
        assert len(quarantine) == 1 and reason in quarantine[0][1] and name in quarantine[0][1], quarantine
        assert "transaction" not in quarantine[0][1].lower()
    assert not any((root / "inbox").iterdir()) and not any((settings.landing_dir / "wms/wh-b/inbox").iterdir())

    assert ingest_wms(settings) == []  # a second run neither fails nor reads it again
    assert len(_rows(settings, "select * from ops.quarantine")) == len(quarantine)


def test_an_extra_column_spelled_in_other_capitals_than_the_raw_tables_lands_in_it(settings):
    """A later file spelling an extra column ``LOT`` lands in the ``lot`` column an earlier file added."""
    settings.warehouses = ["wh-a"]
    inbox = _folder(settings, "wms", "wh-a", "inbox")
    head = "sku,warehouse_id,movement,quantity,reference,moved_at"
    (inbox / "movements_1.csv").write_text(f"{head},lot\nA,wh-a,receipt,5,PO-1,2026-10-02 10:00:00,L-1\n")
    (inbox / "movements_2.csv").write_text(f"{head},LOT\nA,wh-a,receipt,5,PO-2,2026-10-03 10:00:00,L-2\n")
    ingest_wms(settings)
    assert _rows(settings, "select reference, lot from raw.wms__stock_movements order by 1") == [
        ("PO-1", "L-1"),
        ("PO-2", "L-2"),
    ]
    assert _rows(settings, "select count(*) from ops.quarantine") == [(0,)]


def test_a_file_that_fails_to_land_is_rejected_alone_and_its_group_lands(settings):
    """Whatever stops a file from landing (here a value its raw column cannot hold: an extra
    column someone made a number in the warehouse), its group lands file by file and the failing
    file is rejected with the cause."""
    settings.warehouses = ["wh-a"]
    ingest_wms(settings)  # creates the tables
    with warehouse.connect(settings) as con:
        con.execute("alter table raw.wms__stock_movements add column lot_number integer")
    inbox = _folder(settings, "wms", "wh-a", "inbox")
    head = "sku,warehouse_id,movement,quantity,reference,moved_at"
    (inbox / "movements_1.csv").write_text(f"{head}\nA,wh-a,receipt,5,PO-1,2026-10-02 10:00:00\n")
    (inbox / "movements_2.csv").write_text(f"{head},lot_number\nA,wh-a,receipt,5,PO-2,2026-10-03 10:00:00,L-2\n")
    (inbox / "movements_3.csv").write_text(f"{head}\nA,wh-a,receipt,5,PO-3,2026-10-04 10:00:00\n")
    root = inbox.parent
    ingest_wms(settings)
    assert [r for (r,) in _rows(settings, "select reference from raw.wms__stock_movements order by 1")] == [
        "PO-1",
        "PO-3",
    ]
    assert [p.name for p in (root / "rejected").iterdir()] == ["movements_2.csv"]
    [(reason,)] = _rows(settings, "select reason from ops.quarantine")
    assert reason.startswith("movements_2.csv could not be landed:") and "L-2" in reason
    assert ingest_wms(settings) == []


# ---- the other tabular file sources ------------------------------------------------------------

STATUS_HEADER = "CODIGO_ENVIO;REFERENCIA;FECHA;ESTADO;INCIDENCIA;OFICINA"
STATUS_ROW = "PQ1;S1;02/10/2026 10:00;ENTREGADO;;MADRID"


@pytest.mark.parametrize(
    "header,row,reason",
    [
        (STATUS_HEADER + ";", STATUS_ROW + ";", None),
        (
            STATUS_HEADER + ";codigo_envio",
            STATUS_ROW + ";PQ1",
            "column 'CODIGO_ENVIO' appears twice (as 'CODIGO_ENVIO' and 'codigo_envio')",
        ),
        (STATUS_HEADER + ";source_row", STATUS_ROW + ";1", "column 'source_row' has a name the loader uses"),
        (STATUS_HEADER.replace("OFICINA", ""), STATUS_ROW, "column 6 has no name but holds values"),
    ],
)
def test_a_bad_carrier_file_is_landed_or_rejected_and_the_rest_lands(settings, header, row, reason):
    inbox = _folder(settings, "carriers", "correos", "inbox")
    (inbox / "estados_1_bad.txt").write_text(f"{header}\n{row}\n")
    (inbox / "estados_2_good.txt").write_text(f"{STATUS_HEADER}\nPQ2;S2;02/10/2026 11:00;ENTREGADO;;BCN\n")
    (inbox / "etiquetas_1.txt").write_text("REFERENCIA;CODIGO_ENVIO;FECHA\nS2;PQ2;01/10/2026 09:00\n")
    ingest_carrier_files(settings)
    numbers = {n for (n,) in _rows(settings, "select tracking_number from raw.carrier_files__status_events")}
    assert "PQ2" in numbers and _rows(settings, "select reference from raw.carrier_files__labels") == [("S2",)]
    quarantine = [r for (r,) in _rows(settings, "select reason from ops.quarantine")]
    root = inbox.parent
    if reason is None:
        assert numbers == {"PQ1", "PQ2"} and quarantine == []
    else:
        assert numbers == {"PQ2"} and [p.name for p in (root / "rejected").iterdir()] == ["estados_1_bad.txt"]
        assert len(quarantine) == 1 and reason in quarantine[0]
    assert not any(inbox.iterdir())
    assert ingest_carrier_files(settings) == []


MIRAVIA_HEADER = (
    "Número de pedido;Fecha de creación;Fecha de actualización;Estado;SKU del vendedor;Cantidad;Precio unitario"
)


def _miravia(settings, name: str, text: str):
    inbox = _folder(settings, "marketplace", "miravia-es", "inbox")
    (inbox / name).write_text(text)
    return inbox.parent


@pytest.mark.parametrize(
    "header,row,reason",
    [
        (MIRAVIA_HEADER + ";", "MV1;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-1;2;10,50;", None),
        (
            MIRAVIA_HEADER + ";cantidad",
            "MV1;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-1;2;10,50;3",
            "column 'Cantidad' appears twice (as 'Cantidad' and 'cantidad')",
        ),
        (
            MIRAVIA_HEADER + ";source_row",
            "MV1;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-1;2;10,50;7",
            "column 'source_row' has a name the loader uses",
        ),
    ],
)
def test_a_bad_marketplace_export_is_landed_or_rejected_and_the_rest_lands(settings, header, row, reason):
    root = _miravia(settings, "a_bad.csv", f"{header}\n{row}\n")
    _miravia(settings, "b_good.csv", f"{MIRAVIA_HEADER}\nMV2;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-2;1;5\n")
    ingest_marketplaces(settings)
    orders = {o for (o,) in _rows(settings, "select order_id from raw.marketplace__order_lines")}
    quarantine = [r for (r,) in _rows(settings, "select reason from ops.quarantine")]
    if reason is None:
        assert orders == {"MV1", "MV2"} and quarantine == []
    else:
        assert orders == {"MV2"} and [p.name for p in (root / "rejected").iterdir()] == ["a_bad.csv"]
        assert len(quarantine) == 1 and reason in quarantine[0]
    assert ingest_marketplaces(settings) == []


SPEND_HEADER = "date,store_id,campaign,spend,currency"


@pytest.mark.parametrize(
    "header,row,reason",
    [
        (SPEND_HEADER + ",", "2026-10-01,shopify-es,brand,10.5,EUR,", None),
        (SPEND_HEADER + ",Spend", "2026-10-01,shopify-es,brand,10.5,EUR,11", "column 'spend' appears twice"),
        (
            SPEND_HEADER + ",_store",
            "2026-10-01,shopify-es,brand,10.5,EUR,x",
            "column '_store' has a name the loader uses",
        ),
    ],
)
def test_a_bad_spend_file_is_landed_or_rejected_and_the_rest_lands(settings, header, row, reason):
    inbox = _folder(settings, "marketing", "inbox")
    (inbox / "spend_1_bad.csv").write_text(f"{header}\n{row}\n")
    (inbox / "spend_2_good.csv").write_text(f"{SPEND_HEADER}\n2026-10-02,shopify-es,brand,3.0,EUR\n")
    ingest_spend(settings)
    days = {str(d) for (d,) in _rows(settings, "select date from raw.marketing__spend")}
    quarantine = [r for (r,) in _rows(settings, "select reason from ops.quarantine")]
    if reason is None:
        assert days == {"2026-10-01", "2026-10-02"} and quarantine == []
    else:
        assert days == {"2026-10-02"} and [p.name for p in (inbox.parent / "rejected").iterdir()] == ["spend_1_bad.csv"]
        assert len(quarantine) == 1 and reason in quarantine[0]
    assert ingest_spend(settings) == []
