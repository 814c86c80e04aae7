"""Records built from the channels' published API specs (../shared/api-specs), not from the
connectors' own reading of them, and a small store on loopback to serve them.

- ``example(schema, doc, full=...)``: a deterministic object of a JSON schema (Swagger 2 / OpenAPI
  3, ``$ref`` resolved): the required properties only (minimal) or every property (full); strings
  that hold a time get one of the platforms' timestamp forms.
- ``generated(schema, n)``: ``n`` objects drawn by hypothesis-jsonschema, derandomized.
- ``STAMP_FORMS`` / ``stamped(i)``: every timestamp spelling the platforms send, cycled over
  distinct instants, with the UTC instant each one means (the server's own reading).
- ``Loopback``: an HTTP server on 127.0.0.1 (any free port) in a thread, answering through
  ``answer(method, path, query, body)`` and recording every request.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from demo.emulators import spec

# ---- timestamps ------------------------------------------------------------------------------


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_offset(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _minus_three(t: datetime) -> str:  # the same instant as a store three hours west of UTC spells it
    return (t - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S-03:00")


def _millis_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _ticks(t: datetime) -> str:  # .NET's 7 fraction digits (VTEX); the 7th is below a microsecond
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "7+00:00"


def _naive_t(t: datetime) -> str:  # WooCommerce's ``_gmt`` fields: naive, UTC
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def _naive_space(t: datetime) -> str:  # Magento: ``YYYY-MM-DD HH:MM:SS``, naive UTC
    return t.strftime("%Y-%m-%d %H:%M:%S")


# name -> (spelling of a UTC instant, the fraction of a second the spelling keeps, in microseconds)
STAMP_FORMS: dict[str, tuple[Callable[[datetime], str], int]] = {
    "Z": (_z, 0),
    "+00:00": (_utc_offset, 0),
    "-03:00": (_minus_three, 0),
    "fraction 3 digits": (_millis_z, 123_000),
    "fraction 7 digits": (_ticks, 123_456),
    "naive T": (_naive_t, 0),
    "naive space": (_naive_space, 0),
}
FIRST_STAMP = datetime(2024, 3, 1, 12, 0)
OLD_STAMP = "2023-12-31T23:00:00Z"  # the other time fields of a record: before every cursor stamp


def stamped(i: int) -> tuple[str, datetime]:
    """The ``i``-th cursor stamp: distinct instants an hour and a second apart, spelled in each of
    ``STAMP_FORMS`` in turn; (spelling, the naive UTC instant it means)."""
    spell, fraction = list(STAMP_FORMS.values())[i % len(STAMP_FORMS)]
    utc = FIRST_STAMP + timedelta(hours=i, seconds=i, microseconds=fraction)
    return spell(utc), utc


def server_time(value) -> datetime | None:
    """The store's own reading of a stamp (not the reader's under test): naive UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


# ---- objects of a schema ---------------------------------------------------------------------


def require(name: str):
    """The spec's document (Shopify: its schema), or skip the test when ../shared/api-specs is not here."""
    if not spec.available(name):
        pytest.skip("../shared/api-specs is not here")
    return spec.shopify_schema() if name == "shopify" else spec.document(name)


def resolved(schema: dict, doc: dict, depth: int = 0, max_depth: int = 6) -> dict:
    """The schema with every local ``$ref`` inlined (``allOf`` merged), nested objects cut off at
    ``max_depth`` (an empty object: the specs recurse, e.g. Magento's extension attributes)."""
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolved(part, doc, depth, max_depth)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        schema = merged
    out = {k: v for k, v in schema.items() if k in ("type", "enum", "format", "required", "nullable")}
    if "properties" in schema or schema.get("type") == "object":
        if depth >= max_depth:
            return {"type": "object"}
        out["type"] = "object"
        out["properties"] = {k: resolved(v, doc, depth + 1, max_depth) for k, v in schema.get("properties", {}).items()}
    if schema.get("type") == "array" or "items" in schema:
        out["type"] = "array"
        out["items"] = resolved(schema.get("items", {}), doc, depth + 1, max_depth)
    return out


