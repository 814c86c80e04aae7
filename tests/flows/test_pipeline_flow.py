"""The pipeline flow runs end to end under a real Prefect server and leaves the marts published."""

import json

import polars as pl

from afterclick import warehouse
from afterclick.channels.registry import CHANNELS
from demo import catalog as cat
from demo.emulators.shown import order_status, saved_state, takes_parcels, tracking_numbers
from demo.generate import load_truth
from tests.conftest import WORLD_END, outside_world_env, refresh


def test_pipeline_flow_publishes_the_generated_orders_and_a_second_run_lands_only_news(
    settings, small_world, prefect_server, monkeypatch
):
    from flows.pipeline import pipeline_flow

    # as of the world's end, so its last two weeks of orders are news to push (status, tracking)
    monkeypatch.setenv("AFTERCLICK_AS_OF", WORLD_END.isoformat())

    # the demo's outside world served for the run, as `afterclick demo` does (its stores keep what they
    # were told in <demo>/channels when it stops)
    with outside_world_env(refresh(settings), monkeypatch):
        summary = pipeline_flow(state_dir=str(settings.root))

    truth = load_truth(settings).orders  # every channel: four APIs through their emulators, two marketplaces' files
    with warehouse.read_serving(settings) as con:
        total = con.sql("select count(*) from fct_orders").fetchall()[0][0]
        by_store = dict(con.sql("select store_id, count(*) from fct_orders group by 1").fetchall())
        revenue = dict(con.sql("select store_id, round(sum(total_amount), 2) from fct_orders group by 1").fetchall())
    assert total == small_world["orders"] == truth.height
    assert by_store == dict(truth.group_by("store_id").len().iter_rows())
    expected_revenue = dict(truth.group_by("store_id").agg(pl.col("total").sum().round(2)).iter_rows())
    # money is exact (DECIMAL): the marts' sums equal the truth's to the cent
    assert all(abs(float(revenue[s]) - expected_revenue[s]) < 0.005 for s in expected_revenue)
    assert summary.transform.tests_failed == 0 and summary.ingest.errors == {}
    assert summary.ingest.rows_landed > 0
    # the back office landed too, and the timeline sees every system for every channel
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        empty = [
            t
            for (t,) in con.sql(
                "select table_schema || '.' || table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
            if con.sql(f"select count(*) from {t}").fetchall()[0][0] == 0
        ]
        systems = dict(
            con.sql(
                "select o.channel, count(distinct e.source_system) from marts.fct_order_events e "
                "join marts.fct_orders o using (order_key) group by 1"
            ).fetchall()
        )
    # the channels' inventory and Magento's shipments were read before this first run pushed any stock
    # or tracking to them: nothing to read yet
    assert empty == ["raw.channels__inventory_levels", "raw.magento__shipments"]
    assert systems == {c: 4 for c in ("shopify", "vtex", "magento", "woocommerce", "marketplace")}
    # the run record lands in ops.runs (published with the next snapshot; in the warehouse now)
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        flow, status, recorded = con.sql("select flow, status, summary from ops.runs").fetchall()[0]
    assert (flow, status) == ("pipeline", "success")
    assert json.loads(recorded)["publish"]["version"] == summary.publish.version
    # what the channels record beside orders reached the marts as the world has it: a refund per
    # refunded order (the whole amount; VTEX gives a paid order's payment back when it is canceled,
    # not when the money settles), a sale per paid order, an account per registered customer
    api = truth.filter(pl.col("channel") != "marketplace")
    vtex_canceled_paid = (
        (pl.col("channel") == "vtex") & pl.col("canceled_at").is_not_null() & pl.col("paid_at").is_not_null()
    )
    refunded = api.with_columns(
        refunded_amount=pl.when(vtex_canceled_paid).then(pl.col("total")).otherwise(pl.col("refunded_amount")),
        refund_day=pl.when(vtex_canceled_paid).then(pl.col("canceled_at")).otherwise(pl.col("refunded_at")).dt.date(),
    ).filter((pl.col("refunded_at").is_not_null() | vtex_canceled_paid) & (pl.col("refunded_amount") > 0))
    # a refund converts to EUR at the rate of its own day (dated rates), not at its order's
    refunded = refunded.with_columns(
        refund_fx_to_eur=pl.Series(
            cat.fx_to_eur(refunded["currency"].to_numpy(), refunded["refund_day"].cast(pl.Int32).to_numpy())
        )
    )
    with warehouse.read_serving(settings) as con:
        refunds = {
            c: (n, t)
            for c, n, t in con.sql(
                "select channel, count(*), round(sum(amount_rc), 2) from fct_refunds group by 1"
            ).fetchall()
        }
        sales = dict(con.sql("select channel, count(*) from fct_payments where kind = 'sale' group by 1").fetchall())
        accounts = dict(con.sql("select store_id, count(*) from dim_channel_accounts group by 1").fetchall())
    expected_refunds = refunded.group_by("channel").agg(
        pl.len(), (pl.col("refunded_amount") * pl.col("refund_fx_to_eur")).sum()
    )
    assert {c: n for c, (n, _) in refunds.items()} == {c: n for c, n, _ in expected_refunds.iter_rows()}
    assert all(abs(float(refunds[c][1]) - eur) < 0.01 * n + 1 for c, n, eur in expected_refunds.iter_rows())
    assert sales == dict(api.filter(pl.col("paid_at").is_not_null()).group_by("channel").len().iter_rows())
    registered = api.filter(~pl.col("is_guest") & (pl.col("channel") != "vtex"))
    assert accounts == dict(registered.group_by("store_id").agg(pl.col("customer_id").n_unique()).iter_rows())
    # the write-back pushed the stock, prices, tracking and status every channel should show, and
    # the customers got their messages
    assert summary.writeback.dead == 0 and summary.writeback.skipped_targets == []
    with warehouse.read_serving(settings) as con:
        wanted = con.sql("select store_id, sku, quantity from wb_stock").fetchall()
        messages_due = con.sql("select count(*) from wb_notifications").fetchall()[0][0]
        prices = con.sql("select count(*) from wb_prices").fetchall()[0][0]
        tracking = con.sql("select store_id, channel, channel_order_id, tracking_number from wb_tracking").fetchall()
        statuses = con.sql(
            "select store_id, channel, channel_order_id, afterclick_status from wb_order_status"
        ).fetchall()
        confirmed = con.sql("select count(*) from ops.writeback_ledger where status = 'confirmed'").fetchall()[0][0]
    shown = {
        store: json.loads((settings.demo_dir / "channels" / f"{store}.json").read_text())
        for store in {s for s, _, _ in wanted}
    }
    assert all(next(iter(shown[s][sku].values())) == q for s, sku, q in wanted)
    world = load_truth(settings)
    channel = {s: saved_state(world, s, settings.demo_dir / "channels") for s, *_ in tracking + statuses}
    assert tracking and statuses
    # every parcel shown, but those of orders the store takes no parcel on (VTEX canceled, Magento closed)
    assert all(
        number in tracking_numbers(channel[s], c, o) or not takes_parcels(channel[s], c, o)
        for s, c, o, number in tracking
    )
    shown = {
        (s, o): CHANNELS[c].writeback_module().ADAPTERS["status"].channel_status(status)  # None: the channel shows none
        for s, c, o, status in statuses
    }
    assert all(
        order_status(channel[s], c, o) == shown[s, o]
        for s, c, o, _ in statuses
        if shown[s, o] is not None and not (c == "vtex" and order_status(channel[s], c, o) == "canceled")
    )
    assert len(list((settings.demo_dir / "mailbox" / "new").iterdir())) == messages_due
    assert confirmed == len(wanted) + messages_due + prices + len(tracking) + len(statuses)

    # a second run (one test, not two: a pipeline costs a minute or two here) with nothing new
    # from the sources: the only news is that the channels now show the stock, the (retail) prices
    # and the Magento shipments the first run pushed: a new inventory reading, a new listing of each
    # repriced product, each shipment read back
    with warehouse.read_serving(settings) as con:
        before = con.sql("select count(*), round(sum(total_amount), 2) from fct_orders").fetchall()
        repriced = dict(
            con.sql(
                "select channel, count(*) from wb_prices where segment = 'b2c' "
                "and channel in ('shopify', 'magento', 'woocommerce') group by 1"
            ).fetchall()
        )
    with outside_world_env(settings, monkeypatch):
        again = pipeline_flow(state_dir=str(settings.root))
    shipped_on_magento = len(  # one shipment per parcel shipped there
        {n for s, c, o, n in tracking if c == "magento" and n in tracking_numbers(channel[s], c, o)}
    )
    assert (
        again.ingest.rows_by_table
        == {
            "raw.channels__inventory_levels": len(wanted),
            **{f"raw.{c}__products": n for c, n in repriced.items()},
            "raw.magento__shipments": shipped_on_magento,
        }
        and wanted
    )
    assert again.writeback.pushed == 0  # nothing changed, nothing pushed
    with warehouse.read_serving(settings) as con:
        assert con.sql("select count(*), round(sum(total_amount), 2) from fct_orders").fetchall() == before
        # what the channels show is what afterclick wants them to show: no drift anywhere
        assert con.sql("select count(*) from fct_channel_stock where has_drift").fetchall() == [(0,)]
        assert con.sql("select count(*) from fct_channel_stock where channel_available is not null").fetchall() == [
            (len(wanted),)
        ]
        # the tracking numbers Magento shows are those pushed, each one a parcel of its order
        shown = con.sql(
            "select tracking_number, is_known_parcel from fct_channel_fulfillments where channel = 'magento'"
        ).fetchall()
    pushed_to_magento = sorted(
        n for s, c, o, n in tracking if c == "magento" and n in tracking_numbers(channel[s], c, o)
    )
    assert sorted(n for n, _ in shown) == pushed_to_magento and all(known for _, known in shown)
