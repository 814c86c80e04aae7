"""Privacy drill: no customer address (email, name, postal address) of the demo world reaches the
serving snapshot, whatever table or text column it could hide in, unless the deployment publishes
them (``publish_customer_addresses``). Readers get a stable keyed pseudonym instead, the same in
every table, so they still count and join customers; the warehouse keeps the addresses a retry
needs; the run's output and logs name no customer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from afterclick import pseudonyms, warehouse
from afterclick.errors import SettingsError
from afterclick.settings import load_settings
from demo.backoffice import ship_to
from demo.generate import load_truth
from tests.conftest import refresh

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
EMAIL_TOKEN = r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
AT = "2026-11-01 10:00:00"


def _truth(settings) -> dict[str, set[str]]:
    """The demo world's customer addresses (lower case): emails, full names and street lines."""
    world = load_truth(settings)
    slips = ship_to(world)
    return {
        "emails": {e.lower() for e in [*world.customers["email"], *world.orders["email"].drop_nulls()]},
        "names": {n.lower() for n in slips["ship_to_name"]},
        "streets": {a.lower() for a in slips["ship_to_address"]},
        "first_and_last_names": {n.lower() for n in [*world.customers["first_name"], *world.customers["last_name"]]},
    }


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() and data_type in ('VARCHAR', 'JSON') order by all"
    ).fetchall()
    return columns


def _found(path: Path, truth: dict[str, set[str]]) -> dict[str, int]:
    """schema.table.column -> how many of its values hold a customer address of the truth: an email
    anywhere in the text, a full name or street line inside it, a first or last name as the value."""
    hits = {}
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("create temp table emails as select unnest(?::varchar[]) as email", [sorted(truth["emails"])])
        con.execute(
            "create temp table names as select unnest(?::varchar[]) as name", [sorted(truth["first_and_last_names"])]
        )
        inside = "|".join(re.escape(x) for x in sorted(truth["names"] | truth["streets"]))
        for schema, table, column in _text_columns(con):
            value = f'lower(cast("{column}" as varchar))'
            n = con.execute(
                f"""select count(*) from "{schema}"."{table}" as t
                where exists (select 1 from (select unnest(regexp_extract_all({value}, '{EMAIL_TOKEN}')) as token)
                              where token in (select email from emails))
                   or regexp_matches({value}, ?)
                   or {value} in (select name from names)""",
                [inside],
            ).fetchall()[0][0]
            if n:
                hits[f"{schema}.{table}.{column}"] = n
    return hits


def _any_email(path: Path) -> dict[str, list[str]]:
    """Every email-shaped text of the snapshot (customers' or not), per column."""
    found = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table, column in _text_columns(con):
            tokens = con.execute(
                f"""select distinct token from (select unnest(regexp_extract_all(lower(cast("{column}" as varchar)),
                    '{EMAIL_TOKEN}')) as token from "{schema}"."{table}") order by token limit 5"""
            ).fetchall()
            if tokens:
                found[f"{schema}.{table}.{column}"] = [t for (t,) in tokens]
    return found


def _customer(settings) -> tuple[str, str, str]:
    """A demo customer who ordered: email, full name and street line (as the warehouse's packing slip)."""
    world = load_truth(settings)
    slip = ship_to(world).row(0, named=True)
    order = world.orders.filter(pl.col("order_id") == slip["order_id"]).row(0, named=True)
    return order["email"], slip["ship_to_name"], slip["ship_to_address"]


def _publish(settings) -> dict:
    with warehouse.writer(settings):
        return warehouse.publish(settings)


def _record_what_a_run_can_leave(settings, email: str, name: str, street: str) -> None:
    """What a run leaves naming a customer besides the marts: a WMS row quarantined with its packing
    slip, a customer message a channel refused naming the address (ledger and attempts)."""
    from writeback import ledger

    row = {
        "order_key": "shopify-es:1001",
        "stage": "packed",
        "ship_to_name": name,
        "ship_to_address": street,
        "ship_to_postcode": "28001",
        "ship_to_city": "Madrid",
        "ship_to_country": "ES",
        "contact": email,
        "occurred_at": "not a time",
    }
    refusal = f"550 5.1.1 <{email.upper()}>: Recipient address rejected: mailbox unavailable"
    payload = {"customer_email": email, "order_number": "#1001", "kind": "delivered", "locale": "es"}
    with warehouse.writer(settings), warehouse.connect(settings) as con:
        ledger.ensure(con)
        con.execute(
            "insert into ops.quarantine values ('b1', 'wms', 'fulfilment_events', 'wh-mad', 'shopify-es:1001', ?, "
            "'occurred_at: not a time', ?)",
            [json.dumps(row), AT],
        )
        con.execute(
            "insert into ops.writeback_ledger values ('notification', 'email', 'email', 'delivered:x:1', ?, 'h', "
            "'retry', 1, ?, ?, null, ?)",
            [json.dumps(payload, sort_keys=True), refusal, AT, AT],
        )
        con.execute(
            "insert into ops.writeback_attempts values ('a1', 'r1', 'notification', 'email', 'email', 'delivered:x:1', "
            "'failed', 550, ?, 12.5, ?, false)",
            [f"channel said: customer {email} is blocked", AT],
        )


