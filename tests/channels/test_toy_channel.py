"""The documented channel template (docs/adding-a-channel/template/, shown on the page "Adding a
channel") works as a channel: copied into a directory laid out like the repository, with its
registry line registered and its imaginary Toy Shop API served on loopback, the generic ingest
lands it, the write-back engine pushes to it exactly once, and its staging folder joins the dbt
unions. It is also only new files: a channel needs nothing else changed but its registry line
and settings."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import threading
import tomllib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr, ValidationError

import ingest.channels
import writeback.adapters
from afterclick import transform, warehouse
from afterclick.channels import registry
from afterclick.channels.registry import CHANNELS, Auth
from afterclick.channels.store import ChannelStore
from afterclick.errors import ChannelRefused
from afterclick.settings import ChannelStoreSettings
from ingest.channels import catalogue, connector, inventory
from writeback import engine, run

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "adding-a-channel" / "template"
SNIPPETS = TEMPLATE / "snippets"
PAGE = ROOT / "docs" / "adding-a-channel.md"
TOKEN = "t0k"
NOW = datetime(2026, 11, 1, 12, 0)
PLUGINS = ("ingest.channels.toy", "writeback.adapters.toy")


def template_files() -> set[Path]:
    """The template's files, relative to the template (the snippets apart): where each goes in
    the repository."""
    return {
        p.relative_to(TEMPLATE)
        for p in TEMPLATE.rglob("*")
        if p.is_file() and SNIPPETS not in p.parents and "__pycache__" not in p.parts
    }


def registry_line() -> registry.Channel:
    """The template's registry line, as the registry's own ``CHANNELS`` tuple reads it."""
    [line] = eval(SNIPPETS.joinpath("registry.py").read_text(), {"_line": registry._line, "Auth": Auth})
    return line


# ---- the Toy Shop API on loopback (the one docs/adding-a-channel.md describes) --------------------


def _order(oid: str | None, updated: str, status: str = "paid", lines: int = 2) -> dict:
    order = {
        "number": f"T-{oid}",
        "email": "Ana@Example.com",
        "customer_id": "c-1",
        "currency": "EUR",
        "created_at": "2026-10-29T09:00:00Z",
        "paid_at": "2026-10-29T09:05:00Z",
        "updated_at": updated,
        "status": status,
        "discount": "2.00",
        "shipping": "4.90",
        "tax": "0.00",
        "lines": [
            {"id": n, "sku": f"SKU-{n}", "quantity": n, "price": "10.00", "total": f"{10 * n:.2f}", "discount": "1.00"}
            for n in range(1, lines + 1)
        ],
    }
    order["total"] = f"{sum(10 * n for n in range(1, lines + 1)) - 2 + 4.90:.2f}"
    return order if oid is None else {"id": oid, **order}


class ToyShop:
    """What the store holds, and every request it received: (method, path, query, body)."""

    def __init__(self):
        self.orders = [
            _order(None, "2026-10-29T08:00:00Z"),  # no id: quarantined, never landed
            _order("1001", "2026-10-30T10:00:00Z"),
            _order("1002", "2026-10-30T11:00:00Z", "cancelled", lines=1),
            _order("1003", "2026-10-31T09:00:00Z"),
        ]
        self.products = {
            "SKU-1": {"id": "p1", "sku": "SKU-1", "title": "Red kite", "price": "10.00", "stock": 5},
            "SKU-2": {"id": "p2", "sku": "SKU-2", "title": "Blue kite", "price": "10.00", "stock": 0},
        }
        self.received: list[tuple[str, str, dict, dict | None]] = []
        self.lock = threading.Lock()

    def order(self, oid: str) -> dict | None:
        return next((o for o in self.orders if o.get("id") == oid), None)

    def answer(self, method: str, path: str, query: dict, body: dict | None) -> tuple[int, object]:
        parts = path.strip("/").split("/")  # api, products|orders, [id], [stock|status]
        if method == "GET" and path == "/api/orders":
            since = datetime.fromisoformat(query["updated_since"])
            changed = sorted(
                (o for o in self.orders if datetime.fromisoformat(o["updated_at"]) >= since),
                key=lambda o: (datetime.fromisoformat(o["updated_at"]), o.get("id", "")),
            )
            return 200, self._page("orders", changed, query)
        if method == "GET" and path == "/api/products":
            return 200, self._page("products", sorted(self.products.values(), key=lambda p: p["id"]), query)
        if parts[:2] == ["api", "orders"] and len(parts) >= 3 and (order := self.order(parts[2])) is not None:
            if method == "GET" and len(parts) == 3:
                return 200, order
            if method == "PUT" and parts[3:] == ["status"]:
                order["status"] = body["status"]
                return 200, order
        if parts[:2] == ["api", "products"] and len(parts) >= 3 and (product := self.products.get(parts[2])):
            if method == "GET" and len(parts) == 3:
                return 200, product
            if method == "PUT" and parts[3:] == ["stock"]:
                product["stock"] = body["stock"]
                return 200, product
        return 404, {"error": f"no {path}"}

    @staticmethod
    def _page(name: str, records: list[dict], query: dict) -> dict:
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "100"))
        return {name: records[(page - 1) * per_page : page * per_page], "more": len(records) > page * per_page}

    def writes(self) -> list[tuple[str, str, dict | None]]:
        return [(method, path, body) for method, path, _, body in self.received if method != "GET"]


def _handler(shop: ToyShop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with shop.lock:
                shop.received.append((self.command, url.path, query, body))
                status, answer = (
                    (401, {"error": "bad token"})
                    if self.headers.get("X-Toy-Token") != TOKEN
                    else shop.answer(self.command, url.path, query, body)
                )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _serve

        def log_message(self, *args):
            pass

    return Handler


@dataclass
class Toy:
    repo: Path  # the template copied into a directory laid out like the repository
    shop: ToyShop
    url: str

    def store(self, token: str = TOKEN, **reader_options) -> ChannelStore:
        return ChannelStore("toy-es", "toy", self.url, {"token": SecretStr(token)}, reader_options=reader_options)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The template installed as the channel ``toy`` (its packages on the import path of
    ``ingest.channels`` and ``writeback.adapters``, its registry line in ``CHANNELS``), and its
    Toy Shop served on loopback."""
    repo = tmp_path / "repo"
    shutil.copytree(TEMPLATE, repo, ignore=shutil.ignore_patterns("snippets", "__pycache__"))
    monkeypatch.setattr(ingest.channels, "__path__", [*ingest.channels.__path__, str(repo / "ingest" / "channels")])
    monkeypatch.setattr(
        writeback.adapters, "__path__", [*writeback.adapters.__path__, str(repo / "writeback" / "adapters")]
    )
    monkeypatch.setitem(CHANNELS, "toy", registry_line())
    shop = ToyShop()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(shop))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Toy(repo, shop, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for name in [m for m in sys.modules if m.startswith(PLUGINS)]:
            del sys.modules[name]


# ---- the template is a channel's own new files -----------------------------------------------------


def test_the_template_is_only_new_files_and_one_registry_line():
    files = template_files()
    assert {
        Path("ingest/channels/toy/__init__.py"),
        Path("writeback/adapters/toy/__init__.py"),
        Path("dbt/models/staging/toy/stg_toy__orders.sql"),
        Path("dbt/models/staging/toy/stg_toy__order_lines.sql"),
    } <= files
    assert [str(p) for p in sorted(files) if (ROOT / p).exists()] == []  # no existing file is replaced
    assert {p.parts[:3] if p.parts[0] != "dbt" else p.parts[:4] for p in files} == {
        ("ingest", "channels", "toy"),
        ("writeback", "adapters", "toy"),
        ("dbt", "models", "staging", "toy"),
    }
    assert not any((ROOT / Path(*p.parts[:-1])).exists() for p in files)  # in new folders, not added to others
    # the changes to existing files are the registry line and the settings
    assert sorted(p.name for p in SNIPPETS.iterdir() if p.is_file()) == ["afterclick.toml", "registry.py"]
    assert len(SNIPPETS.joinpath("registry.py").read_text().strip().splitlines()) == 1
    line = registry_line()
    assert (line.name, line.ingest, line.writeback) == ("toy", "ingest.channels.toy", "writeback.adapters.toy")
    assert line.auth.credentials == ("token",)
    assert "toy" not in CHANNELS
    with pytest.raises(ModuleNotFoundError):  # the product does not ship the template
        importlib.import_module("ingest.channels.toy")


def test_the_settings_snippet_configures_a_store_of_the_registered_channel(monkeypatch):
    [(store_id, cfg)] = tomllib.loads(SNIPPETS.joinpath("afterclick.toml").read_text())["channel_stores"].items()
    with pytest.raises(ValidationError, match="unknown channel 'toy'"):  # its registry line is needed
        ChannelStoreSettings(**cfg, credentials={"token": "x"})
    monkeypatch.setitem(CHANNELS, "toy", registry_line())
    store = ChannelStoreSettings(**cfg, credentials={"token": "x"})  # the credentials the Auth names
    assert (store_id, store.channel, store.rate) == ("toy-es", "toy", 5.0)
    with pytest.raises(ValidationError, match="toy needs credentials token"):
        ChannelStoreSettings(**cfg)


def test_the_page_shows_every_template_file_by_inclusion():
    included = set(re.findall(r'^--8<-- "([^"]+)"$', PAGE.read_text(), re.MULTILINE))
    shown = {p for p in included if p.startswith("docs/adding-a-channel/template/")}
    everything = {f"docs/adding-a-channel/template/{p}" for p in template_files()}
    everything |= {f"docs/adding-a-channel/template/snippets/{p.name}" for p in SNIPPETS.iterdir()}
    assert shown == everything


# ---- (a) landing ----------------------------------------------------------------------------------


def _order_requests(shop: ToyShop) -> list[str]:
    return [query["updated_since"] for method, path, query, _ in shop.received if path == "/api/orders"]


def test_the_toy_channel_lands_its_orders_products_and_stock_incrementally(settings, toy):
    con = warehouse.connect(settings)
    try:
        with pytest.raises(ChannelRefused, match="toy-es"):  # a wrong token: refused, nothing landed
            connector.ingest_channel_store(con, toy.store("wrong"))
        assert con.sql("select count(*) from raw.toy__orders").fetchall() == [(0,)]

        store = toy.store(page_size=2)  # small pages: paged by position through the boundary
        toy.shop.received.clear()
        first = connector.ingest_channel_store(con, store)
        assert {landed.table for landed in first} == {"raw.toy__orders"}
        assert (sum(x.rows_landed for x in first), sum(x.rows_quarantined for x in first)) == (3, 1)
        assert con.sql("select id, updated_at from raw.toy__orders order by id").fetchall() == [
            ("1001", datetime(2026, 10, 30, 10)),
            ("1002", datetime(2026, 10, 30, 11)),
            ("1003", datetime(2026, 10, 31, 9)),
        ]
        assert con.sql("select store, entity, reason from ops.quarantine where source = 'toy'").fetchall() == [
            ("toy-es", "orders", "orders record without id")
        ]
        assert con.sql(
            "select store, cursor_value from ops.cursors where source = 'toy' and entity = 'orders'"
        ).fetchall() == [("toy-es", "2026-10-31T09:00:00")]
        assert _order_requests(toy.shop) == [  # from the start, then from the newest change read
            "2000-01-01T00:00:00Z",
            "2026-10-30T10:00:00Z",
            "2026-10-30T11:00:00Z",
        ]

        toy.shop.received.clear()
        again = connector.ingest_channel_store(con, store)
        assert (sum(x.rows_landed for x in again), sum(x.rows_quarantined for x in again)) == (0, 0)
        assert _order_requests(toy.shop) == ["2026-10-31T08:50:00Z"]  # the cursor minus the look-back

        toy.shop.order("1003")["updated_at"], toy.shop.order("1003")["status"] = "2026-11-01T08:00:00Z", "shipped"
        [changed] = connector.ingest_channel_store(con, store)
        assert (changed.rows_landed, changed.rows_quarantined) == (1, 0)
        assert con.sql("select cursor_value from ops.cursors where source = 'toy'").fetchall() == [
            ("2026-11-01T08:00:00",)
        ]

        [products] = catalogue.sweep_store(con, store)
        levels = inventory.ingest_channel_inventory(con, store)
        assert (products.table, products.rows_landed, levels.rows_landed) == ("raw.toy__products", 2, 2)
        toy.shop.products["SKU-1"]["stock"] = 4  # only the stock changes
        [products] = catalogue.sweep_store(con, store)
        levels = inventory.ingest_channel_inventory(con, store)
        assert (products.rows_landed, levels.rows_landed) == (0, 1)
        assert con.sql(
            f"select sku, location_id, available from {inventory.TABLE} where _store = 'toy-es' "
            "order by observed_at, sku"
        ).fetchall() == [("SKU-1", "", 5), ("SKU-2", "", 0), ("SKU-1", "", 4)]
    finally:
        con.close()
    assert "raw.toy__orders" in connector.raw_tables() and "raw.toy__products" in catalogue.tables()


# ---- (b) write-back -------------------------------------------------------------------------------


def _desire(con, stock: int) -> None:
    """What the warehouse wants in the toy store: the ``wb_*`` models' rows, as dbt builds them."""
    con.execute("create schema if not exists writeback")
    con.execute(
        "create or replace table writeback.wb_stock as select * from (values "
        "('stock:toy-es:SKU-1', 'toy-es', 'toy', 'SKU-1', '', ?)) "
        "as t(writeback_key, store_id, channel, sku, location_id, quantity)",
        [stock],
    )
    con.execute(
        "create or replace table writeback.wb_order_status as select * from (values "
        "('status:toy-es:1001', 'toy-es', 'toy', '1001', 'shipped', cast(null as timestamp)), "
        "('status:toy-es:1002', 'toy-es', 'toy', '1002', 'canceled', null), "
        "('status:toy-es:1003', 'toy-es', 'toy', '1003', 'invoiced', null)) "
        "as t(writeback_key, store_id, channel, channel_order_id, afterclick_status, delivered_at)"
    )


def _push(con, toy: Toy, after_call=None) -> list[tuple]:
    make = run.adapter_factory({"toy-es": toy.store()}, None, 5.0)
    report = engine.push(con, make, ["stock", "status"], NOW, backoff_seconds=0.0, after_call=after_call)
    return [(t.kind, t.target, t.pushed, t.recovered, t.failed, t.dead, t.skipped) for t in report.targets]


def test_the_toy_channel_takes_stock_and_status_exactly_once(settings, toy, monkeypatch):
    monkeypatch.setattr(run, "ADAPTERS", run.channel_adapters())  # found through the registry line
    assert {kind: adapters["toy"].__module__ for kind, adapters in run.ADAPTERS.items() if "toy" in adapters} == {
        "stock": "writeback.adapters.toy.stock",
        "status": "writeback.adapters.toy.orders",
    }
    con = warehouse.connect(settings)
    try:
        _desire(con, stock=7)
        assert _push(con, toy) == [("stock", "toy-es", 1, 0, 0, 0, None), ("status", "toy-es", 3, 0, 0, 0, None)]
        assert toy.shop.writes() == [
            ("PUT", "/api/products/SKU-1/stock", {"stock": 7}),
            ("PUT", "/api/orders/1001/status", {"status": "shipped"}),
        ]
        # read before writing: 1002 already shows cancelled (asked, not written); 1003's invoiced is
        # not shown by Toy Shop (not even asked)
        asked = {path for method, path, _, _ in toy.shop.received if method == "GET"}
        assert asked == {"/api/orders/1001", "/api/orders/1002"}
        assert (toy.shop.products["SKU-1"]["stock"], toy.shop.order("1001")["status"]) == (7, "shipped")
        assert con.sql(
            "select kind, change_key, status from ops.writeback_ledger where store_id = 'toy-es' "
            "order by kind, change_key"
        ).fetchall() == [
            ("status", "status:toy-es:1001", "confirmed"),
            ("status", "status:toy-es:1002", "confirmed"),
            ("status", "status:toy-es:1003", "confirmed"),
            ("stock", "stock:toy-es:SKU-1", "confirmed"),
        ]

        seen = len(toy.shop.received)
        assert _push(con, toy) == [("stock", "toy-es", 0, 0, 0, 0, None), ("status", "toy-es", 0, 0, 0, 0, None)]
        assert len(toy.shop.received) == seen  # nothing changed: not one request

        # a crash between the call and its confirmation: the next push reads back, sends nothing again
        _desire(con, stock=9)

        def crash(batch):
            raise RuntimeError("killed after the call")

        assert _push(con, toy, after_call=crash) == [
            ("stock", "toy-es", 0, 0, 0, 0, "RuntimeError: killed after the call"),
            ("status", "toy-es", 0, 0, 0, 0, None),
        ]
        assert con.sql("select status from ops.writeback_ledger where kind = 'stock'").fetchall() == [("pending",)]
        assert _push(con, toy) == [("stock", "toy-es", 0, 1, 0, 0, None), ("status", "toy-es", 0, 0, 0, 0, None)]
        assert toy.shop.writes()[2:] == [("PUT", "/api/products/SKU-1/stock", {"stock": 9})]  # once
        assert con.sql("select status from ops.writeback_ledger where kind = 'stock'").fetchall() == [("confirmed",)]
    finally:
        con.close()


# ---- (c) dbt --------------------------------------------------------------------------------------


def test_the_toy_staging_folder_joins_the_unions_by_its_file_names(settings, toy, tmp_path, monkeypatch):
    project = tmp_path / "dbt"
    shutil.copytree(
        transform.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
    )
    shutil.copytree(toy.repo / "dbt" / "models" / "staging" / "toy", project / "models" / "staging" / "toy")
    monkeypatch.setattr(transform, "DBT_PROJECT_DIR", project)
    settings.dbt_docs = False
    con = warehouse.connect(settings)
    try:
        connector.ingest_channel_store(con, toy.store())
    finally:
        con.close()

    built = transform.run_dbt(settings, "build", select="stg_toy__orders stg_toy__order_lines")
    assert built.status == "success", built.errors
    assert (built.models_built, built.tests_passed, built.tests_failed) == (2, 3, 0)
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        assert con.sql(
            "select order_key, channel, customer_email, placed_at, canceled_at, channel_status, "
            "gross_amount, discount_amount, total_amount from staging.stg_toy__orders "
            "order by order_key"
        ).fetchall() == [
            (
                "toy-es:1001",
                "toy",
                "ana@example.com",
                datetime(2026, 10, 29, 9),
                None,
                "paid",
                Decimal("30.00"),
                Decimal("2.00"),
                Decimal("32.90"),
            ),
            (
                "toy-es:1002",
                "toy",
                "ana@example.com",
                datetime(2026, 10, 29, 9),
                datetime(2026, 10, 30, 11),
                "cancelled",
                Decimal("10.00"),
                Decimal("2.00"),
                Decimal("12.90"),
            ),
            (
                "toy-es:1003",
                "toy",
                "ana@example.com",
                datetime(2026, 10, 29, 9),
                None,
                "paid",
                Decimal("30.00"),
                Decimal("2.00"),
                Decimal("32.90"),
            ),
        ]
        assert con.sql(
            "select order_line_key, line_number, sku, quantity, gross_amount "
            "from staging.stg_toy__order_lines where order_key = 'toy-es:1001' order by 1"
        ).fetchall() == [
            ("toy-es:1001:1", 1, "SKU-1", 1, Decimal("10.00")),
            ("toy-es:1001:2", 2, "SKU-2", 2, Decimal("20.00")),
        ]

    compiled = transform.run_dbt(settings, "compile", select="int_orders_unioned int_order_lines_unioned")
    assert compiled.status == "success", compiled.errors
    nodes = json.loads((settings.dbt_target_dir / "manifest.json").read_text())["nodes"]
    for union, model in (
        ("int_orders_unioned", "stg_toy__orders"),
        ("int_order_lines_unioned", "stg_toy__order_lines"),
    ):
        node = nodes[f"model.afterclick.{union}"]
        assert f"model.afterclick.{model}" in node["depends_on"]["nodes"]
        assert re.search(rf"from \S*\bstg_toy__{model.split('__')[1]}\b", node["compiled_code"]), union