def is_time_field(name: str, schema: dict) -> bool:
    return (
        schema.get("format") == "date-time"
        or name.endswith(("_at", "_gmt", "Date", "At"))
        or name.startswith("date_")
        or name in ("lastChange", "creationDate")
    )


def example(schema: dict, doc: dict, *, full: bool, name: str = "", stamp: str = OLD_STAMP):
    """A deterministic object of ``schema``: required properties only, nullable ones null
    (``full=False``), or all of them filled; arrays empty (minimal) or of one item (full); time
    strings as ``stamp``."""
    schema = resolved(schema, doc)
    kind = schema.get("type")
    if schema.get("nullable") and not full:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        keys = list(props) if full else [k for k in schema.get("required", []) if k in props]
        return {k: example(props[k], doc, full=full, name=k, stamp=stamp) for k in keys}
    if kind == "array":
        return [example(schema.get("items", {}), doc, full=full, name=name, stamp=stamp)] if full else []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return stamp if is_time_field(name, schema) else f"{name or 'text'}"
    return None


def generated(schema: dict, doc: dict, n: int) -> list[dict]:
    """``n`` objects of ``schema`` drawn by hypothesis, the same every run (derandomized, bounded,
    no example database): objects and arrays by plain hypothesis strategies over the schema resolved
    to a bounded depth (the specs' schemas are deep and recursive), their scalar fields by
    hypothesis-jsonschema."""
    from hypothesis import HealthCheck, Phase, given, settings

    drawn: list = []

    @settings(
        derandomize=True,
        database=None,
        max_examples=n,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_strategy(resolved(schema, doc, max_depth=3)))
    def collect(value):
        drawn.append(value)

    collect()
    return [copy.deepcopy(d) for d in drawn[:n]]


def _strategy(schema: dict):
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    kind = schema.get("type")
    if kind == "object":
        props, required = schema.get("properties", {}), set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: _strategy(v) for k, v in props.items() if k in required},
            optional={k: _strategy(v) for k, v in props.items() if k not in required},
        )
    if kind == "array":
        return st.lists(_strategy(schema.get("items", {})), max_size=2)
    if kind is None and not schema.get("enum"):
        return st.none()
    leaf = {k: v for k, v in schema.items() if k in ("type", "enum")}
    if schema.get("nullable") and "type" in leaf:
        leaf["type"] = [leaf["type"], "null"]
    return from_schema(leaf)


# ---- the loopback store ----------------------------------------------------------------------


class Loopback:
    """An HTTP store on loopback: ``answer(method, path, query, body)`` gives (status, body,
    headers); every request is kept in ``requests`` as (method, path, query)."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, method: str, path: str, query: dict, body) -> tuple[int, object, dict]:
        raise NotImplementedError

    def _handler(self):
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                store.requests.append((method, url.path, query))
                status, answer, headers = store.answer(method, url.path, query, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, str(value))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


# ---- the stores: each answers its reader's list requests from the records it holds ---------------

UNDATED = datetime(2000, 1, 1, 0, 0, 1)  # where a store sorts a record without a readable stamp


class ListStore(Loopback):
    """A store holding ``records`` per list path, each with its cursor field ``stamp_field``:
    keeps the records changed since a query's instant, oldest first, and pages them."""

    def __init__(self, records: dict[str, list[dict]], stamp_field: str):
        super().__init__()
        self.records, self.stamp_field = records, stamp_field
        self.served: list[tuple[str, list]] = []  # (path, the records of each answer)

    def when(self, record: dict) -> datetime:
        return server_time(record.get(self.stamp_field)) or UNDATED

    def changed(self, path: str, since: datetime | None, inclusive: bool) -> list[dict]:
        kept = [
            r
            for r in self.records[path]
            if since is None or self.when(r) > since or (inclusive and self.when(r) == since)
        ]
        return sorted(kept, key=self.when)


