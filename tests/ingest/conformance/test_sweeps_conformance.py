"""The catalogue and inventory sweeps fed what the channels' published specs (../shared/api-specs)
describe: Shopify's ``productVariants``, ``locations`` and ``inventoryItems`` (their fields built from
the published schema's types), Magento's ``GET /V1/products``, ``GET /V1/inventory/sources`` and
``GET /V1/inventory/source-items`` search results, WooCommerce's ``GET /products``, VTEX's
``GET /api/logistics/pvt/configuration/warehouses`` and ``GET /api/logistics/pvt/inventory/skus/{skuId}``,
their records built from the spec's schemas (the required properties only, which is often nothing;
every property; hypothesis-drawn ones), served on loopback in small pages. Asserted: no crash,
every record lands or is quarantined with a reason naming what it lacks, every page is read, and
a second sweep of the same store lands nothing."""

from __future__ import annotations

from pydantic import SecretStr

from afterclick.channels.store import ChannelStore
from ingest.channels.catalogue import sweep_entity
from ingest.channels.inventory import TABLE, ingest_channel_inventory

from spec_payloads import (
    Loopback,
    MagentoStore,
    ShopifyStore,
    WooStore,
    example,
    generated,
    quarantine_reasons,
    require,
)

CREDENTIALS = {
    "shopify": {"token": "shpat_sweep"},
    "magento": {"token": "magento-sweep-token"},
    "woocommerce": {"key": "ck_sweep", "secret": "cs_sweep"},
    "vtex": {"app_key": "vtexappkey-sweep", "app_token": "vtex-sweep-token"},
}
PRODUCTS = "/wp-json/wc/v3/products"
INT64 = range(-(2**63), 2**63)


def _store(channel: str, server: Loopback) -> ChannelStore:
    return ChannelStore(
        f"{channel}-sweep", channel, server.url, {k: SecretStr(v) for k, v in CREDENTIALS[channel].items()}
    )


def _magento_item(doc: dict, result: str) -> dict:
    return doc["definitions"][result]["properties"]["items"]["items"]


