"""The Write-back page shows the changes in doubt (ledger status ``unknown``: interrupted between
sending and confirming on a target that cannot be read back), per kind and store, and what to do."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from afterclick import warehouse
from writeback import ledger
from writeback.adapters.email import message_id

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
AT = datetime(2026, 11, 1, 1, 0)


def _ledger_row(kind: str, store: str, channel: str, key: str, status: str, payload: str = "{}") -> tuple:
    return (
        kind,
        store,
        channel,
        key,
        payload,
        f"hash-{key}",
        status,
        0,
        "interrupted between sending and confirming; not sent again to avoid a duplicate"
        if status == "unknown"
        else None,
        None,
        None,
        AT,
    )


def _frame_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_page_shows_the_changes_in_doubt_per_kind_and_store_with_what_to_do(wb):
    rows = [
        _ledger_row(
            "notification",
            "email",
            "email",
            f"shipping_confirmation:o{i}:s{i}",
            "unknown",
            f'{{"order_number": "#10{i}", "customer_email": "customer{i}@example.com", "store_id": "{store}"}}',
        )
        for i, store in enumerate(["vtex-br", "shopify-es", "no-such-store"])
    ]
    rows += [_ledger_row("stock", "shopify-es", "shopify", f"shopify-es:SKU-0000{i}", "unknown") for i in range(2)]
    rows += [
        _ledger_row("stock", "shopify-es", "shopify", "shopify-es:SKU-00009", "confirmed"),
        _ledger_row("notification", "email", "email", "delivered:o7:s7", "dead"),
    ]
    with warehouse.connect(wb) as con:
        ledger.ensure(con)
        con.executemany("insert into ops.writeback_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    warehouse.publish(wb)

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/writeback.py").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Changes in doubt"] == "5"

    per_target = _frame_with(at, "what_to_do")
    counts = {(r.kind, r.store_id): r.changes for r in per_target.itertuples()}
    assert counts == {("notification", "email"): 3, ("stock", "shopify-es"): 2}
    advice = dict(zip(per_target["kind"], per_target["what_to_do"]))
    assert "Message-ID" in advice["notification"] and "not sent again" in advice["notification"]
    assert "store's admin" in advice["stock"]

    changes = _frame_with(at, "message_id")  # each change in doubt, with what to look it up by
    assert len(changes) == 5
    emails = changes[changes["kind"] == "notification"]
    assert set(emails["order_number"]) == {"#100", "#101", "#102"}
    # each on its store's sender's domain (the demo's brands), else smtp.sender's
    domains = {"o0": "loja-demo.example", "o1": "tienda-demo.example", "o2": "afterclick.invalid"}
    assert set(emails["message_id"]) == {message_id(key, domains[key.split(":")[1]]) for key in emails["change_key"]}
    assert emails["message_id"].str.fullmatch(r"<[0-9a-f]{32}@[a-z.-]+>").all()
    assert not changes.astype(str).apply(lambda c: c.str.contains("customer0@example.com")).any().any()