def test_no_customer_address_reaches_the_snapshot_unless_published(built, wb, monkeypatch):
    env = {**os.environ, "AFTERCLICK_STATE_DIR": str(wb.root)}
    pushed = subprocess.run(  # messages to every customer due, the ledger's payloads hold their emails
        [sys.executable, "-m", "afterclick.cli", "push"], env=env, capture_output=True, text=True, timeout=600
    )
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    truth = _truth(wb)
    email, name, street = _customer(wb)
    _record_what_a_run_can_leave(wb, email, name, street)
    output = (pushed.stdout + pushed.stderr).lower()
    logs = " ".join(p.read_text(errors="replace").lower() for p in wb.logs_dir.rglob("*") if p.is_file())
    assert "notification" in output and not [e for e in truth["emails"] if e in output or e in logs]

    _publish(wb)
    with duckdb.connect(str(wb.serving_path), read_only=True) as con:  # the scan covers both schemas
        assert {schema for schema, _, _ in _text_columns(con)} == {"main", "ops"}
    assert _found(wb.serving_path, truth) == {}
    assert _any_email(wb.serving_path) == {}  # marketplace relay addresses too, which the truth does not know
    with duckdb.connect(str(wb.warehouse_path), read_only=True) as con:  # what a retry needs stays
        kept = con.execute(
            "select json_extract_string(payload, '$.customer_email') from ops.writeback_ledger "
            "where kind = 'notification'"
        ).fetchall()
        assert email in {e for (e,) in kept} and {e for (e,) in kept} & truth["emails"]

    monkeypatch.setenv("AFTERCLICK_PUBLISH_CUSTOMER_ADDRESSES", "true")
    _publish(refresh(wb))
    published = _found(wb.serving_path, truth)
    assert {
        "main.fct_orders.customer_email",
        "main.dim_customers.customer_email",
        "main.wb_notifications.customer_email",
        "main.dim_channel_accounts.email",
        "main.dim_channel_accounts.first_name",
        "ops.writeback_ledger.payload",
        "ops.writeback_ledger.last_error",
        "ops.writeback_attempts.error",
        "ops.quarantine.payload",
    } <= set(published)

    at = AppTest.from_file(APP, default_timeout=60).run()  # shown as they are, since published
    at.switch_page("views/customers.py").run()
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "customer_email" in d.value.columns)["customer_email"].dropna()
    assert len(shown) and all("@" in e and "****" not in e for e in shown)


def test_pseudonyms_are_keyed_stable_and_join_across_tables(wb, monkeypatch):
    _publish(wb)
    key_file = wb.root / pseudonyms.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip().encode()

    def published(sql: str) -> list:
        with warehouse.read_serving(wb) as con:
            return con.execute(sql).fetchall()

    with duckdb.connect(str(wb.warehouse_path), read_only=True) as con:
        clear = con.execute(
            "select customer_email, orders from marts.dim_customers where customer_email is not null order by 1"
        ).fetchall()
        joined = con.execute(
            "select count(*), count(distinct c.customer_key) from marts.fct_orders as o "
            "join marts.dim_customers as c on lower(trim(o.customer_email)) = c.customer_email"
        ).fetchall()
    assert joined[0][0] > 0
    first = published("select customer_email, orders from dim_customers where customer_email is not null order by 1")
    assert sorted((pseudonyms.pseudonym(e, key), n) for e, n in clear) == first  # SQL's keyed hash is Python's
    assert all(re.fullmatch(r"anon-[0-9a-f]{24}", p) for p, _ in first)
    # the same customer's pseudonym in the orders and in the customers: readers join on it
    assert (
        published(
            "select count(*), count(distinct c.customer_key) from fct_orders as o "
            "join dim_customers as c on o.customer_email = c.customer_email"
        )
        == joined
    )
    with duckdb.connect(str(wb.warehouse_path), read_only=True) as con:  # an unkeyed hash of the email there
        keys = {k for (k,) in con.execute("select customer_key from marts.dim_customers").fetchall()}
    published_keys = {k for (k,) in published("select customer_key from dim_customers")}
    assert len(published_keys) == len(keys) and not published_keys & keys
    _publish(wb)
    assert (
        published("select customer_email, orders from dim_customers where customer_email is not null order by 1")
        == first
    )

    monkeypatch.setenv("AFTERCLICK_PUBLISH_PSEUDONYM_KEY", "a key of our own, kept in a vault")
    _publish(refresh(wb))
    own_key = published("select customer_email from dim_customers where customer_email is not null order by 1")
    assert own_key == sorted((pseudonyms.pseudonym(e, b"a key of our own, kept in a vault"),) for e, _ in clear)
    assert not {p for (p,) in own_key} & {p for p, _ in first}


