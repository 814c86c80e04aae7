"""The Magento readers fed what Magento's own admin REST spec (Swagger 2.0, ../shared/api-specs)
describes: search results of orders, credit memos, customers and shipments built from the spec's
definitions (the required properties only, every property, and hypothesis-drawn ones), their
``updated_at`` in every timestamp form, served by a Magento-like store on loopback."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from afterclick.channels.store import ChannelStore

from spec_payloads import MagentoStore, assert_conformance, require, specimens

TOKEN = "magento-conformance-token"
# entity -> (list path, the spec's search result definition, id field)
ENTITIES = {
    "orders": ("/rest/V1/orders", "sales-data-order-search-result-interface", "entity_id"),
    "creditmemos": ("/rest/V1/creditmemos", "sales-data-creditmemo-search-result-interface", "entity_id"),
    "customers": ("/rest/V1/customers/search", "customer-data-customer-search-results-interface", "id"),
    "shipments": ("/rest/V1/shipments", "sales-data-shipment-search-result-interface", "entity_id"),
}


def _store(server: MagentoStore, page_size: int = 5) -> ChannelStore:
    return ChannelStore(
        "magento-spec", "magento", server.url, {"token": SecretStr(TOKEN)}, reader_options={"page_size": page_size}
    )


def _item_schema(doc: dict, result: str) -> dict:
    """The item of a search result, by the spec: ``items`` of the result definition."""
    return doc["definitions"][result]["properties"]["items"]["items"]


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_spec_built_search_results_land_or_are_quarantined_and_the_cursor_is_the_newest_stamp(con, entity):
    doc = require("magento")
    path, result, id_field = ENTITIES[entity]
    records = specimens(_item_schema(doc, result), doc, id_field, "updated_at")
    with MagentoStore({path: [r for r, _ in records]}) as server:
        first_run = assert_conformance(con, _store(server), entity, records, id_field, server)
    pages = server.served[: len(first_run)]
    assert len([page for _, page in pages if page]) >= 3  # more than 3 pages of 5
    assert {id(r) for _, page in pages for r in page} == {id(r) for r, _ in records}  # every page was read
    filters = [
        (q["searchCriteria[filter_groups][0][filters][0][value]"], int(q["searchCriteria[currentPage]"]))
        for _, _, q in first_run
    ]
    assert filters == sorted(filters)  # pages asked in order: the filter only moves forward


def test_the_spec_minimal_order_has_no_id_and_no_stamp_and_is_quarantined_with_the_reason(con):
    """Magento's spec requires only base_grand_total, customer_email, grand_total and items."""
    doc = require("magento")
    path, result, id_field = ENTITIES["orders"]
    records = specimens(_item_schema(doc, result), doc, id_field, "updated_at", generated_count=0)
    literal = records[0][0]
    assert set(literal) == {"base_grand_total", "customer_email", "grand_total", "items"}
    with MagentoStore({path: [literal]}) as server:
        from ingest.channels.connector import ingest_channel_store

        [landed] = ingest_channel_store(con, _store(server), only="orders")
    assert (landed.rows_landed, landed.rows_quarantined) == (0, 1)
    [(reason, payload)] = con.execute("select reason, payload from ops.quarantine").fetchall()
    assert reason == "orders record without entity_id"
    assert "customer_email" in payload
