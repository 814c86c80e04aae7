"""The VTEX reader fed what VTEX's own Orders API spec shows (../shared/api-specs): its list item
(no ``lastChange``), its example order, its timestamps (``+00:00``, 7 fraction digits, other
offsets), and its orders feed. A small VTEX on loopback is built here from the spec's examples."""

from __future__ import annotations

import copy
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import SecretStr

from afterclick.channels.store import ChannelStore
from afterclick.errors import TransientSourceError
from demo.emulators import spec
from ingest.channels.connector import ingest_channel_store
from ingest.channels.pages import api_time

from emulated_stores import con  # noqa: F401 - con is a fixture

CREDENTIALS = {"app_key": "vtexappkey-test", "app_token": "secret-token"}
_WINDOW = re.compile(r"creationDate:\[(.+) TO (.+)\]")


def _instant(spelled: str) -> datetime:
    """The server's own reading of a timestamp (not the reader's under test): naive UTC."""
    parsed = datetime.fromisoformat(spelled)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _spec_examples() -> tuple[dict, dict, dict]:
    """The spec's list item, example order and feed item, as the spec shows them."""
    if not spec.available("vtex-orders"):
        pytest.skip("../shared/api-specs is not here")
    paths = spec.document("vtex-orders")["paths"]
    listed = paths["/api/oms/pvt/orders"]["get"]["responses"]["200"]["content"]
    item = next(iter(listed.values()))["example"]["list"][0]
    detail = next(iter(paths["/api/oms/pvt/orders/{orderId}"]["get"]["responses"]["200"]["content"].values()))
    feed = next(iter(paths["/api/orders/feed"]["get"]["responses"]["200"]["content"].values()))["example"][0]
    return copy.deepcopy(item), copy.deepcopy(detail["example"]), copy.deepcopy(feed)