def _woo(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _vtex_response(doc: dict, path: str) -> dict:
    return doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def _records(schema: dict, doc: dict, generated_count: int = 3) -> list[dict]:
    """The spec's minimal object exactly, then a minimal, a full and ``generated_count``
    hypothesis-drawn objects (deep copies: each record its own)."""
    minimal = example(schema, doc, full=False)
    return [
        minimal,
        example(schema, doc, full=False),
        example(schema, doc, full=True),
        *(generated(schema, doc, generated_count) if generated_count else []),
    ]


# ---- catalogue: products and locations ---------------------------------------------------------


def _with_ids(records: list[dict], id_field: str, id_type: str, first: int = 1) -> list[dict]:
    """Every record but the first (the spec's minimal object as it is) given a distinct id, typed
    as the spec types it."""
    return [records[0]] + [
        {**r, id_field: str(first + i) if id_type == "string" else first + i} for i, r in enumerate(records[1:])
    ]


def _assert_catalogue(con, store: ChannelStore, entity: str, records: list[dict], id_field: str) -> None:
    first = sweep_entity(con, store, entity, page_size=2)
    with_id = {str(r[id_field]) for r in records if r.get(id_field) not in (None, "")}
    without = [r for r in records if r.get(id_field) in (None, "")]
    table = f"raw.{store.channel}__{entity}"
    assert {i for (i,) in con.execute(f"select id from {table}").fetchall()} == with_id
    assert (first.rows_landed, first.rows_quarantined) == (len(with_id), len(without))  # landed + quarantined = served
    reasons = quarantine_reasons(con, store.channel, entity, store.store_id)
    assert reasons == [f"{entity} record without {id_field}"] * len(without)
    again = sweep_entity(con, store, entity, page_size=2)
    assert again.rows_landed == 0  # listed as at the last sweep


def test_magento_spec_built_products_and_sources_land_or_are_quarantined(con):
    doc = require("magento")
    product = _magento_item(doc, "catalog-data-product-search-results-interface")
    products = _with_ids(_records(product, doc), "id", "integer")
    sources = _with_ids(
        _records(_magento_item(doc, "inventory-api-data-source-search-results-interface"), doc), "source_code", "string"
    )
    assert set(products[0]) == {"sku"}  # the spec requires only the SKU of a product: no id
    with MagentoStore({"/rest/V1/products": products, "/rest/V1/inventory/sources": sources}) as server:
        _assert_catalogue(con, _store("magento", server), "products", products, "id")
        _assert_catalogue(con, _store("magento", server), "locations", sources, "source_code")
    pages = [int(q["searchCriteria[currentPage]"]) for _, path, q in server.requests if path == "/rest/V1/products"]
    assert pages[:3] == [1, 2, 3]  # pages of 2, read in order


def test_woocommerce_spec_built_products_land_or_are_quarantined(con):
    doc = require("woocommerce")
    products = _with_ids(_records(_woo("product"), doc), "id", "integer")
    assert products[0] == {}  # the spec requires nothing of a product
    with WooStore([]) as server:
        server.records[PRODUCTS] = products
        _assert_catalogue(con, _store("woocommerce", server), "products", products, "id")


def test_vtex_spec_built_warehouses_land_or_are_quarantined(con):
    doc = require("vtex-logistics")
    warehouses = _with_ids(
        _records(_vtex_response(doc, "/api/logistics/pvt/configuration/warehouses")["items"], doc), "id", "string"
    )
    with Answers({"/api/logistics/pvt/configuration/warehouses": warehouses}) as server:
        _assert_catalogue(con, _store("vtex", server), "locations", warehouses, "id")


# ---- inventory: what each store shows per SKU and location ---------------------------------------


class Answers(Loopback):
    """A store answering each known path with its body, 404 elsewhere."""

    def __init__(self, bodies: dict[str, object]):
        super().__init__()
        self.bodies = bodies

    def answer(self, method, path, query, body):
        return (200, self.bodies[path], {}) if path in self.bodies else (404, {"error": "not found"}, {})


def _expected(readings: list[tuple[object, object, object]]) -> tuple[dict, list[str]]:
    """What landing must make of (SKU, location, quantity) readings: the whole quantities land (a
    number the spec types ``number`` counts when whole: 3.0 is 3), the others are quarantined
    naming what they lack."""
    landed, reasons = {}, []
    for sku, location, quantity in readings:
        whole = (isinstance(quantity, int) and not isinstance(quantity, bool)) or (
            isinstance(quantity, float) and quantity.is_integer()
        )
        if not sku:
            reasons.append("inventory level without SKU")
        elif location is None:
            reasons.append("inventory level without location")
        elif not whole or int(quantity) not in INT64:
            reasons.append("inventory level without integer quantity")
        else:
            landed[sku, location] = int(quantity)
    return landed, reasons


def _assert_inventory(con, store: ChannelStore, readings, skus: set[str] | None = None) -> None:
    landed, reasons = _expected(readings)
    first = ingest_channel_inventory(con, store, skus=skus, page_size=2)
    rows = con.execute(f"select sku, location_id, available from {TABLE}").fetchall()
    assert {(sku, location): n for sku, location, n in rows} == landed
    assert (first.rows_landed, first.rows_quarantined) == (len(landed), len(reasons))
    assert sorted(quarantine_reasons(con, "channels", "inventory_levels", store.store_id)) == sorted(reasons)
    assert ingest_channel_inventory(con, store, skus=skus, page_size=2).rows_landed == 0  # nothing changed


def test_magento_spec_built_source_items_land_or_are_quarantined(con):
    doc = require("magento")
    items = _records(_magento_item(doc, "inventory-api-data-source-item-search-results-interface"), doc)
    assert items[0] == {}  # the spec requires nothing of a source item
    for i, item in enumerate(items[1:]):
        item.update(sku=f"SKU-{i}", source_code="default")
    items[2]["quantity"] = 1.5  # the spec's ``number``: a fraction cannot be a stock level
    # a whole number, as Magento writes a ``number`` quantity
    items.append({"sku": "SKU-WHOLE", "source_code": "default", "quantity": 7.0, "status": 1})
    with MagentoStore({"/rest/V1/inventory/source-items": items}) as server:
        _assert_inventory(
            con, _store("magento", server), [(i.get("sku"), i.get("source_code"), i.get("quantity")) for i in items]
        )
    assert con.execute(f"select available from {TABLE} where sku = 'SKU-WHOLE'").fetchall() == [(7,)]


def test_woocommerce_spec_built_products_give_the_stock_of_those_that_manage_it(con):
    doc = require("woocommerce")
    products = _with_ids(_records(_woo("product"), doc, generated_count=4), "id", "integer")
    for i, product in enumerate(products[1:]):
        product["sku"] = f"SKU-{i}"
    products[1]["manage_stock"] = True  # the minimal product, told to manage stock: no quantity
    # an ``integer`` the spec does not bound, beyond a bigint: quarantined, not a crash of the sweep
    products.append({"id": 999, "sku": "SKU-HUGE", "manage_stock": True, "stock_quantity": 2**63})
    with WooStore([]) as server:
        server.records[PRODUCTS] = products
        _assert_inventory(
            con,
            _store("woocommerce", server),
            [(p.get("sku"), "", p.get("stock_quantity")) for p in products if p.get("manage_stock")],
        )


def test_vtex_spec_built_sku_balances_land_or_are_quarantined(con):
    doc = require("vtex-logistics")
    schema = _vtex_response(doc, "/api/logistics/pvt/inventory/skus/{skuId}")
    balance = schema["properties"]["balance"]["items"]
    bodies = {  # SKU -> the spec-built balance of its SKU id
        "SKU-MIN": example(schema, doc, full=False),  # {}: no balance, no reading
        "SKU-FULL": example(schema, doc, full=True),
        "SKU-BARE": {"balance": [example(balance, doc, full=False)]},  # a warehouse without id or quantity
        **{f"SKU-GEN-{i}": body for i, body in enumerate(generated(schema, doc, 3))},
    }
    readings = []
    for n, (sku, body) in enumerate(bodies.items()):
        body["skuId"] = str(100 + n)
        for w, item in enumerate(body.get("balance", [])):
            if sku != "SKU-BARE":
                item["warehouseId"] = f"wh-{w}"  # one reading per warehouse
            readings.append((sku, item.get("warehouseId"), item.get("totalQuantity")))
    by_ref = "/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/"
    paths = {f"{by_ref}{sku}": body["skuId"] for sku, body in bodies.items()}
    paths |= {f"/api/logistics/pvt/inventory/skus/{body['skuId']}": body for body in bodies.values()}
    with Answers(paths) as server:
        _assert_inventory(con, _store("vtex", server), readings, skus={*bodies, "SKU-NOT-SOLD"})


# ---- Shopify: the catalogue's variants and locations, and the inventory items' levels --------------


def _shopify_nodes(ids: list[str | None]) -> list[dict]:
    """Nodes given only their ``id`` (and the ``updatedAt`` the test store sorts by): every other
    field the reader selects is built from the published schema's type by ``ShopifyStore``."""
    return [
        {**({"id": i} if i is not None else {}), "updatedAt": f"2026-11-0{n + 1}T10:00:00Z"} for n, i in enumerate(ids)
    ]


def test_shopify_spec_built_variants_and_locations_land(con):
    require("shopify")
    ids = [f"gid://shopify/ProductVariant/{n}" for n in range(1, 6)]
    locations = [f"gid://shopify/Location/{n}" for n in range(1, 4)]
    for full in (False, True):  # nullable fields null (a variant without SKU or price), or all filled
        con.execute("delete from ops.quarantine")
        nodes = {"productVariants": _shopify_nodes(ids), "locations": _shopify_nodes(locations)}
        with ShopifyStore(nodes, full=full) as server:
            store = _store("shopify", server)
            for entity, records in (("products", nodes["productVariants"]), ("locations", nodes["locations"])):
                if full:  # the same ids again, now with every field: landed afresh
                    con.execute(f"delete from raw.shopify__{entity}")
                _assert_catalogue(con, store, entity, records, "id")
        roots = [root for root, _ in server.served]
        assert roots.count("productVariants") == 2 * 3 and roots.count("locations") == 2 * 2  # pages of 2, twice


def test_shopify_spec_built_inventory_items_give_their_levels(con):
    require("shopify")

    def level(location: str, quantities: list[dict]) -> dict:
        return {"location": {"id": location}, "quantities": quantities}

    items = _shopify_nodes([f"gid://shopify/InventoryItem/{n}" for n in range(1, 5)])
    items[0] |= {
        "sku": "SKU-1",
        "inventoryLevels": {
            "nodes": [
                level("L1", [{"name": "available", "quantity": 4}]),
                level("L2", [{"name": "available", "quantity": 0}]),
            ]
        },
    }
    items[1] |= {"sku": None, "inventoryLevels": {"nodes": [level("L1", [{"name": "available", "quantity": 2}])]}}
    items[2] |= {"sku": "SKU-3", "inventoryLevels": {"nodes": [level("L1", [])]}}  # no "available" quantity
    items[3] |= {"sku": "SKU-4"}  # levels built from the schema: a non-null connection with no nodes
    with ShopifyStore({"inventoryItems": items}, full=False) as server:
        _assert_inventory(
            con,
            _store("shopify", server),
            [("SKU-1", "L1", 4), ("SKU-1", "L2", 0), (None, "L1", 2), ("SKU-3", "L1", None)],
        )
