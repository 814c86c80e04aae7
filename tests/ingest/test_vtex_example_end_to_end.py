"""VTEX's own example order (../shared/api-specs), listed as VTEX spells it, lands into a fresh state
with no demo world through ``afterclick run --plain``: the build publishes although the example's
``value`` (1160 cents) disagrees with its ``totals`` (99 + 300), the order keeps its stated total,
and the disagreement is a data-quality finding that names the order."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from test_vtex_conformance import CREDENTIALS, SpecVtex, _vtex
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import app
from afterclick.settings import load_settings
from ingest.run import SOURCES

VALUE_VS_TOTALS = (
    "order_value_vs_components",
    "order",
    "vtex-br",
    "order value 11.60 ≠ items 0.99 + shipping 3.00 + tax 0.00 − discounts 0.00 (totals)",
    True,
)


def _run_with_the_example(
    monkeypatch, created: str, changed: str, store: str = "vtex-br", profile: dict | None = None
) -> tuple[str, object]:
    """``afterclick run --plain`` on a fresh state whose one store, ``store`` (with ``profile``:
    its currency, time zone…), is the spec's VTEX serving its example order (created and changed
    at the given VTEX timestamps)."""
    with SpecVtex() as server:
        oid = server.example["orderId"]
        server.add(oid, created, changed)
        assert "lastChange" not in server.listed[oid]  # the list item as the spec shows it
        monkeypatch.setenv("AFTERCLICK_DEMO_CHANNELS", "false")
        monkeypatch.setenv("AFTERCLICK_DISABLED_SOURCES", json.dumps([s for s in SOURCES if s != "channels"]))
        monkeypatch.setenv("AFTERCLICK_WRITEBACK__KINDS", "[]")
        monkeypatch.setenv(
            "AFTERCLICK_CHANNEL_STORES",
            json.dumps(
                {store: {"channel": "vtex", "base_url": server.url, "credentials": CREDENTIALS, **(profile or {})}}
            ),
        )
        assert not (load_settings().demo_dir / "world.json").exists()  # no demo world
        result = CliRunner().invoke(app, ["run", "--plain"])
    assert CREDENTIALS["app_token"] not in result.output
    return f"{store}:{oid}", result


def _order_and_findings(settings, key: str) -> tuple[tuple, list[tuple], str]:
    with warehouse.read_serving(settings) as con:
        [order] = con.execute(
            "select total_amount, gross_amount, shipping_amount from fct_orders where order_key = ?", [key]
        ).fetchall()
        findings = con.execute(
            "select check_name, entity, store_id, detail, is_open from rpt_data_quality "
            "where record_key = ? order by check_name",
            [key],
        ).fetchall()
        [(status,)] = con.execute("select status from ops.builds").fetchall()
    return order, findings, status


def test_the_specs_example_order_lands_builds_publishes_and_is_a_finding(settings, monkeypatch):
    key, result = _run_with_the_example(
        monkeypatch, "2024-02-04T20:09:43.8999580+00:00", "2024-02-06T20:46:11.7010747+00:00"
    )
    assert result.exit_code == 0, result.output
    order, findings, status = _order_and_findings(settings, key)
    assert status == "success"
    assert order == (Decimal("11.60"), Decimal("0.99"), Decimal("3.00"))  # as VTEX states them
    assert findings == [
        ("lines_vs_items_total", "order", "vtex-br", "items total 0.99 ≠ 1 lines adding up to 9.90", True),
        VALUE_VS_TOTALS,
    ]


def test_the_example_created_after_its_own_cancellation_still_publishes(settings, monkeypatch):
    """Created two days ago, the example was canceled (2024-02-11) before it was placed: the stock
    marts reserved minus one unit from then on and failed the build; now it holds nothing, and the
    order is a date_out_of_range finding."""
    now = datetime.now(UTC).replace(tzinfo=None)
    key, result = _run_with_the_example(monkeypatch, _vtex(now - timedelta(days=2)), _vtex(now - timedelta(days=1)))
    assert result.exit_code == 0, result.output
    order, findings, status = _order_and_findings(settings, key)
    assert status == "success" and order[0] == Decimal("11.60")
    assert VALUE_VS_TOTALS in findings
    [(check, _, _, detail, _)] = [f for f in findings if f[0] == "date_out_of_range"]
    assert detail.startswith("canceled at 2024-02-11 09:14:41") and "before it was placed at" in detail
    with warehouse.read_serving(settings) as con:
        assert con.execute("select count(*) from fct_stock_levels where reserved <> 0").fetchall() == [(0,)]


def test_a_store_in_no_seed_lands_and_publishes_in_its_own_time_zone(settings, monkeypatch):
    """vtex-example is configured in settings alone (currency BRL, time zone America/Sao_Paulo): the
    build publishes (a store missing from a seed failed a relationships test before), dim_stores
    has its row, and an order placed at 22:30 in São Paulo (01:30 UTC the next day) is placed on
    its local day, with the promise counted from that day."""
    key, result = _run_with_the_example(
        monkeypatch,
        "2024-02-05T01:30:00.0000000+00:00",
        "2024-02-06T20:46:11.7010747+00:00",
        store="vtex-example",
        profile={"currency": "BRL", "timezone": "America/Sao_Paulo"},
    )
    assert result.exit_code == 0, result.output
    with warehouse.read_serving(settings) as con:
        assert con.execute("select status from ops.builds").fetchall() == [("success",)]
        assert con.execute(
            "select store_id, channel, store_name, currency, timezone, country, promised_days, locale, "
            "is_configured from dim_stores where store_id = 'vtex-example'"
        ).fetchall() == [("vtex-example", "vtex", "vtex-example", "BRL", "America/Sao_Paulo", None, 3, "en", True)]
        [order] = con.execute(
            "select placed_at, placed_date, promised_delivery_date, promised_delivery_by, currency "
            "from fct_orders where order_key = ?",
            [key],
        ).fetchall()
        [(daily_date, orders)] = con.execute(
            "select placed_date, orders from rpt_orders_daily where store_id = 'vtex-example'"
        ).fetchall()
    assert order == (
        datetime(2024, 2, 5, 1, 30),
        date(2024, 2, 4),  # São Paulo's day (UTC-3), not the UTC one
        date(2024, 2, 7),  # + 3 days, the default promise
        datetime(2024, 2, 8, 3, 0),  # the end of 7 February in São Paulo, in UTC
        "BRL",
    )
    assert (daily_date, orders) == (date(2024, 2, 4), 1)
