"""The VTEX orders reader fed what VTEX's Orders API spec (OpenAPI 3, ../shared/api-specs)
describes, built from its schemas rather than its examples: list items of ``List`` (minimal: the
required properties, nullable ones null; full: every property; never a ``lastChange``, the spec's
list has none) in the ``ListOrders`` envelope, and the order details of
``GET /api/oms/pvt/orders/{orderId}`` (minimal: the spec requires nothing, so ``{}``; full; and
hypothesis-drawn ones), ``lastChange`` and ``creationDate`` in every timestamp form, pages of 5."""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import SecretStr

from afterclick.channels.store import ChannelStore

from spec_payloads import STAMP_FORMS, VtexStore, assert_conformance, example, require, specimens

CREDENTIALS = {"app_key": "vtexappkey-conformance", "app_token": "vtex-conformance-token"}
LIST, DETAIL = "/api/oms/pvt/orders", "/api/oms/pvt/orders/{orderId}"
UNKNOWN_ID = "v0000000spec-01"  # the list's id of the spec's minimal detail, which has no orderId


def _store(server: VtexStore, page_size: int = 5) -> ChannelStore:
    return ChannelStore(
        "vtex-spec",
        "vtex",
        server.url,
        {k: SecretStr(v) for k, v in CREDENTIALS.items()},
        reader_options={"page_size": page_size, "relist_days": 0},
    )


def _detail_schema(doc: dict) -> dict:
    return next(iter(doc["paths"][DETAIL]["get"]["responses"]["200"]["content"].values()))["schema"]


def _created(i: int, utc) -> str:
    """A creation date a day before the change, spelled in another form than the change."""
    spell, _ = list(STAMP_FORMS.values())[(i + 3) % len(STAMP_FORMS)]
    return spell(utc - timedelta(days=1))


def _vtex_store(doc: dict, records) -> VtexStore:
    """The store listing one spec-built ``List`` item per detail (minimal and full in turn), its
    ``orderId`` and ``creationDate`` those of the detail."""
    listed, details = [], {}
    for i, (detail, utc) in enumerate(records):
        oid = detail.get("orderId", UNKNOWN_ID)
        if utc is not None:
            detail["creationDate"] = _created(i, utc)
        item = example({"$ref": "#/components/schemas/List"}, doc, full=bool(i % 2))
        assert "lastChange" not in item  # the spec's list item has none: the detail decides
        item.update(orderId=oid, creationDate=detail.get("creationDate", "2024-02-29T12:00:00Z"))
        listed.append(item)
        details[oid] = detail
    envelope = example({"$ref": "#/components/schemas/ListOrders"}, doc, full=False)
    return VtexStore(listed, details, {k: v for k, v in envelope.items() if k not in ("list", "paging")})


def test_spec_built_details_land_or_are_quarantined_every_page_read_and_the_cursor_is_the_newest_stamp(con):
    doc = require("vtex-orders")
    records = specimens(_detail_schema(doc), doc, "orderId", "lastChange", generated_count=4)
    assert records[0] == ({}, None)  # the spec requires nothing of a detail: no orderId, no lastChange
    with _vtex_store(doc, records) as server:
        first_run = assert_conformance(con, _store(server), "orders", records, "orderId", server)
    lists = [int(q["page"]) for _, path, q in first_run if path == LIST]
    assert lists == list(range(1, -(-len(records) // 5) + 1))  # every list page, in order, once
    asked = [path.rsplit("/", 1)[1] for _, path, _ in first_run if path.startswith(LIST + "/")]
    assert sorted(asked) == sorted(r.get("orderId", UNKNOWN_ID) for r, _ in records)  # each detail once
    landed = dict(con.execute("select id, payload from raw.vtex__orders").fetchall())
    for detail, utc in records:
        if utc is not None:
            assert json.loads(landed[detail["orderId"]]) == detail  # as VTEX sent it
