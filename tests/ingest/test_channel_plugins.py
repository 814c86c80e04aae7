"""Channels are plugins of the ingest layer: each registered channel's package declares what it
reads (``ingest/channels/contract.py``), the generic modules land it without naming any channel,
and a channel nobody registered is refused instead of being read as some other channel."""

from __future__ import annotations

import inspect
import json
import re
import sys
import threading
import types
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.registry import CHANNELS, Auth, Channel
from afterclick.channels.store import ChannelStore
from afterclick.errors import UnknownChannel
from ingest.channels import catalogue, connector, inventory
from ingest.channels.contract import ChannelReading, Entity, Listing, Stock, channel_reading, channel_readings

GENERIC = Path(connector.__file__).parent
NOW = datetime(2026, 11, 1)


def _accepts(function, *args, **kwargs) -> bool:
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("name", list(CHANNELS))
def test_every_registered_channel_declares_its_reading_in_its_own_package(name):
    module = CHANNELS[name].ingest_module()
    assert module.__name__ == f"ingest.channels.{name}" and hasattr(module, "__path__")  # a package
    reading = module.READING
    assert isinstance(reading, ChannelReading) and channel_reading(name) is reading
    assert list(reading.entities)[0] == "orders" and not reading.entities["orders"].read_back
    tables = [*reading.entities, *reading.catalogue]
    assert len(set(tables)) == len(tables) and all(re.fullmatch(r"[a-z][a-z_]*", t) for t in tables)
    options = {setting: None for setting in CHANNELS[name].reader_settings}
    for entity in reading.entities.values():
        assert isinstance(entity, Entity) and entity.id_field and entity.updated_field
        assert _accepts(entity.reader, "client", NOW, page_size=5, **options)
    for listing in reading.catalogue.values():
        assert isinstance(listing, Listing) and listing.id_field and isinstance(listing.volatile, tuple)
        assert _accepts(listing.lister, "client") and _accepts(listing.lister, "client", 5)
    assert reading.stock is None or isinstance(reading.stock, Stock)
    if reading.stock is not None:
        assert _accepts(reading.stock.reader, "client", 5, {"SKU-1"}, {})
        assert reading.stock.sku_id_field is None or isinstance(reading.stock.sku_id_field, str)


# The raw tables the channels had before they became plugins: a channel added later brings tables of
# its own (named by the same rule) and takes none of these.
RAW_TABLES_BEFORE = {
    "raw.shopify__orders",
    "raw.shopify__customers",
    "raw.vtex__orders",
    "raw.magento__orders",
    "raw.magento__creditmemos",
    "raw.magento__customers",
    "raw.magento__shipments",
    "raw.woocommerce__orders",
    "raw.woocommerce__refunds",
    "raw.woocommerce__customers",
}
CATALOGUE_TABLES_BEFORE = {
    "raw.shopify__products",
    "raw.shopify__locations",
    "raw.vtex__locations",
    "raw.magento__products",
    "raw.magento__locations",
    "raw.woocommerce__products",
}


def test_the_raw_tables_are_named_after_the_channel_and_the_entity_as_before():
    readings = channel_readings()
    assert list(readings) == list(CHANNELS)
    expected = {f"raw.{name}__{entity}" for name, reading in readings.items() for entity in reading.entities}
    assert set(connector.raw_tables()) == expected >= RAW_TABLES_BEFORE
    listed = {f"raw.{name}__{entity}" for name, reading in readings.items() for entity in reading.catalogue}
    assert set(catalogue.tables()) == listed >= CATALOGUE_TABLES_BEFORE
    known = {table.split(".")[1].split("__")[0] for table in RAW_TABLES_BEFORE | CATALOGUE_TABLES_BEFORE}
    for table in (expected | listed) - RAW_TABLES_BEFORE - CATALOGUE_TABLES_BEFORE:
        assert table.split(".")[1].split("__")[0] not in known, f"{table}: a table the channel did not have"
    assert connector.entities("magento") == ["orders", "creditmemos", "customers"]
    assert connector.entities("magento", read_backs=True) == ["shipments"]
    # VTEX's stock is asked SKU by SKU; the other channels list it
    assert {n: readings[n].stock_needs_skus for n in ("shopify", "vtex", "magento", "woocommerce")} == {
        "shopify": False,
        "vtex": True,
        "magento": False,
        "woocommerce": False,
    }


def test_no_generic_ingest_module_names_a_channel():
    generic = sorted(GENERIC.glob("*.py"))
    assert {p.name for p in generic} >= {"connector.py", "catalogue.py", "inventory.py", "contract.py"}
    for path in generic:
        source = path.read_text()
        for name in CHANNELS:
            found = re.search(rf"(?<![a-z]){name}(?![a-z])", source, re.IGNORECASE)
            assert found is None, f"{path.name} names the channel {name!r}: {found.group(0)!r}"


def test_a_declaration_of_the_wrong_kind_is_refused_when_the_plugin_is_imported():
    with pytest.raises(TypeError, match="customers: declared as Listing"):
        ChannelReading(entities={"customers": Listing(lambda client: [], "id")})
    with pytest.raises(TypeError, match="orders: its reader is not callable"):
        ChannelReading(entities={"orders": Entity("not a function", "id", "updated")})


