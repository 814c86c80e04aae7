"""The carrier shipments file carries the warehouse's free text safely: one line per parcel and one
column per field whatever a recipient's address holds, and nothing a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from afterclick import warehouse
from ingest.files.wms import RAW_TABLES
from ingest.landing import ensure_raw_table
from writeback.carrier_files import write_shipments_file

TABLE = "raw.wms__fulfilment_events"
PARCELS = [  # shipment_id, recipient, address, city, weight_kg
    ("S1", "Ana García", "Calle Mayor 1, 2ºB", "Madrid", 1.25),
    ("S2", "@SUM(1+1)", '=HYPERLINK("https://evil.example/pay";"Pague aquí")', "Madrid;\r\nINYECTADO;fila", 2.5),
    ("S3", "-Luis\t", "+34 Calle\nSegunda línea", "\tSevilla", 0.75),
]


def test_free_text_cannot_break_the_lines_or_columns_nor_run_as_a_formula(settings):
    fmt = settings.carrier_files["correos"]
    with warehouse.connect(settings) as con:
        ensure_raw_table(con, TABLE, RAW_TABLES[TABLE])
        for shipment, recipient, address, city, weight in PARCELS:
            con.execute(
                f"insert into {TABLE} (order_key, shipment_id, parcel_no, parcel_count, stage, occurred_at, "
                "carrier, service, weight_kg, ship_to_name, ship_to_address, ship_to_postcode, ship_to_city, "
                "ship_to_country) values (?, ?, 1, 1, 'packed', ?, 'correos', 'S0132', ?, ?, ?, '28013', ?, 'ES')",
                [f"o-{shipment}", shipment, datetime(2026, 10, 30, 12), weight, recipient, address, city],
            )
        written = write_shipments_file(con, settings.landing_dir, "correos", fmt)
    assert written.parcels == len(PARCELS)

    text = written.path.read_text(encoding=fmt.encoding)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines[:-1]) == 1 + len(PARCELS) and "\r" not in text  # a line per parcel
    columns = list(fmt.shipments_columns.values())
    assert all(len(line.split(fmt.separator)) == len(columns) for line in lines[:-1])  # even read naively
    rows = {r["REFERENCIA"]: r for r in csv.DictReader(io.StringIO(text), delimiter=fmt.separator)}
    assert list(rows) == ["S1", "S2", "S3"]

    assert rows["S1"]["DESTINATARIO"] == "Ana García" and rows["S1"]["DIRECCION"] == "Calle Mayor 1, 2ºB"
    # what a spreadsheet would run starts with a quote; line breaks and separators became spaces
    assert rows["S2"]["DESTINATARIO"] == "'@SUM(1+1)"
    assert rows["S2"]["DIRECCION"] == '\'=HYPERLINK("https://evil.example/pay" "Pague aquí")'
    assert rows["S2"]["POBLACION"] == "Madrid  INYECTADO fila"
    assert rows["S3"]["DESTINATARIO"] == "'-Luis\t" and rows["S3"]["DIRECCION"] == "'+34 Calle Segunda línea"
    assert rows["S3"]["POBLACION"] == "'\tSevilla"
    for row in rows.values():
        assert not any(v[:1] in ("=", "+", "-", "@", "\t") for v in row.values())
    # numbers are not text: the weights are written as they are
    assert [rows[s]["PESO"] for s in ("S1", "S2", "S3")] == ["1.25", "2.5", "0.75"]
    assert [rows[s]["BULTOS"] for s in ("S1", "S2", "S3")] == ["1", "1", "1"]
