"""The Shopify readers fed what Shopify's Admin GraphQL schema (the 2025-01 introspection in
../shared/api-specs) describes: the readers' own queries executed against it, every non-null
field filled and every nullable one null (minimal) or filled (full), ``updatedAt`` in every
timestamp form, pages of 5 through ``first``/``after``."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from afterclick.channels.store import ChannelStore

from spec_payloads import STAMP_FORMS, ShopifyStore, assert_conformance, require, stamped

TOKEN = "shpat_conformance"
KINDS = {"orders": "Order", "customers": "Customer"}


def _store(server: ShopifyStore, page_size: int = 5) -> ChannelStore:
    return ChannelStore(
        "shopify-spec", "shopify", server.url, {"token": SecretStr(TOKEN)}, reader_options={"page_size": page_size}
    )


def _nodes(entity: str, count: int) -> list[tuple[dict, object]]:
    out = []
    for i in range(count):
        spelled, utc = stamped(i)
        out.append(({"id": f"gid://shopify/{KINDS[entity]}/{1000 + i}", "updatedAt": spelled}, utc))
    return out


@pytest.mark.parametrize("full", [False, True], ids=["nullable fields null", "every field filled"])
@pytest.mark.parametrize("entity", list(KINDS))
def test_schema_built_nodes_land_every_page_read_and_the_cursor_is_the_newest_stamp(con, entity, full):
    require("shopify")
    records = _nodes(entity, 2 * len(STAMP_FORMS) + 1)  # 15 nodes: 3 pages of 5
    with ShopifyStore({entity: [r for r, _ in records]}, full=full) as server:
        first_run = assert_conformance(con, _store(server), entity, records, "id", server)
    pages = server.served[: len(first_run)]
    assert [len(page) for _, page in pages] == [5, 5, 5]  # all three pages, in order
    assert [n["id"] for _, page in pages for n in page] == [r["id"] for r, _ in records]
    payload = con.execute(f"select payload from raw.shopify__{entity} limit 1").fetchone()[0]
    assert ("null" in payload) != full  # the nullable fields as the store sent them
