"""Each channel's write-back is a plugin: its package ``writeback/adapters/<name>/`` declares the
adapter of every kind it takes (``ADAPTERS``), the push finds them through the channel registry,
and the generic write-back names no channel. The order status is afterclick's in the warehouse;
each channel's status adapter says what it is called on the channel, and sends nothing for a
status the channel does not show."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from afterclick.channels.registry import CHANNELS
from afterclick.channels.store import ChannelStore
from writeback import run
from writeback.adapters.base import Adapter
from writeback.adapters.order_status import AFTERCLICK_STATUSES
from writeback.ledger import Change

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("stock", "prices", "tracking", "status")

# what each channel shows for afterclick's status (docs/writeback/index.md, "Order status on each channel"); absent:
# the channel shows nothing for it (VTEX: invoiced follows the tracking push, refunds are its own)
DOCUMENTED_STATUSES = {
    "shopify": {
        "invoiced": "UNFULFILLED",
        "shipped": "FULFILLED",
        "delivered": "CLOSED",
        "refunded": "CLOSED",
        "canceled": "CANCELLED",
    },
    "vtex": {"delivered": "delivered", "canceled": "canceled"},
    # Magento's other states follow its own documents (invoice, shipments, credit memos)
    "magento": {"canceled": "canceled"},
    "woocommerce": {
        "invoiced": "processing",
        "shipped": "completed",
        "delivered": "completed",
        "refunded": "refunded",
        "canceled": "cancelled",
    },
}


def _store(name: str, store_id: str | None = None, base_url: str = "http://127.0.0.1:9") -> ChannelStore:
    """A store of channel ``name`` with placeholder credentials (adapters are built, not called)."""
    credentials = {c: SecretStr("x") for c in CHANNELS[name].auth.credentials}
    return ChannelStore(store_id or f"{name}-1", name, base_url, credentials)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_every_registered_channel_declares_adapters_that_implement_the_adapter_protocol(name):
    plugin = CHANNELS[name].writeback_module()
    assert plugin.__name__ == f"writeback.adapters.{name}"
    assert plugin.ADAPTERS and set(plugin.ADAPTERS) <= set(KINDS), plugin.ADAPTERS
    store = _store(name)
    make = run.adapter_factory({store.store_id: store}, None, 5.0, calls_in_flight=3)
    members = [m for m in Adapter.__annotations__] + ["push", "read_back", "close"]
    for kind, adapter_class in plugin.ADAPTERS.items():
        assert run.ADAPTERS[kind][name] is adapter_class  # the push finds it through the registry
        adapter = make(kind, store.store_id, name)
        try:
            assert isinstance(adapter, adapter_class)
            assert all(hasattr(adapter, m) for m in members), (kind, [m for m in members if not hasattr(adapter, m)])
            assert (adapter.kind, adapter.channel, adapter.store_id) == (kind, name, store.store_id)
            assert isinstance(adapter.batch_size, int) and adapter.batch_size > 0
            assert all(callable(getattr(adapter, m)) for m in ("push", "read_back", "close"))
            if hasattr(adapter, "in_flight"):
                assert adapter.in_flight == 3
        finally:
            adapter.close()


def test_a_kind_a_channel_does_not_take_has_no_adapter_and_a_store_without_a_connection_none():
    store = _store("shopify")
    make = run.adapter_factory({store.store_id: store}, None, 5.0)
    assert make("carrier_file", store.store_id, "shopify") is None
    assert make("stock", "nowhere-1", "shopify") is None
    assert make("notification", "email", "email") is None  # no SMTP server configured


def test_adapters_that_ask_for_it_share_one_cache_per_target_for_a_push(monkeypatch):
    class Caching:
        kind, channel, batch_size, shares_target_cache = "stock", "vtex", 10, True

        def __init__(self, store, timeout, cache):
            self.store_id, self.cache = store.store_id, cache

    class Plain:
        kind, channel, batch_size = "prices", "vtex", 10

        def __init__(self, store, timeout):
            self.store_id = store.store_id

    monkeypatch.setitem(run.ADAPTERS["stock"], "vtex", Caching)
    monkeypatch.setitem(run.ADAPTERS["prices"], "vtex", Caching)
    monkeypatch.setitem(run.ADAPTERS["tracking"], "vtex", Plain)
    stores = {s.store_id: s for s in (_store("vtex", "vtex-a"), _store("vtex", "vtex-b"))}
    make = run.adapter_factory(stores, None, 5.0)
    a_stock, a_prices = make("stock", "vtex-a", "vtex"), make("prices", "vtex-a", "vtex")
    b_stock = make("stock", "vtex-b", "vtex")
    assert a_stock.cache is a_prices.cache  # one target's adapters share it
    assert a_stock.cache is not b_stock.cache  # another target has its own
    assert not hasattr(make("tracking", "vtex-a", "vtex"), "cache")  # one that does not ask gets none
    assert run.adapter_factory(stores, None, 5.0)("stock", "vtex-a", "vtex").cache is not a_stock.cache  # per push


def test_no_generic_write_back_module_names_a_channel():
    plugins = {ROOT / "writeback" / "adapters" / name for name in CHANNELS}
    generic = [p for p in sorted((ROOT / "writeback").rglob("*.py")) if not plugins & set(p.parents)]
    assert ROOT / "writeback" / "run.py" in generic and ROOT / "writeback" / "adapters" / "base.py" in generic
    named = {
        str(p.relative_to(ROOT)): sorted(n for n in CHANNELS if re.search(n, p.read_text(), re.IGNORECASE))
        for p in generic
    }
    assert {p: n for p, n in named.items() if n} == {}


def test_the_order_status_model_carries_afterclicks_status_only():
    sql = (ROOT / "dbt" / "models" / "writeback" / "wb_order_status.sql").read_text()
    assert not [n for n in CHANNELS if re.search(n, sql, re.IGNORECASE)]
    models = yaml.safe_load((ROOT / "dbt" / "models" / "writeback" / "_writeback__models.yml").read_text())["models"]
    [model] = [m for m in models if m["name"] == "wb_order_status"]
    [column] = [c for c in model["columns"] if c["name"] == "afterclick_status"]
    [accepted] = [t["accepted_values"] for t in column["data_tests"] if "accepted_values" in t]
    assert sorted(accepted["arguments"]["values"]) == sorted(AFTERCLICK_STATUSES)
    assert "channel_status" not in {c["name"] for c in model["columns"]}


@pytest.mark.parametrize("name", list(CHANNELS))
def test_each_channels_status_adapter_gives_its_documented_statuses(name):
    status = CHANNELS[name].writeback_module().ADAPTERS["status"]
    assert {s: status.channel_status(s) for s in AFTERCLICK_STATUSES} == {
        s: DOCUMENTED_STATUSES[name].get(s) for s in AFTERCLICK_STATUSES
    }


def test_the_documented_statuses_are_the_ones_the_docs_show():
    page = (ROOT / "docs" / "writeback" / "index.md").read_text()
    rows = [
        line
        for line in page.splitlines()
        if line.startswith("| `") and line.split("|")[1].strip(" `") in AFTERCLICK_STATUSES
    ]
    shown = {
        cells[0].strip(" `"): [c.strip(" `") for c in cells[1:5]] for cells in (r.strip("|").split("|") for r in rows)
    }
    assert set(shown) == set(AFTERCLICK_STATUSES)
    for i, name in enumerate(("shopify", "vtex", "magento", "woocommerce")):
        assert {s: cells[i] for s, cells in shown.items() if cells[i] != "—"} == DOCUMENTED_STATUSES[name], name


# ---- a status the channel does not show: nothing sent -------------------------------------------


@contextmanager
def _vtex_store() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A VTEX OMS on loopback that records every request; order ``1`` is invoiced, not canceled."""
    seen: list[tuple[str, str]] = []
    order = {
        "orderId": "1",
        "status": "invoiced",
        "packageAttachment": {"packages": [{"type": "Output", "invoiceNumber": "SHP-1", "courierStatus": None}]},
    }

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body) -> None:
            seen.append((self.command, self.path))
            if self.headers.get("Content-Length"):
                self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._answer(order if self.path == "/api/oms/pvt/orders/1" else None)

        def do_POST(self):
            if self.path == "/api/oms/pvt/orders/1/cancel":
                order["status"] = "canceled"
            self._answer({})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _status(key: str, afterclick_status: str) -> Change:
    return Change(
        "status",
        "vtex-1",
        "vtex",
        key,
        {"channel_order_id": "1", "afterclick_status": afterclick_status, "delivered_at": None},
    )


def test_a_status_the_channel_does_not_show_is_confirmed_without_a_request_and_the_others_are_sent():
    with _vtex_store() as (url, seen):
        store = _store("vtex", "vtex-1", url)
        adapter = run.adapter_factory({"vtex-1": store}, None, 5.0)("status", "vtex-1", "vtex")
        try:
            quiet = [_status("a", "invoiced"), _status("b", "shipped"), _status("c", "refunded")]
            assert [(o.change.key, o.ok, o.error) for o in adapter.push(quiet)] == [
                ("a", True, None),
                ("b", True, None),
                ("c", True, None),
            ]
            assert adapter.read_back(quiet) == {c.key: c.payload for c in quiet}
            assert seen == []  # not one request

            mixed = [_status("d", "shipped"), _status("e", "canceled")]
            assert [(o.change.key, o.ok) for o in adapter.push(mixed)] == [("d", True), ("e", True)]
            assert seen == [("GET", "/api/oms/pvt/orders/1"), ("POST", "/api/oms/pvt/orders/1/cancel")]
            assert set(adapter.read_back(mixed)) == {"d", "e"}  # the cancel is held now
        finally:
            adapter.close()
