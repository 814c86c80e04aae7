"""The demo world's back office (ERP database, WMS drops, carrier status files, spend) agrees with the truth."""

import json
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from demo.generate import load_truth
from demo.ids import with_order_keys


def _read_many(folder: Path, pattern: str, **kwargs) -> pl.DataFrame:
    files = sorted(folder.glob(pattern))
    assert files, f"no {pattern} in {folder}"
    if pattern.endswith(".jsonl"):
        return pl.concat([pl.read_ndjson(f) for f in files])
    return pl.concat([pl.read_csv(f, infer_schema_length=0, **kwargs) for f in files])


def test_erp_invoices_and_credit_notes_match_the_orders(settings, small_world):
    truth = load_truth(settings)
    engine = sa.create_engine(f"sqlite:///{settings.demo_dir / 'erp.sqlite'}")
    with engine.connect() as db:
        kinds = dict(db.execute(sa.text("select kind, count(*) from invoices group by kind")).all())
        refs = {r[0] for r in db.execute(sa.text("select order_ref from invoices")).all()}
        tables = set(sa.inspect(engine).get_table_names())
        open_pos = db.execute(sa.text("select count(*) from purchase_orders where status = 'open'")).scalar()
    assert tables == {"invoices", "products", "price_lists", "purchase_orders", "customer_credit"}
    assert kinds["invoice"] == truth.orders.filter(pl.col("invoiced_at").is_not_null()).height
    assert (
        kinds["credit_note"]
        == truth.orders.filter(pl.col("refunded_at").is_not_null() & (pl.col("refunded_amount") > 0)).height
    )
    keys = set(with_order_keys(truth.orders, truth.orders)["order_key"])
    assert refs <= keys
    assert open_pos > 0  # some stock is still inbound


def test_wms_confirmations_cover_every_parcel_stage_and_files_are_dated_in_the_past(settings, small_world):
    truth = load_truth(settings)
    wms = settings.landing_dir / "wms"
    events = _read_many(wms, "*/inbox/fulfilment_*.jsonl")
    shipped = events.filter(pl.col("stage") == "shipped")
    assert shipped.height == truth.shipments.filter(pl.col("shipped_at").is_not_null()).height
    assert shipped["tracking_number"].null_count() == 0
    assert events.filter(pl.col("stage") == "picked").height == truth.shipments["picked_at"].drop_nulls().len()
    latest = max(p.stat().st_mtime for p in wms.glob("*/inbox/*"))
    assert latest <= truth.end.timestamp()
    stock = _read_many(wms, "*/inbox/stock_snapshot_*.csv")
    assert stock["on_hand"].cast(pl.Int64).min() >= 0


def test_correos_status_files_carry_every_correos_tracking_event(settings, small_world):
    truth = load_truth(settings)
    status = _read_many(settings.landing_dir / "carriers" / "correos" / "inbox", "estados_*.txt", separator=";")
    assert status.height == truth.tracking_events.filter(pl.col("carrier") == "correos").height
    assert set(status["ESTADO"]) <= {
        "PRE-REGISTRADO",
        "EN TRANSITO",
        "EN REPARTO",
        "AUSENTE",
        "ENTREGADO",
        "INCIDENCIA",
        "DEVUELTO",
        "DISPONIBLE EN OFICINA",
    }


def test_marketing_spend_covers_every_month_with_new_customers(settings, small_world):
    truth = load_truth(settings)
    spend = _read_many(settings.landing_dir / "marketing" / "inbox", "spend_*.csv")
    months_with_new = (
        truth.orders.sort("placed_at")
        .group_by("customer_id")
        .first()["placed_at"]
        .dt.strftime("%Y-%m")
        .unique()
        .sort()
        .to_list()
    )
    assert sorted(set(spend["date"].str.slice(0, 7))) == months_with_new
    assert spend["spend"].cast(pl.Float64).sum() > 0
    assert json.loads((settings.demo_dir / "world.json").read_text())["back_office"]["spend_files"] == len(
        months_with_new
    )
