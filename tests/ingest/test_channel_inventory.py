"""Channel inventory reads against the local emulators: each store's sweep lands exactly what the
channel shows per SKU and location, pages through the whole catalogue, lands only changes, and
a fault leaves nothing half-landed."""

from datetime import datetime

import pytest

from afterclick import warehouse
from afterclick.errors import BadSourceData
from demo.catalog import STORE_BY_ID
from demo.emulators.server import serve_channels
from demo.world import simulate
from ingest.channels.inventory import TABLE, ingest_channel_inventory

from emulated_stores import api_store, con  # noqa: F401 - con is a fixture

END = datetime(2026, 11, 1)
LOCATION = {
    "shopify-es": "gid://shopify/Location/1001",
    "shopify-mx": "gid://shopify/Location/2001",
    "vtex-br": "1_1",
    "magento-es": "default",
    "woo-pt": "",
}
PAGE = {"shopify": 7, "vtex": 0, "magento": 5, "woocommerce": 4}  # small pages: every sweep pages


@pytest.fixture(scope="module")
def world():
    return simulate(orders=800, days=45, seed=3, end=END)  # 60 SKUs


def _sweep(con, store_id, url, state, skus):
    return ingest_channel_inventory(
        con, api_store(store_id, url, state), skus=skus, page_size=PAGE[STORE_BY_ID[store_id].channel]
    )


def _latest(con, store_id) -> dict[tuple[str, str], int]:
    rows = con.sql(
        f"select sku, location_id, arg_max(available, observed_at) from {TABLE} "
        f"where _store = '{store_id}' group by all"
    ).fetchall()
    return {(sku, loc): n for sku, loc, n in rows}


def _shown(state, location) -> dict[tuple[str, str], int]:
    return {
        (sku, location): by_location[location]
        for sku, by_location in state.inventory.quantities.items()
        if location in by_location and state.inventory.knows(sku)
    }


@pytest.mark.parametrize("store_id", list(LOCATION))
def test_a_sweep_lands_what_the_channel_shows_then_only_what_changed(world, con, store_id):
    skus = set(world.products["sku"].to_list())
    with serve_channels(world, shopify_bucket=(1000.0, 50.0)) as endpoints:
        url, state = endpoints[store_id]
        location = LOCATION[store_id]
        stocked = sorted(skus)[:23]  # 23: no page size above divides it, so the last page is short
        state.inventory.set([(sku, location, i * 3) for i, sku in enumerate(stocked)])
        first = _sweep(con, store_id, url, state, skus)
        assert first.rows_landed == 23 and first.rows_quarantined == 0
        assert _latest(con, store_id) == _shown(state, location)

        again = _sweep(con, store_id, url, state, skus)
        assert again.rows_landed == 0  # the channel shows the same: nothing new lands

        # one quantity changes and changes back (5 → 7 → 5), another changes once
        a, b = stocked[5], stocked[6]
        state.inventory.set([(a, location, 7), (b, location, 100)])
        assert _sweep(con, store_id, url, state, skus).rows_landed == 2
        state.inventory.set([(a, location, 15)])
        assert _sweep(con, store_id, url, state, skus).rows_landed == 1
        state.inventory.set([(a, location, 7)])
        assert _sweep(con, store_id, url, state, skus).rows_landed == 1  # back to an earlier quantity: a reading
        assert _latest(con, store_id) == _shown(state, location)
        assert _latest(con, store_id)[(a, location)] == 7
    other = {s for (s,) in con.sql(f"select distinct _store from {TABLE}").fetchall()}
    assert other == {store_id}


def test_magento_sweep_stops_at_total_count_when_the_last_page_is_full(world, con):
    """Magento answers the last page again for a page past the end: the sweep must stop by the count."""
    with serve_channels(world) as endpoints:
        url, state = endpoints["magento-es"]
        state.inventory.set([(sku, "default", 1) for sku in state.inventory.skus[:20]])  # 4 full pages of 5
        landed = _sweep(con, "magento-es", url, state, None)
        assert landed.rows_landed == 20
        assert sum(p.endswith("/inventory/source-items") for p in state.requests) == 4


def test_vtex_skips_skus_it_does_not_sell_and_needs_a_catalogue(world, con, caplog):
    skus = set(world.products["sku"].to_list())
    with serve_channels(world) as endpoints:
        url, state = endpoints["vtex-br"]
        not_sold = sorted(skus)[0]
        state.inventory.unknown_skus.add(not_sold)
        state.inventory.set([(sku, "1_1", 4) for sku in sorted(skus)[:10]])
        landed = _sweep(con, "vtex-br", url, state, skus | {"SKU-99999"})
        assert landed.rows_landed == 9 and landed.rows_quarantined == 0
        assert (not_sold, "1_1") not in _latest(con, "vtex-br")
        assert _sweep(con, "vtex-br", url, state, None).rows_landed == 0
    assert "no ERP catalogue" in caplog.text