class SpecVtex:
    """A VTEX store on loopback answering with the spec's shapes: the list (f_creationDate window,
    page / per_page) without ``lastChange`` unless an order's ``listed`` says otherwise, the order
    details, and an orders feed (``GET`` hands out items not in flight, ``POST`` commits handles)."""

    def __init__(self):
        self.list_item, self.example, self.feed_item = _spec_examples()
        self.orders: dict[str, dict] = {}  # order id -> detail
        self.listed: dict[str, dict] = {}  # order id -> list item
        self.queue: list[dict] = []  # feed items not committed
        self.in_flight: set[str] = set()  # handles handed out, not yet committed
        self.committed: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.commit_faults = 0  # the next commits answered 429 (retry at once)
        self.feed_configured = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, order_id: str, created: str, changed: str, listed_change: str | None = None) -> None:
        """An order as the spec's example, created and last changed at the given VTEX timestamps;
        its list item is the spec's (no ``lastChange``) unless ``listed_change`` is given."""
        detail = {**copy.deepcopy(self.example), "orderId": order_id, "creationDate": created, "lastChange": changed}
        self.orders[order_id] = detail
        item = {**copy.deepcopy(self.list_item), "orderId": order_id, "creationDate": created}
        if listed_change is not None:
            item["lastChange"] = listed_change
        self.listed[order_id] = item

    def change(self, order_id: str, changed: str) -> None:
        """The order changes: a new lastChange and an item in the feed."""
        self.orders[order_id]["lastChange"] = changed
        n = len(self.queue) + len(self.committed)
        self.queue.append(
            {
                **copy.deepcopy(self.feed_item),
                "eventId": f"EV{n}",
                "handle": f"H{n}-{order_id}",
                "orderId": order_id,
                "lastChange": changed,
                "currentChange": changed,
            }
        )

    def redeliver(self) -> None:
        """The feed's visibility timeout passes: items handed out and not committed come back."""
        self.in_flight.clear()

    def _handler(self):
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body=None, **headers) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                return (
                    self.headers.get("X-VTEX-API-AppKey") == CREDENTIALS["app_key"]
                    and self.headers.get("X-VTEX-API-AppToken") == CREDENTIALS["app_token"]
                )

            def do_GET(self):
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                store.requests.append(("GET", url.path))
                if not self._authorized():
                    return self._answer(403, {"error": "forbidden"})
                if url.path == "/api/oms/pvt/orders":
                    return self._answer(200, store._list(q))
                if url.path.startswith("/api/oms/pvt/orders/"):
                    detail = store.orders.get(url.path.rsplit("/", 1)[1])
                    return self._answer(200, detail) if detail else self._answer(404, {"error": "not found"})
                if url.path == "/api/orders/feed":
                    if not store.feed_configured:
                        return self._answer(404, {"error": "no feed configuration"})
                    assert 1 <= int(q["maxlot"]) <= 10  # the spec's limit
                    lot = [i for i in store.queue if i["handle"] not in store.in_flight][: int(q["maxlot"])]
                    store.in_flight.update(i["handle"] for i in lot)
                    return self._answer(200, lot)
                return self._answer(404, {"error": "no such path"})

            def do_POST(self):
                url = urlparse(self.path)
                store.requests.append(("POST", url.path))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self._authorized():
                    return self._answer(403, {"error": "forbidden"})
                if url.path != "/api/orders/feed" or not isinstance(body.get("handles"), list):
                    return self._answer(400, {"error": "handles required"})
                if store.commit_faults:
                    store.commit_faults -= 1
                    return self._answer(429, {"error": "try later"}, Retry_After="0")
                store.committed += body["handles"]
                store.queue = [i for i in store.queue if i["handle"] not in body["handles"]]
                store.in_flight -= set(body["handles"])
                return self._answer(200)  # the spec's 200 "OK": no body

        return Handler

    def _list(self, q: dict) -> dict:
        items = sorted(self.listed.values(), key=lambda i: _instant(i["creationDate"]))
        if m := _WINDOW.match(q.get("f_creationDate", "")):
            lo, hi = (_instant(x) for x in m.groups())
            items = [i for i in items if lo <= _instant(i["creationDate"]) <= hi]
        per_page, page = int(q.get("per_page", 15)), int(q.get("page", 1))
        return {
            "list": items[(page - 1) * per_page : page * per_page],
            "paging": {
                "total": len(items),
                "pages": max(1, -(-len(items) // per_page)),
                "currentPage": page,
                "perPage": per_page,
            },
        }

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _store(server: SpecVtex, **options) -> ChannelStore:
    return ChannelStore(
        "vtex-spec", "vtex", server.url, {k: SecretStr(v) for k, v in CREDENTIALS.items()}, reader_options=options
    )


def _raw(con) -> dict[str, list]:
    rows = con.sql(
        "select id, updated_at, payload from raw.vtex__orders where _store = 'vtex-spec' order by updated_at"
    ).fetchall()
    out: dict[str, list] = {}
    for oid, updated, payload in rows:
        out.setdefault(oid, []).append((updated, json.loads(payload)))
    return out


def _vtex(at: datetime) -> str:
    """A VTEX timestamp as the spec spells them: +00:00 and 7 fraction digits."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "7+00:00"


def test_the_specs_list_item_without_lastchange_and_example_order_land_with_their_detail(con):
    with SpecVtex() as server:
        oid, example = server.example["orderId"], server.example
        server.add(oid, example["creationDate"], example["lastChange"])
        assert "lastChange" not in server.listed[oid]  # the list item exactly as the spec shows it
        ingest_channel_store(con, _store(server))
        again = ingest_channel_store(con, _store(server))
    raw = _raw(con)
    assert list(raw) == [oid]
    [(updated, payload)] = raw[oid]
    assert updated == datetime(2024, 2, 6, 20, 46, 11, 701074)  # 2024-02-06T20:46:11.7010747+00:00
    assert payload == example  # the detail, as VTEX sent it
    assert sum(x.rows_landed for x in again) == 0  # read again: nothing new
    assert con.execute("select count(*) from ops.quarantine").fetchall() == [(0,)]


@pytest.mark.parametrize(
    "spelled, utc",
    [
        ("2024-02-06T20:46:11.7010747+00:00", datetime(2024, 2, 6, 20, 46, 11, 701074)),
        ("2024-02-11T09:14:41.3695207Z", datetime(2024, 2, 11, 9, 14, 41, 369520)),
        ("2024-02-06T10:00:00-03:00", datetime(2024, 2, 6, 13, 0)),
        ("2024-02-06T10:00:00+02:00", datetime(2024, 2, 6, 8, 0)),
        ("2019-02-04T10:29:11+00:00", datetime(2019, 2, 4, 10, 29, 11)),
        ("2024-02-06T10:00:00", datetime(2024, 2, 6, 10, 0)),  # no offset: VTEX keeps UTC
        ("2024-02-06 10:00:00.123", datetime(2024, 2, 6, 10, 0, 0, 123000)),
    ],
)
def test_every_vtex_timestamp_form_reads_as_naive_utc(spelled, utc):
    assert api_time(spelled) == utc


def test_listed_timestamps_in_every_form_compare_with_the_cursor(con):
    """The list's lastChange in each spelling decides against ``since`` (naive UTC) which orders are
    fetched: the newer ones, whatever their offset; the older ones are not asked for."""
    since = datetime(2024, 2, 6, 20, 0)
    forms = {  # order id -> (listed lastChange, newer than since?)
        "A-01": ("2024-02-06T18:30:00-03:00", True),  # 21:30 UTC
        "B-01": ("2024-02-06T21:30:00+02:00", False),  # 19:30 UTC
        "C-01": ("2024-02-06T20:46:11.7010747+00:00", True),
        "D-01": ("2024-02-06T19:59:59Z", False),
        "E-01": ("2024-02-06T20:00:01", True),  # naive: UTC
        "F-01": ("2024-02-06T22:59:59.9999999+03:00", False),  # 19:59:59.999999 UTC
    }
    with SpecVtex() as server:
        for oid, (changed, _) in forms.items():
            server.add(oid, "2024-02-01T10:00:00.1234567+00:00", changed, listed_change=changed)
        ingest_channel_store(con, _store(server, relist_days=0), since=since)
        asked = {path.rsplit("/", 1)[1] for method, path in server.requests if path.startswith("/api/oms/pvt/orders/")}
    assert asked == {oid for oid, (_, newer) in forms.items() if newer}
    assert {oid: rows[-1][0] for oid, rows in _raw(con).items()} == {
        "A-01": datetime(2024, 2, 6, 21, 30),
        "C-01": datetime(2024, 2, 6, 20, 46, 11, 701074),
        "E-01": datetime(2024, 2, 6, 20, 0, 1),
    }


# "now" for the feed and re-list tests: noon two days ago (stamps are never in the future)
NOW = datetime.combine(datetime.now(UTC).date() - timedelta(days=2), datetime.min.time()) + timedelta(hours=12)


def _old_order_changed_now(server: SpecVtex, con, **options) -> tuple[datetime, datetime]:
    """A store with an order created 60 days before NOW (landed) and one changed an hour before
    NOW's midnight (the cursor); then the old order changes at NOW. Returns the old order's two
    lastChange instants."""
    first = NOW - timedelta(days=59)
    server.add("OLD-01", _vtex(NOW - timedelta(days=60)), _vtex(first))
    midnight = datetime.combine(NOW.date(), datetime.min.time())
    server.add("NEW-01", _vtex(midnight - timedelta(hours=2)), _vtex(midnight - timedelta(hours=1)))
    ingest_channel_store(con, _store(server, **options))
    assert set(_raw(con)) == {"OLD-01", "NEW-01"}
    server.change("OLD-01", _vtex(NOW))
    return first, NOW


def _lists(server: SpecVtex) -> int:
    return sum(path == "/api/oms/pvt/orders" for _, path in server.requests)


def test_the_feed_catches_an_order_created_60_days_ago_and_changed_now_and_commits_after_landing(con):
    with SpecVtex() as server:
        first, changed = _old_order_changed_now(server, con, feed=True, until=NOW)
        server.commit_faults = 10  # the commit keeps failing: the order is landed, the item stays
        with pytest.raises(TransientSourceError):
            ingest_channel_store(con, _store(server, feed=True, until=NOW))
        assert [u for u, _ in _raw(con)["OLD-01"]] == [first, changed]  # landed before the commit was tried
        assert server.committed == [] and len(server.queue) == 1
        server.redeliver()  # its visibility timeout passes: VTEX hands the item out again
        landed = ingest_channel_store(con, _store(server, feed=True, until=NOW))
        assert sum(x.rows_landed for x in landed) == 0  # delivered twice, landed once
        assert server.queue == [] and server.committed == ["H0-OLD-01"]
        lists = _lists(server)
        ingest_channel_store(con, _store(server, feed=True, until=NOW))
        # the feed replaces the daily re-list: a run lists only the last 30 days of creations
        assert _lists(server) - lists == 1
    assert [u for u, _ in _raw(con)["OLD-01"]] == [first, changed]


def test_a_feed_that_is_not_configured_is_a_clear_error(con):
    with SpecVtex() as server:
        server.feed_configured = False
        server.add("X-01", _vtex(NOW - timedelta(days=2)), _vtex(NOW - timedelta(days=1)))
        with pytest.raises(ValueError, match="no orders feed for this app key.*turn vtex_feed off") as raised:
            ingest_channel_store(con, _store(server, feed=True, until=NOW))
    assert CREDENTIALS["app_token"] not in str(raised.value)
    assert set(_raw(con)) == {"X-01"}  # what the list gave is landed


def test_without_the_feed_the_first_run_of_the_day_relists_and_catches_the_old_order(con):
    with SpecVtex() as server:
        first, changed = _old_order_changed_now(server, con, relist_days=120, until=NOW)
        lists = _lists(server)
        ingest_channel_store(con, _store(server, relist_days=120, until=NOW))  # the cursor is yesterday's
        assert [u for u, _ in _raw(con)["OLD-01"]] == [first, changed]
        assert _lists(server) - lists == 2  # the last 30 days, and the 90 days before them
        lists = _lists(server)
        ingest_channel_store(con, _store(server, relist_days=120, until=NOW))  # later that day
        assert _lists(server) - lists == 1  # the last 30 days only


def test_with_the_relist_off_an_order_changed_long_after_its_creation_is_not_read(con):
    """What the re-list (or the feed) is for: the 30-day creation window alone misses it."""
    with SpecVtex() as server:
        _old_order_changed_now(server, con, relist_days=0, until=NOW)
        ingest_channel_store(con, _store(server, relist_days=0, until=NOW))
    assert len(_raw(con)["OLD-01"]) == 1
