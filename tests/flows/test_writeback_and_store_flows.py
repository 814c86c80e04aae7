"""The write-back flow per kind (and per store), the ingest flow per store, and the failure email."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from afterclick import warehouse
from afterclick.pipeline.figures import TargetFigures
from demo.generate import load_truth
from demo.mailbox import messages, serve_mailbox
from ingest.run import ingest_source


def _rows(settings, sql: str) -> list:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return con.sql(sql).fetchall()


def test_writeback_flow_pushes_one_kind_and_records_the_run(wb, prefect_server):
    from flows.writeback_flow import writeback_flow

    first = writeback_flow(kind="stock", state_dir=str(wb.root)).writeback
    assert first.pushed > 0 and first.failed == first.dead == 0
    assert {t.kind for t in first.targets} == {"stock"}
    pushed_per_target = {t.target: t.pushed for t in first.targets}
    assert set(pushed_per_target) == {"shopify-es", "shopify-mx", "vtex-br", "magento-es", "woo-pt"}
    assert _rows(wb, "select distinct kind from ops.writeback_ledger") == [("stock",)]  # nothing else pushed

    second = writeback_flow(kind="stock", state_dir=str(wb.root)).writeback
    assert second.pushed == 0  # exactly once: the ledger has it all
    recorded = _rows(
        wb,
        "select status, summary->>'$.writeback.pushed' from ops.runs where flow = 'writeback-stock' "
        "order by started_at",
    )
    assert recorded == [("success", str(first.pushed)), ("success", "0")]


def test_writeback_flow_for_one_store_pushes_to_that_store_only(wb, prefect_server):
    from flows.writeback_flow import writeback_flow

    summary = writeback_flow(kind="tracking", store="vtex-br", state_dir=str(wb.root)).writeback
    assert summary.pushed > 0
    assert [t.target for t in summary.targets] == ["vtex-br"]
    # (the build's carrier file exchange is there from before)
    assert _rows(wb, "select distinct kind, store_id from ops.writeback_attempts where kind <> 'carrier_file'") == [
        ("tracking", "vtex-br")
    ]
    assert _rows(wb, "select flow from ops.runs where flow like 'writeback%'") == [("writeback-tracking-vtex-br",)]


def test_carrier_file_flow_sends_each_packed_parcel_once(settings, small_world, prefect_server):
    from flows.writeback_flow import writeback_flow

    ingest_source(settings, "wms")  # packed parcels known, no shipments file written yet
    packed = _rows(
        settings,
        "select count(distinct shipment_id) from raw.wms__fulfilment_events "
        "where stage = 'packed' and carrier = 'correos'",
    )[0][0]
    assert packed > 0
    first = writeback_flow(kind="carrier_file", state_dir=str(settings.root)).writeback
    assert first.targets == [TargetFigures("carrier_file", "correos", pushed=packed, failed=0, dead=0)]
    files = list((settings.landing_dir / "carriers" / "correos" / "outbox").glob("expediciones_*.txt"))
    assert len(files) == 1 and len(files[0].read_text(encoding="utf8").splitlines()) == packed + 1  # + header
    assert writeback_flow(kind="carrier_file", state_dir=str(settings.root)).writeback.pushed == 0


def test_ingest_flow_for_one_store_lands_that_store_only(settings, demo_world, prefect_server):
    from flows.ingest_flow import ingest_flow

    summary = ingest_flow(kind="channels", store="magento-es", state_dir=str(settings.root))
    truth = load_truth(settings).orders.filter(pl.col("store_id") == "magento-es")
    assert summary.ingest.rows_by_table == {  # the store's orders, credit memos and customer accounts
        "raw.magento__orders": demo_world["orders_by_store"]["magento-es"],
        "raw.magento__creditmemos": truth.filter(
            pl.col("refunded_at").is_not_null() & (pl.col("refunded_amount") > 0)
        ).height,
        "raw.magento__customers": truth.filter(~pl.col("is_guest"))["customer_id"].n_unique(),
    }
    assert _rows(settings, "select distinct store from ops.loads") == [("magento-es",)]

    # a backfill re-lands a window idempotently: what is there stays single, what went missing comes back
    with warehouse.connect(settings) as con:
        con.execute(
            "delete from raw.magento__orders where id in (select id from raw.magento__orders order by id limit 7)"
        )
    again = ingest_source(settings, "channels", since=datetime(2000, 1, 1), store="magento-es")
    assert sum(x.rows_landed for x in again) == 7
    assert (
        _rows(settings, "select count(*), count(distinct id) from raw.magento__orders")[0]
        == (demo_world["orders_by_store"]["magento-es"],) * 2
    )
    with pytest.raises(ValueError, match="cannot re-land a window"):
        ingest_source(settings, "erp", since=datetime(2000, 1, 1))


def test_a_failing_flow_mails_the_operator(settings, demo_world, prefect_server, monkeypatch, tmp_path):
    from flows.ingest_flow import ingest_flow

    box = tmp_path / "operator-mail"
    with serve_mailbox(box) as (host, port):
        monkeypatch.setenv("AFTERCLICK_SMTP__HOST", host)
        monkeypatch.setenv("AFTERCLICK_SMTP__PORT", str(port))
        monkeypatch.setenv("AFTERCLICK_NOTIFY_EMAIL", "ops@retailer.invalid")
        with pytest.raises(ValueError, match="no channel store 'shopify-fr'"):
            ingest_flow(kind="channels", store="shopify-fr", state_dir=str(settings.root))
    [mail] = messages(box)
    assert mail["To"] == "ops@retailer.invalid" and mail["Subject"] == "[afterclick] flow ingest failed"
    body = mail.get_payload(decode=True).decode()
    assert "ingest-channels" in body and "no channel store 'shopify-fr'" in body
    assert _rows(settings, "select flow, status from ops.runs") == [("ingest-channels-shopify-fr", "failed")]
