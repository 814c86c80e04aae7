"""Order status, tracking and prices against the channel emulators (real HTTP; bodies validated
against the published specs when ``../shared`` has them): every channel ends up showing what the
warehouse says, once, through a crash between call and confirmation; requests are paced so a
store's rate limit is never hit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Set as AbstractSet

import httpx
import pytest

from afterclick import warehouse
from afterclick.channels.registry import CHANNELS
from demo.emulators.shown import order_status, takes_parcels, tracking_numbers
from writeback import engine
from writeback.adapters.magento.orders import MagentoTracking
from writeback.run import adapter_factory

from pushing import NOW, ledger, push, stores


def _rows(settings, sql: str) -> list[dict]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def _tracking(settings) -> list[dict]:
    return _rows(settings, "select store_id, channel, channel_order_id, tracking_number from writeback.wb_tracking")


def channel_status(channel: str, afterclick_status: str) -> str | None:
    """What the channel calls afterclick's status (its status adapter's mapping; None: it shows none)."""
    return CHANNELS[channel].writeback_module().ADAPTERS["status"].channel_status(afterclick_status)


def _statuses(settings) -> list[dict]:
    """The statuses the warehouse wants shown, in each channel's vocabulary (those it has a word for)."""
    rows = _rows(
        settings, "select store_id, channel, channel_order_id, afterclick_status from writeback.wb_order_status"
    )
    return [
        r | {"channel_status": status}
        for r in rows
        if (status := channel_status(r["channel"], r["afterclick_status"])) is not None
    ]


def _assert_shown(settings, channels, refused: AbstractSet[tuple[str, str]] = frozenset()) -> None:
    """Every parcel's tracking and every status the warehouse wants, shown by the stores (but the
    parcels of ``refused``: (store, order) the store takes no tracking on)."""
    for row in _tracking(settings):
        state = channels[row["store_id"]][1]
        if (row["store_id"], row["channel_order_id"]) not in refused:
            assert row["tracking_number"] in tracking_numbers(state, row["channel"], row["channel_order_id"]), row
    for row in _statuses(settings):
        state = channels[row["store_id"]][1]
        if (row["store_id"], row["channel_order_id"]) in refused:
            continue
        assert order_status(state, row["channel"], row["channel_order_id"]) == row["channel_status"], row


def _refusing(settings, channels) -> set[tuple[str, str]]:
    """(store, order) of the parcels whose store takes no tracking on their order, before a push."""
    return {
        (r["store_id"], r["channel_order_id"])
        for r in _tracking(settings)
        if r["store_id"] in channels
        and not takes_parcels(channels[r["store_id"]][1], r["channel"], r["channel_order_id"])
    }


def _no_duplicates(channels) -> None:
    """No second fulfillment, invoice, shipment or note for the same parcel: each parcel has its own
    (one tracking number each), and no tracking number is shown twice."""
    for store, (_, state) in channels.items():
        for oid, record in state.book.orders.items():
            for kind in ("fulfillments", "shipments"):
                numbers = [
                    t.get("number") or t.get("track_number")
                    for f in record.get(kind, [])
                    for t in f.get("trackingInfo", f.get("tracks", []))
                ]
                assert all(len(f.get("trackingInfo", f.get("tracks", []))) == 1 for f in record.get(kind, [])), (
                    store,
                    oid,
                )
                assert len(numbers) == len(set(numbers)), (store, oid)
            invoices = Counter(i["invoiceNumber"] for i in record.get("invoices", []))
            assert not invoices or max(invoices.values()) == 1, (store, oid)
            notes = Counter(n["note"] for n in record.get("notes", []))
            assert not notes or max(notes.values()) == 1, (store, oid)


def test_tracking_and_status_reach_every_channel_once_and_a_second_run_sends_nothing(wb, channels):
    tracking, statuses = _tracking(wb), _statuses(wb)
    assert (
        {r["channel"] for r in tracking}
        == {r["channel"] for r in statuses}
        == {"shopify", "vtex", "magento", "woocommerce"}
    )
    assert {r["channel_status"] for r in statuses} >= {"CLOSED", "delivered", "completed"}
    refused = _refusing(wb, channels)
    # the stores side by side, as `afterclick push` does (a store's kinds stay in order: VTEX marks
    # delivered on the invoice its tracking push created)
    report = push(wb, channels, kinds=("tracking", "status"), parallel_targets=4)
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    assert [t.kind for t in report.targets] == sorted(
        (t.kind for t in report.targets), key=("tracking", "status").index
    )
    _assert_shown(wb, channels, refused)
    _no_duplicates(channels)
    before = {s: len(state.requests) for s, (_, state) in channels.items()}
    again = push(wb, channels, kinds=("tracking", "status"))
    assert again.total("pushed") == 0
    assert {s: len(state.requests) for s, (_, state) in channels.items()} == before  # not one request