def test_the_published_ledger_is_masked_and_the_writeback_page_shows_it(wb):
    email, name, street = _customer(wb)
    _record_what_a_run_can_leave(wb, email, name, street)
    _publish(wb)
    key = (wb.root / pseudonyms.KEY_FILE).read_text().strip().encode()
    alias = pseudonyms.pseudonym(email, key)
    with warehouse.read_serving(wb) as con:
        payload, payload_hash, last_error = con.execute(
            "select payload, payload_hash, last_error from ops.writeback_ledger where change_key = 'delivered:x:1'"
        ).fetchall()[0]
        (error,) = con.execute("select error from ops.writeback_attempts where attempt_id = 'a1'").fetchall()[0]
        (slip,) = con.execute("select payload from ops.quarantine where batch_id = 'b1'").fetchall()[0]
    assert json.loads(payload) == {
        "customer_email": alias,
        "order_number": "#1001",
        "kind": "delivered",
        "locale": "es",
    }
    assert payload_hash == pseudonyms.pseudonym("h", key)  # a plain hash of it would confirm a guessed address
    assert last_error == f"550 5.1.1 <{alias}>: Recipient address rejected: mailbox unavailable"
    assert error == f"channel said: customer {alias} is blocked"
    slip = json.loads(slip)
    assert slip["contact"] == alias and slip["ship_to_name"] == pseudonyms.pseudonym(name, key)
    assert slip["ship_to_address"] == pseudonyms.pseudonym(street, key) and slip["ship_to_city"] == "Madrid"
    with duckdb.connect(str(wb.warehouse_path), read_only=True) as con:  # a retry needs the address
        kept = con.execute("select payload, last_error from ops.writeback_ledger where change_key = 'delivered:x:1'")
        assert json.loads(kept.fetchall()[0][0])["customer_email"] == email

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/writeback.py").run()
    assert not at.exception, at.exception
    texts = [str(v) for d in at.dataframe for col in ("error", "last_error") if col in d.value for v in d.value[col]]
    assert f"<{alias[:13]}…>: Recipient address rejected" in " ".join(texts)
    assert not [t for t in texts if email.lower() in t.lower()]


def test_mask_text_replaces_addresses_in_text_and_personal_json_keys():
    key = b"k"
    text = pseudonyms.mask_text("refused Ana.Garcia1@Example.com and bob@example.org.", key)
    assert text == (
        f"refused {pseudonyms.pseudonym('ana.garcia1@example.com', key)} and {pseudonyms.pseudonym('bob@example.org', key)}."
    )
    record = {
        "buyer-email": "x@y.es",
        "firstName": "Ana",
        "shippingAddress": {"address1": "Calle Mayor 5", "zip": "28001"},
    }
    masked = json.loads(pseudonyms.mask_text(json.dumps(record), key))
    assert masked == {
        "buyer-email": pseudonyms.pseudonym("x@y.es", key),
        "firstName": pseudonyms.pseudonym("ana", key),
        "shippingAddress": {"address1": pseudonyms.pseudonym("calle mayor 5", key), "zip": "28001"},
    }
    untouched = '{"sku": "SKU-1", "carrier_name": "Correos"}'
    assert pseudonyms.mask_text(untouched, key) is untouched  # nothing personal: the text as it was
    assert pseudonyms.mask_text("<abc@afterclick>", key) == "<abc@afterclick>"  # a Message-ID is no address


@pytest.mark.parametrize(
    ("where", "setting"),
    [("environment", "AFTERCLICK_SHOW_CUSTOMER_EMAILS"), ("file", "show_customer_emails = true")],
)
def test_the_old_setting_names_what_replaced_it(where, setting, tmp_path, monkeypatch):
    if where == "environment":
        monkeypatch.setenv(setting, "true")
        replacement = "AFTERCLICK_PUBLISH_CUSTOMER_ADDRESSES"
    else:
        (tmp_path / "afterclick.toml").write_text(setting + "\n")
        monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "afterclick.toml"))
        replacement = "'publish_customer_addresses'"
    with pytest.raises(SettingsError, match=f"replaced by {replacement}"):
        load_settings()
