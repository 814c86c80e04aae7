"""Write-back against the channel emulators (real HTTP; bodies validated against the published
specs when ``../shared`` has them) and a real SMTP server on loopback: what the warehouse wants
reaches every channel and customer exactly once, through crashes, 429 storms, 500s and refusals."""

from __future__ import annotations

from collections import Counter
from email.header import decode_header, make_header

import pytest

from afterclick import warehouse
from demo.mailbox import messages, serve_mailbox
from writeback import engine
from writeback.run import adapter_factory

from pushing import NOW, RecordingSmtp, key_of, ledger, push, remember_keys, stores

WRITE_PATHS = ("graphql.json", "/warehouses/", "/inventory/source-items", "/products/batch")


def _wanted(settings) -> dict[str, dict[str, tuple[str, int]]]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rows = con.sql("select store_id, sku, location_id, quantity from writeback.wb_stock").fetchall()
    out: dict[str, dict[str, tuple[str, int]]] = {}
    for store, sku, location, quantity in rows:
        out.setdefault(store, {})[sku] = (location or "", quantity)
    return out


def _shown(state) -> dict[str, tuple[str, int]]:
    return {sku: (loc, q) for sku, by_loc in state.inventory.quantities.items() for loc, q in by_loc.items()}


def _text(message):
    """The plain-text part of a customer message (multipart/alternative: text, then HTML)."""
    return next(part for part in message.walk() if part.get_content_type() == "text/plain")


@pytest.mark.shopify_standard_bucket  # through Shopify's real throttle
def test_stock_reaches_every_channel_once_and_a_second_run_sends_nothing(wb, channels):
    report = push(wb, channels)
    wanted = _wanted(wb)
    assert set(wanted) == {"shopify-es", "shopify-mx", "vtex-br", "magento-es", "woo-pt"}
    for store, (_, state) in channels.items():
        assert _shown(state) == wanted[store], store
        assert state.inventory.writes == len(wanted[store])  # each SKU written once
        # nothing but stock endpoints was called (catalogue reads and stock writes)
        assert all(
            any(k in p for k in (*WRITE_PATHS, "/products", "stockkeepingunitidbyrefid")) for p in state.requests
        ), (store, set(state.requests))
    assert report.total("pushed") == sum(map(len, wanted.values())) and report.total("dead") == 0
    before = {s: len(state.requests) for s, (_, state) in channels.items()}
    again = push(wb, channels)
    assert again.total("pushed") == 0
    assert {s: len(state.requests) for s, (_, state) in channels.items()} == before  # not one request


def test_a_crash_between_call_and_confirmation_pushes_nothing_twice(wb, channels):
    class Crash(Exception):
        pass

    def crash(batch):
        raise Crash

    for store in channels:  # the first batch of every store: sent, then the process "dies"
        with pytest.raises(Crash):
            con = warehouse.connect(wb)
            try:
                changes = engine.desired(con, "stock")[store]
                adapter = adapter_factory(stores(channels), None, 10.0)("stock", store, changes[0].channel)
                engine.push_target(con, adapter, changes, NOW, after_call=crash)
            finally:
                con.close()
    pending = dict(
        ledger(wb, "select store_id, count(*) from ops.writeback_ledger where status = 'pending' group by 1")
    )
    assert set(pending) == set(channels)
    report = push(wb, channels)
    assert report.total("recovered") == sum(pending.values())  # read back from the channel, not re-sent
    wanted = _wanted(wb)
    for store, (_, state) in channels.items():
        assert _shown(state) == wanted[store]
        assert state.inventory.writes == len(wanted[store]), store  # no SKU written twice
    assert ledger(wb, "select count(*) from ops.writeback_ledger where status <> 'confirmed'")[0][0] == 0


def test_429_storms_and_500s_are_absorbed_with_nothing_lost(wb, channels):
    for _, state in channels.values():  # within the HTTP client's retry budget: absorbed in the run
        state.faults = ["429"] * 3 + ["500"] + ["200", "429", "500"]
    report = push(wb, channels)
    assert report.total("dead") == 0 and report.total("failed") == 0
    wanted = _wanted(wb)
    for store, (_, state) in channels.items():
        assert _shown(state) == wanted[store], store
        assert len(state.faults) <= 3, store  # the storm was really met


def test_an_outage_longer_than_the_retry_budget_is_retried_by_the_next_run(wb, channels):
    magento = channels["magento-es"][1]
    magento.faults = ["500"] * 12  # the store is down for this whole run
    first = push(wb, channels)
    magento_report = next(t for t in first.targets if t.target == "magento-es")
    assert magento_report.failed == magento_report.desired and magento_report.dead == 0
    assert ledger(wb, "select distinct status from ops.writeback_ledger where store_id = 'magento-es'") == [("retry",)]
    magento.faults = []
    second = push(wb, channels)  # the retry is due (no backoff in tests)
    assert next(t for t in second.targets if t.target == "magento-es").pushed == magento_report.desired
    assert second.total("pushed") == magento_report.desired  # the other stores had nothing left to send
    assert _shown(magento) == _wanted(wb)["magento-es"]