def test_a_crash_between_call_and_confirmation_creates_no_second_fulfillment_or_shipment(wb, channels):
    class Crash(Exception):
        pass

    def crash(batch):
        raise Crash

    refused = _refusing(wb, channels)
    for store in channels:  # each store's first tracking batch is sent, then the process "dies"
        with pytest.raises(Crash):
            con = warehouse.connect(wb)
            try:
                changes = engine.desired(con, "tracking")[store]
                adapter = adapter_factory(stores(channels), None, 10.0)("tracking", store, changes[0].channel)
                engine.push_target(con, adapter, changes, NOW, after_call=crash)
            finally:
                con.close()
    pending = sum(n for (n,) in ledger(wb, "select count(*) from ops.writeback_ledger where status = 'pending'"))
    writes = {s: state.book.writes for s, (_, state) in channels.items()}
    assert pending > 0 and all(writes.values())
    report = push(wb, channels, kinds=("tracking", "status"))
    assert report.total("recovered") == pending  # read back from the channel, not sent again
    _assert_shown(wb, channels, refused)
    _no_duplicates(channels)
    assert ledger(wb, "select count(*) from ops.writeback_ledger where status <> 'confirmed'")[0][0] == 0


@pytest.mark.shopify_standard_bucket  # through Shopify's real throttle
def test_prices_reach_every_channel_including_magentos_wholesale_list(wb, channels):
    wanted = _rows(
        wb, "select store_id, channel, sku, segment, cast(price as double) as price from writeback.wb_prices"
    )
    assert {"b2b"} < {r["segment"] for r in wanted}
    report = push(wb, channels, kinds=("prices",))
    assert report.total("dead") == 0 and report.total("pushed") == len(wanted)
    for r in wanted:
        shown = channels[r["store_id"]][1].book.prices[r["sku"]]
        price_list = "b2c" if r["segment"] == "b2c" else "Wholesale"
        assert shown[price_list] == pytest.approx(r["price"], abs=0.005), r
    assert push(wb, channels, kinds=("prices",)).total("pushed") == 0


def test_paced_requests_never_hit_the_stores_rate_limit(wb, channels):
    woo = channels["woo-pt"][1]
    woo.requests_per_second = 10.0  # the store refuses (429) requests closer than 100 ms apart
    # paced at half the limit: a margin for the loopback's scheduling jitter
    paced = stores({"woo-pt": channels["woo-pt"]}, requests_per_second=5.0)["woo-pt"].client(10.0)
    for page in range(1, 13):
        paced.request("GET", "/wp-json/wc/v3/products", params={"per_page": 5, "page": page})
    assert woo.throttled == 0 and len(woo.requests) == 12
    # the same requests unpaced: the store answers 429s (absorbed by the retries, but hit)
    unpaced = stores({"woo-pt": channels["woo-pt"]})["woo-pt"].client(10.0)
    for page in range(1, 13):
        unpaced.request("GET", "/wp-json/wc/v3/products", params={"per_page": 5, "page": page})
    assert woo.throttled > 0


def test_the_emulators_refuse_order_writes_that_break_the_published_spec(wb, channels):
    from demo.emulators import spec

    if not spec.available("vtex-orders"):
        pytest.skip("../shared/api-specs is not here")
    order = {r["channel"]: r for r in _tracking(wb)}
    vtex_url, vtex = channels[order["vtex"]["store_id"]]
    r = httpx.post(
        f"{vtex_url}/api/oms/pvt/orders/{order['vtex']['channel_order_id']}/invoice",
        json={"type": "Output", "invoiceNumber": "X1", "issuanceDate": "2026-10-01", "invoiceValue": "100"},
        headers={
            "X-VTEX-API-AppKey": vtex.credentials["app_key"],
            "X-VTEX-API-AppToken": vtex.credentials["app_token"],
        },
    )
    assert r.status_code == 400 and "items" in r.text
    magento_url, magento = channels[order["magento"]["store_id"]]
    r = httpx.post(
        f"{magento_url}/rest/V1/order/{order['magento']['channel_order_id']}/ship",
        json={"tracks": [{"track_number": "X"}]},
        headers={"Authorization": f"Bearer {magento.credentials['token']}"},
    )
    assert r.status_code == 400 and "carrier_code" in r.text
    woo_url, woo = channels[order["woocommerce"]["store_id"]]
    r = httpx.put(
        f"{woo_url}/wp-json/wc/v3/orders/{order['woocommerce']['channel_order_id']}",
        json={"status": "shipped"},
        auth=(woo.credentials["key"], woo.credentials["secret"]),
    )
    assert r.status_code == 400 and "status" in r.json()["message"]
    shop_url, shop = channels[order["shopify"]["store_id"]]
    r = httpx.post(
        f"{shop_url}/admin/api/2025-01/graphql.json",
        json={
            "query": 'mutation { fulfillmentCreate(fulfillment: {trackingInfo: {number: "X"}}) { userErrors { message } } }'
        },
        headers={"X-Shopify-Access-Token": shop.credentials["token"]},
    )
    assert "lineItemsByFulfillmentOrder" in str(r.json()["errors"])
    assert not any(state.book.writes for _, state in channels.values())  # nothing was applied