class Recorder(BaseHTTPRequestHandler):
    """A store on loopback: answers ``routes[path](query)`` as JSON (404 for a path it does not
    know), keeping each request's path and headers."""

    routes: dict = {}
    seen: list = []

    def do_GET(self):
        url = urlsplit(self.path)
        type(self).seen.append((url.path, dict(self.headers)))
        route = next((answer for prefix, answer in type(self).routes.items() if url.path.startswith(prefix)), None)
        body = None if route is None else route(url.path, parse_qs(url.query))
        data = json.dumps(body).encode()
        self.send_response(404 if body is None else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def store_server():
    handler = type("Store", (Recorder,), {"routes": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_unknown_channel_is_refused_before_anything_is_asked_or_created(settings, store_server):
    handler, url = store_server
    handler.routes = {"/": lambda path, query: []}
    store = ChannelStore("etsy-fr", "etsy", url, {"key": SecretStr("k"), "secret": SecretStr("s")})
    con = warehouse.connect(settings)
    try:
        with pytest.raises(UnknownChannel, match="'etsy'"):
            store.client()
        with pytest.raises(UnknownChannel):
            connector.ingest_channel_store(con, store)
        with pytest.raises(UnknownChannel):
            connector.page_batch(store, [{"id": 1}], None)
        with pytest.raises(UnknownChannel):
            catalogue.sweep_store(con, store)
        with pytest.raises(UnknownChannel):
            inventory.ingest_channel_inventory(con, store, skus={"SKU-1"})
        assert con.sql("select count(*) from duckdb_tables() where table_name like 'etsy%'").fetchall() == [(0,)]
    finally:
        con.close()
    assert handler.seen == []  # not one request, with basic auth or any other


def _toy_plugin() -> types.ModuleType:
    """A channel the generic code has never heard of: orders changed since an instant, one list,
    and stock asked SKU by SKU, remembering the toy's own id of each SKU."""

    def order_pages(client, since, page_size=100):
        _, body = client.request("GET", "/orders", params={"since": since.isoformat(), "limit": page_size})
        yield body

    def shelves(client, page_size=50):
        return client.request("GET", "/shelves")[1]

    def stock(client, page_size, skus, known):
        for sku in sorted(skus or ()):
            body = client.get_or_none(f"/stock/{known.get(sku, 'by-sku/' + sku)}")
            if body is not None:
                yield {"sku": sku, "location_id": "", "available": body["qty"], "payload": body}

    module = types.ModuleType("toy_channel")
    module.READING = ChannelReading(
        entities={"orders": Entity(order_pages, "ref", "changed")},
        catalogue={"locations": Listing(shelves, "code")},
        stock=Stock(stock, page_size=0, needs_skus=True, sku_id_field="toyId"),
    )
    return module


def test_the_generic_modules_land_a_channel_they_have_never_heard_of(settings, store_server, monkeypatch):
    handler, url = store_server
    handler.routes = {
        "/orders": lambda path, query: [
            {"ref": "T-1", "changed": "2024-10-30T10:00:00Z"},
            {"ref": "T-2", "changed": "2024-10-31T09:00:00Z"},
            {"ref": "T-3"},
        ],
        "/shelves": lambda path, query: [{"code": "A"}, {"code": "B"}],
        "/stock/by-sku/SKU-1": lambda path, query: {"toyId": "77", "qty": 4},
        "/stock/77": lambda path, query: {"toyId": "77", "qty": 3},
    }
    monkeypatch.setitem(sys.modules, "toy_channel", _toy_plugin())
    monkeypatch.setitem(CHANNELS, "toy", Channel("toy", Auth(headers={"X-Toy-Token": "{token}"}), ingest="toy_channel"))
    store = ChannelStore("toy-1", "toy", url, {"token": SecretStr("t0k")})
    con = warehouse.connect(settings)
    try:
        [landed] = connector.ingest_channel_store(con, store)
        assert (landed.table, landed.rows_landed, landed.rows_quarantined) == ("raw.toy__orders", 2, 1)
        assert con.sql("select cursor_value from ops.cursors where source = 'toy'").fetchall() == [
            ("2024-10-31T09:00:00",)
        ]
        [swept] = catalogue.sweep_store(con, store)
        assert (swept.table, swept.rows_landed) == ("raw.toy__locations", 2)
        first = inventory.ingest_channel_inventory(con, store, skus={"SKU-1", "SKU-9"})
        second = inventory.ingest_channel_inventory(con, store, skus={"SKU-1", "SKU-9"})
        assert (first.rows_landed, second.rows_landed) == (1, 1)
        assert con.sql(f"select sku, available from {inventory.TABLE} order by observed_at").fetchall() == [
            ("SKU-1", 4),
            ("SKU-1", 3),
        ]
    finally:
        con.close()
    stock_paths = [path for path, _ in handler.seen if path.startswith("/stock/")]
    # the second sweep asks by the id the first one landed: the generic code handed it back
    assert stock_paths == ["/stock/by-sku/SKU-1", "/stock/by-sku/SKU-9", "/stock/77", "/stock/by-sku/SKU-9"]
    assert {headers.get("X-Toy-Token") for _, headers in handler.seen} == {"t0k"}  # the registry's Auth
    assert "raw.toy__orders" in connector.raw_tables() and "raw.toy__locations" in catalogue.tables()
