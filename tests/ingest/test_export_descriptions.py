"""Export descriptions (marketplaces.<store>.export): each feature lands what the file says, an
invalid description fails at settings load saying what to fix, and the marketplace staging models
read what landed (refunds, quantity 0, the cancel time)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from afterclick import warehouse
from afterclick.channels.export_description import ExportDescription
from afterclick.errors import SettingsError
from afterclick.settings import load_settings
from afterclick.transform import run_dbt
from ingest.files.marketplace import MarketplaceStore, ingest_marketplace_store
from ingest.run import ensure_raw_tables

LINES = {"order_id": "id", "placed_at": "created", "status": "state", "sku": "sku", "item_price": "price"}


def _land(settings, desc: ExportDescription, files: dict[str, bytes], store: str = "shop-x") -> list[dict]:
    root = settings.landing_dir / "marketplace" / store
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / "inbox" / name).write_bytes(data)
    with warehouse.connect(settings) as con:
        ingest_marketplace_store(con, MarketplaceStore(store, desc, root))
        cur = con.execute("select * from raw.marketplace__order_lines order by order_id, source_row")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _quarantine(settings) -> list[str]:
    with warehouse.connect(settings) as con:
        return [r[0] for r in con.execute("select reason from ops.quarantine").fetchall()]


def test_order_fields_on_the_first_row_only_are_inherited(settings):
    desc = ExportDescription(columns=LINES, currency="EUR", order_fields_on_first_row_only=True)
    rows = _land(
        settings,
        desc,
        {
            "lines.csv": b"id,created,state,sku,price\n"
            b"A1,2024-05-01 10:00:00,paid,S1,10.00\n"
            b",,,S2,5.00\n"
            b",,,S3,1.50\n"
            b"A2,2024-05-02 11:00:00,canceled,S1,7.00\n"
            b",,,S4,3.00\n"
        },
    )
    assert [(r["order_id"], r["sku"], r["status"], r["placed_at"]) for r in rows] == [
        ("A1", "S1", "paid", datetime(2024, 5, 1, 10)),
        ("A1", "S2", "paid", datetime(2024, 5, 1, 10)),
        ("A1", "S3", "paid", datetime(2024, 5, 1, 10)),
        ("A2", "S1", "canceled", datetime(2024, 5, 2, 11)),
        ("A2", "S4", "canceled", datetime(2024, 5, 2, 11)),
    ]
    assert [r["status_group"] for r in rows] == ["open"] * 3 + ["canceled"] * 2
    assert _quarantine(settings) == []


def test_decimal_comma_latin1_fixed_currency_and_quantity_default(settings):
    desc = ExportDescription(
        columns={**LINES, "product_name": "produto"},
        separator=";",
        decimal=",",
        encoding="latin-1",
        currency="BRL",
        date_formats=["%d/%m/%Y %H:%M"],
    )
    text = "id;created;state;sku;price;produto\nB1;02/10/2024 09:05;pago;S1;1.234,50;Café pão\nB2;03/10/2024 10:00;pago;S2;7,5;Açaí\n"
    rows = _land(settings, desc, {"pedidos.csv": text.encode("latin-1")})
    assert [(r["item_price"], r["product_name"], r["currency"], r["quantity"]) for r in rows] == [
        (1234.50, "Café pão", "BRL", 1),
        (7.5, "Açaí", "BRL", 1),
    ]
    assert rows[0]["placed_at"] == datetime(2024, 10, 2, 9, 5)  # day-first as described


def test_a_file_not_in_the_described_encoding_is_rejected_whole(settings):
    desc = ExportDescription(columns=LINES, currency="EUR")  # utf-8
    rows = _land(
        settings, desc, {"x.csv": "id,created,state,sku,price\nC1,2024-05-01 10:00:00,paid,Café,1\n".encode("latin-1")}
    )
    assert rows == []
    [reason] = _quarantine(settings)
    assert "not valid utf-8 text" in reason and "encoding" in reason
    assert (settings.landing_dir / "marketplace" / "shop-x" / "rejected" / "x.csv").exists()


def test_naive_times_in_the_export_zone_with_the_daylight_saving_policy(settings):
    """Madrid: 2024-03-31 02:30 does not exist (02:00 -> 03:00): moved forward by the gap, it is
    03:30 CEST = 01:30 UTC; 2024-10-27 02:30 happens twice: the first (CEST) = 00:30 UTC."""
    desc = ExportDescription(columns=LINES, currency="EUR", timezone="Europe/Madrid")
    rows = _land(
        settings,
        desc,
        {
            "dst.csv": b"id,created,state,sku,price\n"
            b"D1,2024-03-31 02:30:00,paid,S1,1\n"
            b"D2,2024-10-27 02:30:00,paid,S1,1\n"
            b"D3,2024-07-01 12:00:00,paid,S1,1\n"
        },
    )
    assert [r["placed_at"] for r in rows] == [
        datetime(2024, 3, 31, 1, 30),
        datetime(2024, 10, 27, 0, 30),
        datetime(2024, 7, 1, 10, 0),
    ]


def test_an_order_without_items_lands_and_orphan_items_are_quarantined(settings):
    desc = ExportDescription(
        orders={"pattern": "orders*", "columns": {"order_id": "id", "placed_at": "at", "status": "st"}},
        items={"pattern": "items*", "columns": {"order_id": "id", "sku": "sku", "item_price": "price"}},
        currency="EUR",
    )
    files = {
        "orders.csv": b"id,at,st\nO1,2024-05-01 10:00:00,paid\nO2,2024-05-01 11:00:00,paid\n,,\n,,\n",
        "items.csv": b"id,sku,price\nO1,S1,3.00\nO1,S2,4.00\nO9,S1,1.00\nO1,S3,1.00\n,,\n",
    }
    rows = _land(settings, desc, files)
    assert sorted((r["order_id"], r["sku"], r["quantity"]) for r in rows if r["sku"]) == [
        ("O1", "S1", 1),
        ("O1", "S2", 1),
        ("O1", "S3", 1),
    ]
    assert [(r["order_id"], r["sku"], r["item_price"]) for r in rows if r["order_id"] == "O2"] == [("O2", None, None)]
    [reason] = _quarantine(settings)
    assert "items.csv row 4" in reason and "O9" in reason


def test_one_kind_of_file_waits_for_the_other(settings):
    desc = ExportDescription(
        orders={"pattern": "orders*", "columns": {"order_id": "id", "placed_at": "at", "status": "st"}},
        items={"pattern": "items*", "columns": {"order_id": "id", "sku": "sku", "item_price": "price"}},
        currency="EUR",
    )
    rows = _land(settings, desc, {"orders.csv": b"id,at,st\nO1,2024-05-01 10:00:00,paid\n"})
    assert rows == [] and _quarantine(settings) == []
    assert (settings.landing_dir / "marketplace" / "shop-x" / "inbox" / "orders.csv").exists()


def _settings_error(tmp_path: Path, monkeypatch, export: str) -> str:
    (tmp_path / "afterclick.toml").write_text(f"[marketplaces.shop-x]\nexport = {{ {export} }}\n")
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "afterclick.toml"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


@pytest.mark.parametrize(
    ("export", "says"),
    [
        ('preset = "amazon_orders"', ["unknown preset 'amazon_orders'", "amazon_all_orders", "miravia_orders"]),
        (
            'columns = { order_id = "id", placed_at = "at", status = "st", sku = "sku" }, currency = "EUR"',
            ["item_price", "required"],
        ),
        ('preset = "amazon_all_orders", date_formats = ["%H:%M"]', ["date format '%H:%M'", "full date"]),
        ('preset = "amazon_all_orders", encoding = "latin-9x"', ["unknown encoding 'latin-9x'"]),
        ('preset = "amazon_all_orders", timezone = "America/Sao_Paolo"', ["unknown time zone 'America/Sao_Paolo'"]),
        ('preset = "amazon_all_orders", columns = { sku_code = "sku" }', ["unknown field(s) ['sku_code']"]),
        ('columns = { order_id = "id", placed_at = "at", status = "st", sku = "sku", item_price = "p" }', ["currency"]),
        (
            'orders = { pattern = "o*", columns = { order_id = "id", placed_at = "at", status = "st" } }, currency = "EUR"',
            ["both `orders` and `items`"],
        ),
    ],
)
def test_an_invalid_description_fails_at_settings_load(tmp_path, monkeypatch, export, says):
    message = _settings_error(tmp_path, monkeypatch, export)
    assert "marketplaces" in message and "shop-x" in message
    for part in says:
        assert part in message


def test_a_preset_with_overrides(tmp_path, monkeypatch):
    (tmp_path / "afterclick.toml").write_text(
        '[marketplaces.amazon-mx.export]\npreset = "amazon_all_orders"\ntimezone = "America/Mexico_City"\n'
        'columns = { buyer_email = "email" }\n'
    )
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "afterclick.toml"))
    export = load_settings().marketplaces["amazon-mx"].export
    assert export.timezone == "America/Mexico_City" and export.separator == "\t"
    assert export.columns["buyer_email"] == "email" and export.columns["order_id"] == "amazon-order-id"


def test_the_former_mapping_key_names_what_replaced_it(tmp_path, monkeypatch):
    (tmp_path / "afterclick.toml").write_text('[marketplaces.amazon-es]\nmapping = "amazon_all_orders"\n')
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "afterclick.toml"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "'marketplaces.amazon-es.mapping' (replaced by 'marketplaces.<id>.export" in str(caught.value)
    assert 'preset = "amazon_all_orders"' in str(caught.value)


def _raw_line(order_id: str, updated: str, status: str, quantity: int, price: float, row: int, file: str) -> dict:
    return {
        "source_row": row,
        "order_id": order_id,
        "placed_at": datetime(2026, 3, 1, 9),
        "updated_at": datetime.fromisoformat(updated),
        "status": status,
        "sku": "SKU-1",
        "quantity": quantity,
        "currency": "EUR",
        "item_price": price,
        "source_file": file,
        "_store": "amazon-es",
        "_loaded_at": datetime.fromisoformat(updated),
        "_batch_id": "b",
        "_source": "marketplace",
    }


def test_marketplace_staging_refunds_quantity_zero_and_cancel_time(settings):
    """Refunds from the ERP's credit notes (were always 0), a line of quantity 0 (the division
    failed the build), the cancel time of the first export that showed it canceled (moved with
    every later export)."""
    settings.ensure_dirs()
    ensure_raw_tables(settings)
    lines = [
        _raw_line("R1", "2026-03-02T10:00:00", "Shipped", 1, 60.0, 2, "w1.txt"),
        _raw_line("Z1", "2026-03-02T10:00:00", "Shipped", 0, 12.0, 3, "w1.txt"),
        _raw_line("C1", "2026-03-02T10:00:00", "Canceled", 1, 9.0, 4, "w1.txt"),
        _raw_line("C1", "2026-03-05T08:00:00", "Canceled", 1, 9.0, 2, "w2.txt"),
        # an export with refund and cancel date columns: they win over the ERP and the first sighting
        {**_raw_line("E1", "2026-03-06T08:00:00", "Canceled", 1, 30.0, 5, "w2.txt"), "refunded_amount": 5.0}
        | {"canceled_at": datetime(2026, 3, 1, 12)},
    ]
    with warehouse.connect(settings) as con:
        for line in lines:
            names = ", ".join(f'"{k}"' for k in line)
            con.execute(
                f"insert into raw.marketplace__order_lines ({names}) values ({', '.join('?' for _ in line)})",
                list(line.values()),
            )
        con.execute(
            "insert into raw.erp__invoices (invoice_id, invoice_number, order_ref, store_id, kind, issued_at, net, "
            "tax, total, currency, updated_at, _loaded_at) values "
            "('CN-1', 'CN-1', 'amazon-es:R1', 'amazon-es', 'credit_note', '2026-03-04 10:00:00', -20.66, -4.34, -25.0,"
            " 'EUR', '2026-03-04 10:00:00', now()::timestamp), "
            "('CN-2', 'CN-2', 'amazon-es:E1', 'amazon-es', 'credit_note', '2026-03-04 10:00:00', -8.26, -1.74, -10.0,"
            " 'EUR', '2026-03-04 10:00:00', now()::timestamp)"
        )
    result = run_dbt(settings, "run", select="stg_erp__invoices stg_marketplace__order_lines stg_marketplace__orders")
    assert result.status == "success", result.errors
    with warehouse.connect(settings) as con:
        orders = {
            key: (refunded, canceled_at)
            for key, refunded, canceled_at in con.execute(
                "select order_key, refunded_amount, canceled_at from staging.stg_marketplace__orders"
            ).fetchall()
        }
        unit = con.execute(
            "select unit_price, gross_amount from staging.stg_marketplace__order_lines where order_key = 'amazon-es:Z1'"
        ).fetchall()
    assert float(orders["amazon-es:R1"][0]) == 25.0
    assert unit == [(None, pytest.approx(12))]
    assert orders["amazon-es:C1"][1] == datetime(2026, 3, 2, 10)
    assert (float(orders["amazon-es:E1"][0]), orders["amazon-es:E1"][1]) == (5.0, datetime(2026, 3, 1, 12))


def test_the_docs_list_every_preset_with_its_columns():
    from afterclick.channels.export_presets import PRESETS

    page = (Path(__file__).resolve().parents[2] / "docs" / "sources" / "bring-your-own-export.md").read_text()
    presets = page[page.index("## Presets") :]
    for name, preset in PRESETS.items():
        row = next((line for line in presets.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"preset {name} is not in the docs' presets table"
        for field, column in preset["columns"].items():
            assert f"{field} `{column}`" in row, f"{name}: {field} -> {column}"
