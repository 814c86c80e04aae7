"""Prices as each platform means them: the store's currency (converted from the price list's, at
the as-of day's rate), with tax where the store's prices include it, the wholesale list only where
the channel has customer-group price lists, and the "was" prices (Shopify compareAtPrice, VTEX
listPrice, WooCommerce sale_price) left to the merchant unless they would show a sale that is none."""

from __future__ import annotations

import json
import re

import pytest

from afterclick import warehouse
from afterclick.channels.registry import CHANNELS
from afterclick.dbt_channels import channel_vars
from afterclick.transform import DBT_PROJECT_DIR, run_dbt

from pushing import push


def _prices(settings, store: str | None = None) -> dict[tuple[str, str, str], tuple[float, bool]]:
    """(store, sku, segment) -> (price, includes_tax) the warehouse wants."""
    sql = "select store_id, sku, segment, cast(price as double), includes_tax from writeback.wb_prices"
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rows = con.sql(sql + (f" where store_id = '{store}'" if store else "")).fetchall()
    return {(s, sku, seg): (price, tax) for s, sku, seg, price, tax in rows}


def _net_in_store_currency(settings, store: str) -> dict[tuple[str, str], float]:
    """(sku, segment) -> the ERP's price converted to the store's currency at the as-of rates, unrounded."""
    day = settings.as_of.date().isoformat()  # the as-of day's rates, as wb_prices takes them
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rows = con.sql(
            f"""select p.sku, p.segment, cast(p.price as double) * cast(lr.rate_to_eur as double)
                       / cast(sr.rate_to_eur as double)
                from staging.stg_erp__price_lists as p
                join marts.dim_stores as s on s.store_id = '{store}'
                join intermediate.int_currency_rates as lr on lr.currency = p.currency
                join intermediate.int_currency_rates as sr on sr.currency = s.currency
                where p.price > 0
                  and date '{day}' >= lr.valid_from and date '{day}' < lr.valid_to
                  and date '{day}' >= sr.valid_from and date '{day}' < sr.valid_to"""
        ).fetchall()
    return {(sku, seg): price for sku, seg, price in rows}


def test_the_wholesale_list_goes_to_the_channels_with_price_lists_named_by_the_registry(settings):
    var = channel_vars(DBT_PROJECT_DIR)["channels"]
    assert var["price_list_channels"] == [name for name, c in CHANNELS.items() if c.price_lists] == ["magento"]
    other = {**var, "price_list_channels": ["woocommerce"]}
    result = run_dbt(settings, "compile", select="wb_prices", dbt_vars={"channels": other})
    assert result.status == "success", result.errors
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    compiled = manifest["nodes"]["model.afterclick.wb_prices"]["compiled_code"]
    assert re.search(r"p\.segment = 'b2c' or s\.channel in \('woocommerce'\)\)", compiled), compiled
    assert "s.channel = 'magento'" not in compiled


def test_a_store_whose_prices_include_tax_gets_the_net_price_plus_its_rate_in_its_currency(wb, channels):
    before = _prices(wb)
    assert {seg for (s, _, seg) in before if s != "magento-es"} == {"b2c"}  # wholesale: Magento only
    assert any(seg == "b2b" for (s, _, seg) in before if s == "magento-es")
    store = wb.channel_stores["shopify-es"]
    store.prices_include_tax, store.tax_rate_pct = True, 21.0
    result = run_dbt(wb, "run", select="wb_prices")
    assert result.status == "success", result.errors
    after = _prices(wb)
    net = _net_in_store_currency(wb, "shopify-es")
    taxed = {k: v for k, v in after.items() if k[0] == "shopify-es"}
    assert taxed and all(tax for _, tax in taxed.values())
    for (_, sku, seg), (price, _) in taxed.items():
        assert price == pytest.approx(round(net[(sku, seg)] * 1.21, 2), abs=0.006), sku
    report = push(wb, channels, kinds=("prices",), only="shopify-es")  # and the store shows them so
    assert report.total("dead") == 0 and report.total("pushed") == len(taxed)
    shown = channels["shopify-es"][1].book.prices
    assert all(shown[sku]["b2c"] == pytest.approx(price) for (_, sku, _), (price, _) in taxed.items())
    # the other stores keep their prices; VTEX's include tax by default (the demo store's rate is 0)
    assert {k: price for k, (price, _) in after.items() if k[0] != "shopify-es"} == {
        k: price for k, (price, _) in before.items() if k[0] != "shopify-es"
    }
    assert all(tax == (s == "vtex-br") for (s, _, _), (_, tax) in after.items() if s != "shopify-es")
    # a store in another currency than the lists' is converted (Mexico: MXN from the EUR lists)
    mx = _net_in_store_currency(wb, "shopify-mx")
    assert all(
        price == pytest.approx(round(mx[(sku, seg)], 2), abs=0.006)
        for (s, sku, seg), (price, _) in after.items()
        if s == "shopify-mx"
    )


def _two_skus(wb, store: str) -> tuple[str, float, str, float]:
    """Two SKUs of the store's retail prices with what each should cost."""
    wanted = sorted((sku, price) for (s, sku, seg), (price, _) in _prices(wb, store).items() if seg == "b2c")
    (a, pa), (b, pb) = wanted[:2]
    return a, pa, b, pb


def test_a_shopify_compare_at_price_stays_above_the_price_and_is_cleared_at_or_below_it(wb, channels):
    state = channels["shopify-es"][1]
    above, p_above, below, p_below = _two_skus(wb, "shopify-es")
    state.book.set_price(above, "compare_at", p_above + 10)  # the merchant's sale: still one
    state.book.set_price(below, "compare_at", p_below)  # would claim a sale at the same price
    report = push(wb, channels, kinds=("prices",), only="shopify-es")
    assert report.total("dead") == 0
    assert state.book.prices[above] == {"b2c": pytest.approx(p_above), "compare_at": pytest.approx(p_above + 10)}
    assert state.book.prices[below] == {"b2c": pytest.approx(p_below), "compare_at": 0}


def test_a_vtex_list_price_is_kept_above_the_base_price_and_what_afterclick_does_not_own_is_sent_back(wb, channels):
    state = channels["vtex-br"][1]
    above, p_above, below, p_below = _two_skus(wb, "vtex-br")
    state.book.set_price(above, "b2c", 1.0)
    state.book.set_price(above, "list", p_above + 5)
    state.book.set_price(below, "b2c", 1.0)
    state.book.set_price(below, "list", p_below - 1)
    report = push(wb, channels, kinds=("prices",), only="vtex-br")
    assert report.total("dead") == 0
    assert state.book.prices[above] == {"b2c": pytest.approx(p_above), "list": pytest.approx(p_above + 5)}
    assert state.book.prices[below] == {"b2c": pytest.approx(p_below), "list": 0}


def test_a_woocommerce_sale_price_is_cleared_when_not_below_the_regular_price(wb, channels):
    state = channels["woo-pt"][1]
    kept, p_kept, cleared, p_cleared = _two_skus(wb, "woo-pt")
    state.book.set_price(kept, "sale", p_kept - 1)
    state.book.set_price(cleared, "sale", p_cleared + 1)
    report = push(wb, channels, kinds=("prices",), only="woo-pt")
    assert report.total("dead") == 0
    assert state.book.prices[kept] == {"b2c": pytest.approx(p_kept), "sale": pytest.approx(p_kept - 1)}
    assert state.book.prices[cleared] == {"b2c": pytest.approx(p_cleared), "sale": 0}