class MagentoStore(ListStore):
    """Magento's search-criteria lists: an ``updated_at`` gteq filter, ``pageSize`` and
    ``currentPage``, ``{items, search_criteria, total_count}`` (past the end: the last page again)."""

    def __init__(self, records: dict[str, list[dict]]):
        super().__init__(records, "updated_at")

    def answer(self, method, path, query, body):
        if path not in self.records:
            return 404, {"message": "Request does not match any route."}, {}
        f = "searchCriteria[filter_groups][0][filters][0]"
        since = None
        if query.get(f"{f}[field]") == "updated_at":
            assert query[f"{f}[condition_type]"] == "gteq"
            since = datetime.strptime(query[f"{f}[value]"], "%Y-%m-%d %H:%M:%S")
        items = self.changed(path, since, inclusive=True)
        size, page = int(query["searchCriteria[pageSize]"]), int(query["searchCriteria[currentPage]"])
        pages = max(1, -(-len(items) // size))
        page_items = items[(min(page, pages) - 1) * size : min(page, pages) * size]
        self.served.append((path, page_items))
        return (
            200,
            {
                "items": page_items,
                "total_count": len(items),
                "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
            },
            {},
        )


class WooStore(ListStore):
    """WooCommerce wc/v3: orders by ``modified_after`` (exclusive, UTC as the reader asks), pages
    with ``X-WP-Total``/``X-WP-TotalPages``; the refunds of an order; customers by id."""

    def __init__(self, orders: list[dict], customers: list[dict] = (), refunds: dict[int, list[dict]] | None = None):
        super().__init__(
            {"/wp-json/wc/v3/orders": orders, "/wp-json/wc/v3/customers": list(customers)}, "date_modified_gmt"
        )
        self.refunds = refunds or {}

    def answer(self, method, path, query, body):
        if path.endswith("/refunds"):
            order_id = int(path.split("/")[-2])
            return 200, self.refunds.get(order_id, []), {}
        if path not in self.records:
            return 404, {"code": "rest_no_route"}, {}
        if path.endswith("/orders"):
            since = server_time(query.get("modified_after"))
            items = self.changed(path, since, inclusive=False)
        else:
            items = sorted(self.records[path], key=lambda r: (r.get("id") is not None, r.get("id") or 0))
        size, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        pages = max(1, -(-len(items) // size))
        page_items = items[(page - 1) * size : page * size]
        self.served.append((path, page_items))
        return 200, page_items, {"X-WP-Total": len(items), "X-WP-TotalPages": pages}


# ---- the records a store serves, and what landing them must give -------------------------------


def specimens(
    schema: dict, doc: dict, id_field: str, stamp_field: str, generated_count: int = 4, first_id: int = 1
) -> list[tuple[dict, datetime | None]]:
    """The records of one entity as a spec describes them, each with the UTC instant of its cursor
    stamp (None: the record has no id or no stamp, so landing must quarantine it):

    - the spec's minimal object exactly (required properties only: often no id, no stamp);
    - for each timestamp form, a minimal object with its id and stamp, and a full one (every
      property), ids as the spec types them (a string id where the spec says string);
    - ``generated_count`` objects drawn by hypothesis, with their id and stamp.
    Stamps are distinct instants spelled in every form of ``STAMP_FORMS``."""
    out: list[tuple[dict, datetime | None]] = []
    literal = example(schema, doc, full=False)
    has = id_field in literal and stamp_field in literal
    out.append((literal, None if not has else server_time(literal[stamp_field])))
    id_type = resolved(schema, doc).get("properties", {}).get(id_field, {}).get("type", "integer")
    bases = [example(schema, doc, full=full) for full in (False, True) for _ in STAMP_FORMS]
    bases += generated(schema, doc, generated_count) if generated_count else []
    for i, base in enumerate(bases):
        spelled, utc = stamped(i)
        oid = first_id + i
        out.append(({**base, id_field: str(oid) if id_type == "string" else oid, stamp_field: spelled}, utc))
    return out


def raw_versions(con, channel: str, entity: str, store: str) -> set[tuple[str, datetime]]:
    return set(con.execute(f"select id, updated_at from raw.{channel}__{entity} where _store = ?", [store]).fetchall())


def quarantine_reasons(con, channel: str, entity: str, store: str) -> list[str]:
    return [
        r
        for (r,) in con.execute(
            "select reason from ops.quarantine where source = ? and entity = ? and store = ?", [channel, entity, store]
        ).fetchall()
    ]


def cursor(con, channel: str, entity: str, store: str) -> datetime | None:
    rows = con.execute(
        "select cursor_value from ops.cursors where source = ? and entity = ? and store = ?", [channel, entity, store]
    ).fetchall()
    return datetime.fromisoformat(rows[0][0]) if rows else None


def assert_conformance(
    con, store, entity: str, records: list[tuple[dict, datetime | None]], id_field: str, server: Loopback
) -> list[tuple[str, str, dict]]:
    """The real connector against the store: every record lands (its id and its stamp read as
    UTC) or is quarantined with a reason naming what it lacks; nothing crashes; the cursor is the
    newest stamp served (UTC); a second run lands nothing. Returns the requests of the first run."""
    from ingest.channels.connector import ingest_channel_store

    first = ingest_channel_store(con, store, only=entity)
    first_requests = list(server.requests)
    landable = {(str(r[id_field]), utc) for r, utc in records if utc is not None}
    assert raw_versions(con, store.channel, entity, store.store_id) == landable
    unlandable = [r for r, utc in records if utc is None]
    assert sum(x.rows_landed for x in first) == len(landable)
    assert sum(x.rows_quarantined for x in first) == len(unlandable)  # landed + quarantined = served
    reasons = quarantine_reasons(con, store.channel, entity, store.store_id)
    assert len(reasons) == len(unlandable)
    assert all(f"{entity} record without" in reason for reason in reasons), reasons
    assert cursor(con, store.channel, entity, store.store_id) == max(utc for _, utc in landable)
    again = ingest_channel_store(con, store, only=entity)
    assert sum(x.rows_landed for x in again) == 0
    assert raw_versions(con, store.channel, entity, store.store_id) == landable
    return first_requests


# ---- Shopify: the reader's own query executed against the published schema ---------------------

SCALARS = {
    "ID": "gid://shopify/Node/1",
    "String": "text",
    "Int": 1,
    "Float": 1.5,
    "Boolean": True,
    "Decimal": "1.00",
    "Money": "1.00",
    "URL": "https://example.com/x",
    "UnsignedInt64": "1",
    "DateTime": OLD_STAMP,
    "Date": "2023-12-31",
    "HTML": "<p>x</p>",
    "JSON": {},
    "FormattedString": "x",
}


class ShopifyStore(Loopback):
    """Shopify's Admin GraphQL on loopback: the reader's query validated and executed with
    graphql-core against the published introspection. Each root connection (``orders``,
    ``customers``) pages its ``nodes`` (only ``id`` and ``updatedAt`` given) by ``first``/``after``,
    filtered by the ``updated_at:>'…'`` search and sorted by it; every other field is built from its
    type: non-null fields filled, nullable ones null (``full=False``) or filled too."""

    def __init__(self, nodes: dict[str, list[dict]], full: bool):
        super().__init__()
        self.nodes, self.full = nodes, full
        self.schema = spec.shopify_schema()
        self.served: list[tuple[str, list]] = []  # (root, the nodes of each answer)

    def answer(self, method, path, query, body):
        from graphql import execute, parse, validate

        document = parse(body["query"])
        errors = validate(self.schema, document)
        if errors:
            return 200, {"errors": [{"message": e.message} for e in errors]}, {}
        result = execute(
            self.schema,
            document,
            root_value=self,
            variable_values=body.get("variables"),
            field_resolver=self._field,
            type_resolver=self._type,
        )
        if result.errors:
            return 200, {"errors": [{"message": e.message} for e in result.errors]}, {}
        return 200, {"data": result.data}, {}

    def _connection(self, root: str, first: int, after: str | None = None, query: str | None = None, **_) -> dict:
        since = server_time(query.split(":>", 1)[1].strip("'\"")) if query and ":>" in query else None
        kept = sorted(
            (n for n in self.nodes[root] if since is None or server_time(n["updatedAt"]) > since),
            key=lambda n: server_time(n["updatedAt"]),
        )
        start = int(after) if after else 0
        page = kept[start : start + first]
        self.served.append((root, page))
        return {
            "edges": [{"cursor": str(start + i + 1), "node": n} for i, n in enumerate(page)],
            "nodes": page,
            "pageInfo": {
                "hasNextPage": start + first < len(kept),
                "endCursor": str(start + len(page)) if page else None,
                "hasPreviousPage": start > 0,
                "startCursor": str(start + 1),
            },
        }

    def _field(self, source, info, **args):
        if source is self:
            return self._connection(info.field_name, **args)
        if isinstance(source, dict) and info.field_name in source:
            return source[info.field_name]
        return self._value(info.return_type)

    def _value(self, kind):
        from graphql import is_non_null_type

        if is_non_null_type(kind):
            return self._filled(kind.of_type)
        return self._filled(kind) if self.full else None

    def _filled(self, kind):
        from graphql import is_enum_type, is_list_type, is_scalar_type

        if is_list_type(kind):
            return [self._value(kind.of_type)] if self.full else []
        if is_enum_type(kind):
            return next(iter(kind.values))
        if is_scalar_type(kind):
            return SCALARS.get(kind.name, "x")
        return {}  # an object: its fields resolved one by one

    def _type(self, value, info, abstract):
        return self.schema.get_possible_types(abstract)[0].name


# ---- VTEX: the orders list by creation date, and each order's detail ----------------------------


class VtexStore(Loopback):
    """VTEX's OMS on loopback: ``GET /api/oms/pvt/orders`` keeps the ``listed`` items whose
    ``creationDate`` is in the ``f_creationDate`` window (``creationDate:[a TO b]``), oldest first,
    paged by ``page`` / ``per_page`` in the spec's ``ListOrders`` envelope (``list``, ``facets``,
    ``paging``, ``stats``); ``GET /api/oms/pvt/orders/{orderId}`` answers ``details[orderId]``
    (404 when there is none). The list items keep the spec's shape: no ``lastChange``."""

    def __init__(self, listed: list[dict], details: dict[str, dict], envelope: dict | None = None):
        super().__init__()
        self.listed, self.details, self.envelope = listed, details, envelope or {}
        self.served: list[tuple[str, list]] = []  # (path, the list items of each list answer)

    def answer(self, method, path, query, body):
        if path == "/api/oms/pvt/orders":
            lo, hi = (
                server_time(x.strip())
                for x in query["f_creationDate"].removeprefix("creationDate:[").removesuffix("]").split(" TO ")
            )
            kept = sorted(
                (i for i in self.listed if lo <= (server_time(i.get("creationDate")) or UNDATED) <= hi),
                key=lambda i: server_time(i.get("creationDate")) or UNDATED,
            )
            size, page = int(query.get("per_page", 15)), int(query.get("page", 1))
            page_items = kept[(page - 1) * size : page * size]
            self.served.append((path, page_items))
            return (
                200,
                {
                    **self.envelope,
                    "list": page_items,
                    "paging": {
                        "total": len(kept),
                        "pages": max(1, -(-len(kept) // size)),
                        "currentPage": page,
                        "perPage": size,
                    },
                },
                {},
            )
        if path.startswith("/api/oms/pvt/orders/"):
            detail = self.details.get(path.rsplit("/", 1)[1])
            return (200, detail, {}) if detail is not None else (404, {"error": {"message": "Order not found"}}, {})
        return 404, {"error": {"message": "no such path"}}, {}
