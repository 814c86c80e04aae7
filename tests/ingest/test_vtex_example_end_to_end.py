"""VTEX's own example order (../shared/api-specs), listed as VTEX spells it, lands into a fresh state
with no demo world through ``afterclick run --plain``: the build publishes although the example's
``value`` (1160 cents) disagrees with its ``totals`` (99 + 300), the order keeps its stated total,
and the disagreement is a data-quality finding that names the order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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


def _run_with_the_example(monkeypatch, created: str, changed: str) -> tuple[str, object]:
    """``afterclick run --plain`` on a fresh state whose one store, vtex-br, is the spec's VTEX
    serving its example order (created and changed at the given VTEX timestamps)."""
    with SpecVtex() as server:
        oid = server.example["orderId"]
        server.add(oid, created, changed)
        assert "lastChange" not in server.listed[oid]  # the list item as the spec shows it
        monkeypatch.setenv("AFTERCLICK_DEMO_CHANNELS", "false")
        monkeypatch.setenv("AFTERCLICK_DISABLED_SOURCES", json.dumps([s for s in SOURCES if s != "channels"]))
        monkeypatch.setenv("AFTERCLICK_WRITEBACK__KINDS", "[]")
        monkeypatch.setenv(
            "AFTERCLICK_CHANNEL_STORES",
            json.dumps({"vtex-br": {"channel": "vtex", "base_url": server.url, "credentials": CREDENTIALS}}),
        )
        assert not (load_settings().demo_dir / "world.json").exists()  # no demo world
        result = CliRunner().invoke(app, ["run", "--plain"])
    assert CREDENTIALS["app_token"] not in result.output
    return f"vtex-br:{oid}", result


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