def test_shopify_finds_a_small_runs_skus_by_search_and_a_bulk_runs_in_the_catalogue(wb, channels, monkeypatch):
    """A day's few price changes are looked up by a SKU search (a point per variant asked for), a
    bulk push reads the whole catalogue (the fewest calls): the same prices and the same dead
    letter either way, and the search costs a fraction of the catalogue read."""
    from writeback.adapters.shopify.skus import SkuDirectory
    from writeback.ledger import Change, ensure

    _, state = channels["shopify-es"]
    with warehouse.connect_read_only(wb.warehouse_path) as con:
        few = engine.desired(con, "prices")["shopify-es"][:8]
    gone = few[3].payload["sku"]
    state.unknown_skus.add(gone)  # a SKU the store does not have
    spent = {}
    for way, search_up_to in (("search", 1_000), ("catalogue", 0)):
        monkeypatch.setattr(SkuDirectory, "SEARCH_UP_TO", search_up_to)
        for c in few:  # the store holds other prices before each way
            state.book.set_price(c.payload["sku"], "b2c", 1.0)
        con = warehouse.connect(wb)
        try:
            ensure(con)
            con.execute("delete from ops.writeback_ledger")
            adapter = adapter_factory(stores({"shopify-es": channels["shopify-es"]}), None, 10.0)(
                "prices", "shopify-es", "shopify"
            )
            before = state.cost_spent
            report = engine.push_target(
                con, adapter, [Change(c.kind, c.store_id, c.channel, c.key, c.payload) for c in few], NOW
            )
            spent[way] = state.cost_spent - before
            [(error,)] = con.execute("select last_error from ops.writeback_ledger where status = 'dead'").fetchall()
        finally:
            con.close()
        assert (report.pushed, report.dead) == (len(few) - 1, 1) and gone in error and "catalogue" in error, way
        for c in few:
            if c.payload["sku"] != gone:
                assert state.book.prices[c.payload["sku"]]["b2c"] == pytest.approx(c.payload["price"], abs=0.005), way
    catalogue = len(state.inventory.skus)
    assert catalogue > 5 * len(few)
    assert spent["catalogue"] >= 2 * catalogue  # a variant with its product costs 2 points
    assert spent["search"] <= 2 + 2 * len(few) + 10 * len(few) < spent["catalogue"]  # lookup + one mutation each


def test_the_shopify_emulator_searches_exactly_the_skus_asked_for():
    from types import SimpleNamespace

    from demo.emulators.shopify import _searched
    from writeback.adapters.shopify.skus import sku_search

    catalogue = ["SKU-1", 'a "quoted" sku', "back\\slash", "SKU-10", "SKU-2"]
    state = SimpleNamespace(inventory=SimpleNamespace(skus=catalogue, knows=lambda s: s in catalogue))
    assert _searched(state, sku_search(catalogue[:3])) == catalogue[:3]  # SKU-1 does not bring SKU-10
    assert _searched(state, sku_search(["nope", "SKU-10"])) == ["SKU-10"]  # a SKU the store lacks is not found
    assert _searched(state, None) == catalogue
    with pytest.raises(ValueError, match="only sku: terms"):
        _searched(state, "title:shirt")


def test_one_call_per_change_apis_are_asked_no_more_than_they_must(wb, channels, monkeypatch):
    """Magento tracking: one shipments search per batch of orders, not a search and an order read
    per parcel. VTEX: the prices push reuses the SKU ids the stock push looked up."""
    import re

    _, vtex = channels["vtex-br"]
    report = push(wb, channels, kinds=("stock", "prices"), only="vtex-br")
    lookups = [p for p in vtex.requests if "stockkeepingunitidbyrefid" in p]
    skus = {r[0] for r in ledger(wb, "select payload->>'sku' from ops.writeback_ledger where store_id = 'vtex-br'")}
    assert report.total("pushed") > 0 and {t.kind for t in report.targets} == {"stock", "prices"}
    assert len(lookups) == len(set(lookups)) == len(skus)  # one lookup per SKU, none repeated

    _, state = channels["magento-es"]
    wanted = [r for r in _tracking(wb) if r["store_id"] == "magento-es"]
    batch = 25  # smaller batches than the default, so this world's changes make several
    monkeypatch.setattr(MagentoTracking, "batch_size", batch)
    refused = _refusing(wb, {"magento-es": channels["magento-es"]})
    report = push(wb, channels, kinds=("tracking",), only="magento-es")
    assert report.total("pushed") == len(wanted) > batch and report.total("dead") == 0
    searches = state.requests.count("/rest/V1/shipments")
    order_reads = [p for p in state.requests if re.fullmatch(r"/rest/V1/orders/\d+", p)]
    orders = len({r["channel_order_id"] for r in wanted})
    later_parcels = len(wanted) - orders  # read again after the first's
    # one shipments search per batch, each order's items read once (and again for a later parcel)
    assert searches <= -(-len(wanted) // batch) + later_parcels
    assert len(order_reads) <= orders + later_parcels
    for row in wanted:
        if ("magento-es", row["channel_order_id"]) not in refused:
            assert row["tracking_number"] in tracking_numbers(state, "magento", row["channel_order_id"]), row
    _no_duplicates({"magento-es": channels["magento-es"]})