def test_vtex_reuses_the_sku_ids_of_its_last_readings_and_looks_up_an_id_that_is_gone(world, con):
    """A SKU read before is asked by the SKU id its last reading carried (one call, not two); an id
    the store no longer knows (404) is looked up again by reference."""
    skus = set(world.products["sku"].to_list())
    stocked = sorted(skus)[:10]
    with serve_channels(world) as endpoints:
        url, state = endpoints["vtex-br"]
        state.inventory.set([(sku, "1_1", 4) for sku in stocked])
        assert _sweep(con, "vtex-br", url, state, skus).rows_landed == 10
        lookups = lambda: sorted(p.rsplit("/", 1)[1] for p in state.requests if "stockkeepingunitidbyrefid" in p)  # noqa: E731
        assert lookups() == sorted(skus)
        con.execute(f"update {TABLE} set payload = json_object('skuId', '999999') where sku = ?", [stocked[0]])
        state.requests.clear()
        state.inventory.set([(stocked[1], "1_1", 7)])
        assert _sweep(con, "vtex-br", url, state, skus).rows_landed == 1
        # the SKUs without a reading, and the one whose landed id is gone
        assert lookups() == sorted((skus - set(stocked)) | {stocked[0]})
        assert _latest(con, "vtex-br") == {**{(sku, "1_1"): 4 for sku in stocked}, (stocked[1], "1_1"): 7}


def test_faults_are_retried_and_a_malformed_answer_lands_nothing_of_the_sweep(world, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["woo-pt"]
        state.inventory.set([(sku, "", 2) for sku in state.inventory.skus[:30]])
        # page 1 after a 500 and a 429, pages 2-3, then page 4 stays malformed through every retry …
        state.faults = ["500", "429", "200", "200", "200"] + ["malformed"] * 10
        with pytest.raises(BadSourceData):
            _sweep(con, "woo-pt", url, state, None)
        assert con.sql(f"select count(*) from {TABLE}").fetchall() == [(0,)]  # … so no half sweep lands
        [(reason,)] = con.sql("select reason from ops.quarantine where entity = 'inventory_levels'").fetchall()
        assert "JSON" in reason
        state.faults = ["500", "429", "500"]
        landed = _sweep(con, "woo-pt", url, state, None)
        assert state.faults == [] and landed.rows_landed == 30


def test_the_inventory_source_reads_what_the_demo_channels_were_last_told(settings, small_world, monkeypatch):
    """Through the source kind: the demo emulators show the stock a previous push left them."""
    from demo.generate import load_truth
    from ingest.run import ensure_raw_tables, ingest_source
    from tests.conftest import outside_world_env

    ensure_raw_tables(settings)
    with serve_channels(load_truth(settings), inventory_dir=settings.demo_dir / "channels") as endpoints:
        for store_id, (_, state) in endpoints.items():
            state.inventory.set([(sku, LOCATION[store_id], 11) for sku in state.inventory.skus[:5]])
    with outside_world_env(settings, monkeypatch):
        ingest_source(settings, "erp")
        landed = ingest_source(settings, "channel_inventory")
        again = ingest_source(settings, "channel_inventory", store="vtex-br")
    assert {x.rows_landed for x in landed} == {5} and len(landed) == len(LOCATION)
    with warehouse.connect_read_only(settings.warehouse_path) as ro:
        assert ro.sql(
            f"select _store, count(*), min(available), max(available) from {TABLE} group by 1 order by 1"
        ).fetchall() == [(s, 5, 11, 11) for s in sorted(LOCATION)]
    assert again[0].rows_landed == 0


def test_vtex_sweep_reads_four_skus_side_by_side_and_keeps_the_sku_order():
    """Each SKU is one or two round trips with nothing else to do meanwhile: the sweep reads
    SWEEP_CALLS of them at once (the barrier passes only when four calls are in flight
    together), and its readings still come in SKU order. A stand-in for the store answers here:
    what it answers is the emulator's business, tested above; this is the sweep's concurrency."""
    import threading

    from ingest.channels.vtex.stock import SWEEP_CALLS, levels

    skus = [f"SKU-{i:03d}" for i in range(10)]
    meet = threading.Barrier(SWEEP_CALLS, timeout=30)
    lock, active, peak = threading.Lock(), [0], [0]

    class Store:
        store_id = "vtex-br"

        def get_or_none(self, path: str):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                if path.endswith(("SKU-000", "SKU-001", "SKU-002", "SKU-003")):
                    meet.wait()  # the first four SKUs' id lookups must be in flight together
                sku = path.rsplit("/", 1)[1]
                if "stockkeepingunitidbyrefid" in path:
                    return int(sku.removeprefix("SKU-")) + 100
                return {"skuId": sku, "balance": [{"warehouseId": "1_1", "totalQuantity": int(sku) - 100}]}
            finally:
                with lock:
                    active[0] -= 1

    readings = list(levels(Store(), 0, set(skus)))
    assert [(r["sku"], r["available"]) for r in readings] == [(sku, i) for i, sku in enumerate(skus)]
    assert peak[0] == SWEEP_CALLS