def test_a_sku_unknown_to_the_channel_goes_to_the_dead_letter_with_the_channels_error(wb, channels):
    wanted = _wanted(wb)
    missing = {store: sorted(skus)[3] for store, skus in wanted.items()}
    for store, (_, state) in channels.items():
        state.unknown_skus.add(missing[store])
    report = push(wb, channels)
    dead = {
        (s, k): e
        for s, k, e in ledger(
            wb, "select store_id, change_key, last_error from ops.writeback_ledger where status = 'dead'"
        )
    }
    assert set(dead) == {(store, f"{store}:{sku}") for store, sku in missing.items()}
    assert "does not exist" in dead[("magento-es", f"magento-es:{missing['magento-es']}")]  # Magento's own words
    assert report.total("dead") == len(missing)
    for store, (_, state) in channels.items():  # the rest of the store's stock went through
        expected = {k: v for k, v in wanted[store].items() if k != missing[store]}
        assert _shown(state) == expected, store
    failures = ledger(wb, "select count(*) from ops.writeback_attempts where outcome = 'failed'")[0][0]
    assert failures >= len(missing)


def test_dry_run_sends_nothing_and_records_what_would_change(wb, channels):
    report = push(wb, channels, dry_run=True)
    assert report.total("pushed") == sum(map(len, _wanted(wb).values()))
    assert all(not state.requests for _, state in channels.values())
    assert ledger(wb, "select count(*) from ops.writeback_ledger")[0][0] == 0
    # the world's carrier-file exchange is logged too (kind carrier_file); every channel push is a dry run
    assert ledger(wb, "select distinct outcome from ops.writeback_attempts where kind <> 'carrier_file'") == [
        ("dry_run",)
    ]


def test_the_kill_switch_keeps_a_store_untouched(wb, channels):
    report = push(wb, channels, disabled={"woo-pt"})
    assert not channels["woo-pt"][1].requests
    assert [t.skipped for t in report.targets if t.target == "woo-pt"] == ["disabled in settings"]
    assert channels["vtex-br"][1].inventory.writes > 0


def _send(settings, folder, after_call=None) -> engine.PushReport:
    """Push the customer messages due to a real SMTP server on loopback delivering into ``folder``."""
    with serve_mailbox(folder) as (host, port):
        smtp = settings.smtp.model_copy(update={"host": host, "port": port})
        con = warehouse.connect(settings)
        try:
            return engine.push(con, adapter_factory({}, smtp, 10.0), ["notification"], NOW, after_call=after_call)
        finally:
            con.close()


def test_customers_get_each_message_once_with_the_right_tracking_link(wb, tmp_path):
    folder = tmp_path / "mailbox"
    with warehouse.connect_read_only(wb.warehouse_path) as con:
        due = {
            k: (email, url, kind, number, locale)
            for k, email, url, kind, number, locale in con.sql(
                "select writeback_key, customer_email, tracking_url, kind, order_number, locale "
                "from writeback.wb_notifications"
            ).fetchall()
        }
    assert len(due) > 20 and {"shipping_confirmation", "delivered"} <= {v[2] for v in due.values()}
    assert {"es", "pt"} <= {v[4][:2] for v in due.values()}  # subjects and bodies that are not ASCII
    remember_keys(due)

    first = _send(wb, folder)
    got = messages(folder)
    keys = Counter(key_of(m) for m in got)
    assert set(keys) == set(due) and max(keys.values()) == 1 and first.total("pushed") == len(due)
    for m in got:
        email, url, kind, number, locale = due[key_of(m)]
        assert m["To"] == email
        subject, body = str(make_header(decode_header(m["Subject"]))), _text(m).get_payload(decode=True).decode()
        assert number in subject and number in body and _text(m).get_content_charset() == "utf-8"
        if locale == "es" and kind == "shipping_confirmation":
            assert subject == f"Tu pedido {number} está en camino" and "Síguelo aquí" in body
        if kind == "shipping_confirmation":
            assert url and url in body
    assert _send(wb, folder).total("pushed") == 0 and len(messages(folder)) == len(due)  # a second run sends nothing


def test_a_batch_of_messages_is_shared_among_the_smtp_connections_and_each_sent_once(settings):
    """With ``smtp.connections`` = 3 a batch goes out over three sessions side by side (the server
    sees three client ports); every message arrives once, a refused recipient is that message's
    own permanent failure, and the outcomes come back in the batch's order."""
    from writeback.adapters.email import EmailNotifications
    from writeback.ledger import Change

    with RecordingSmtp(refuse=lambda address: address.startswith("nobody")) as server:
        smtp = server.smtp(settings, connections=3)
        changes = [
            Change(
                "notification",
                "email",
                "email",
                f"n{i}",
                {
                    "kind": "shipping_confirmation",
                    "order_key": f"o{i}",
                    "shipment_id": f"s{i}",
                    "store_id": "shop",
                    "customer_email": ("nobody" if i == 7 else f"c{i}") + "@example.com",
                    "order_number": f"#{i}",
                    "locale": "es",
                    "store_name": "Tienda",
                    "carrier_name": "Correos",
                    "tracking_number": f"T{i}",
                    "tracking_url": f"https://track.example/T{i}",
                },
            )
            for i in range(20)
        ]
        adapter = EmailNotifications(smtp)
        try:
            outcomes = adapter.push(changes)
        finally:
            adapter.close()
    assert [o.change.key for o in outcomes] == [c.key for c in changes]
    assert [o.ok for o in outcomes] == [i != 7 for i in range(20)] and outcomes[7].permanent
    recipients = Counter(to for m in server.accepted for to in m.recipients)
    assert set(recipients) == {c.payload["customer_email"] for c in changes} - {"nobody@example.com"}
    assert max(recipients.values()) == 1
    assert len({m.port for m in server.accepted}) == 3


def test_an_email_interrupted_before_confirmation_is_not_sent_again(wb, tmp_path):
    folder = tmp_path / "mailbox"

    class Killed(BaseException):  # like the process dying: nothing in the engine may catch it
        pass

    def crash(batch):
        raise Killed

    with pytest.raises(Killed):
        _send(wb, folder, after_call=crash)
    sent_before = len(messages(folder))
    report = _send(wb, folder)
    keys = Counter(m["Message-ID"] for m in messages(folder))
    assert max(keys.values()) == 1  # never twice
    assert report.total("unknown") == sent_before  # the interrupted batch is flagged, not re-sent
    assert len(keys) == report.total("pushed") + sent_before


def test_the_emulators_refuse_requests_that_break_the_published_spec(wb, channels):
    from demo.emulators import spec

    if not spec.available("vtex-logistics"):
        pytest.skip("../shared/api-specs is not here")
    import httpx

    vtex_url, vtex = channels["vtex-br"]
    r = httpx.put(
        f"{vtex_url}/api/logistics/pvt/inventory/skus/1/warehouses/1_1",
        json={"quantity": 3},
        headers={
            "X-VTEX-API-AppKey": vtex.credentials["app_key"],
            "X-VTEX-API-AppToken": vtex.credentials["app_token"],
        },
    )
    assert r.status_code == 400 and "leadTime" in r.text
    magento_url, magento = channels["magento-es"]
    r = httpx.post(
        f"{magento_url}/rest/V1/inventory/source-items",
        json={"sourceItems": [{"sku": "SKU-00001", "source_code": "default", "quantity": "lots"}]},
        headers={"Authorization": f"Bearer {magento.credentials['token']}"},
    )
    assert r.status_code == 400 and "quantity" in r.text
    shop_url, shop = channels["shopify-es"]
    r = httpx.post(
        f"{shop_url}/admin/api/2025-01/graphql.json",
        json={"query": 'mutation { inventorySetQuantities(input: {name: "available"}) { userErrors { message } } }'},
        headers={"X-Shopify-Access-Token": shop.credentials["token"]},
    )
    assert "errors" in r.json() and "reason" in str(r.json()["errors"])
    woo_url, woo = channels["woo-pt"]
    r = httpx.post(
        f"{woo_url}/wp-json/wc/v3/products/batch",
        json={"update": [{"id": 1001, "stock_quantity": "many"}]},
        auth=(woo.credentials["key"], woo.credentials["secret"]),
    )
    assert r.json()["update"][0]["error"]["code"] == "rest_invalid_param"
    assert all(state.inventory.writes == 0 for _, state in channels.values())


def test_the_write_back_page_shows_the_pushes_and_the_dead_letter(wb, channels):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    channels["woo-pt"][1].unknown_skus.add("SKU-00002")
    push(wb, channels)
    warehouse.publish(wb)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py"), default_timeout=60).run()
    at.switch_page("views/writeback.py").run()
    assert not at.exception
    pushed = ledger(wb, "select count(*) from ops.writeback_attempts where outcome = 'succeeded'")[0][0]
    metric = {m.label: m.value for m in at.metric}
    assert int(metric["Changes pushed"].replace(",", "")) == pushed > 0
    assert int(metric["Failed attempts"]) >= 1
    failures = at.dataframe[1].value
    assert (
        "woo-pt:SKU-00002" in set(failures["change_key"])
        and failures["error"].str.contains("not in the WooCommerce catalogue").any()
    )
