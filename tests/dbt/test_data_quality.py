"""Data quality that does not stop the business: record-level checks of the sources' data are
findings in rpt_data_quality (kept with the instant first seen; closed once fixed at the source),
never build failures; structural tests of our own making still fail the build, naming the keys."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from afterclick.transform import run_dbt
from tests.conftest import WORLD_END

CHECKS = {
    "order_value_vs_components",
    "lines_vs_items_total",
    "refunds_above_payments",
    "refunds_vs_order_refunded",
    "non_positive_quantity",
    "negative_amount",
    "date_out_of_range",
    "orphan_line",
}


def _sql(settings, query: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def test_the_demo_world_builds_and_its_findings_come_from_the_record_checks(built):
    settings, first, second = built
    assert first.status == "success" and second.status == "success", (first.errors, second.errors)
    findings = _sql(
        settings,
        "select check_name, entity, count(*) from marts.rpt_data_quality where is_open group by all order by all",
    )
    assert {check for check, _, _ in findings} <= CHECKS
    assert findings == []  # the demo world's records break no check (its figures are unchanged)
    # no customer email in a finding
    assert _sql(settings, "select count(*) from marts.rpt_data_quality where detail like '%@%'") == [(0,)]


def test_a_duplicated_key_fails_the_build_naming_the_key(wb):
    [(key,)] = _sql(wb, "select min(order_key) from marts.fct_orders")
    _sql(wb, "insert into marts.fct_orders select * from marts.fct_orders where order_key = ?", [key])
    result = run_dbt(wb, "test", select="fct_orders")
    assert result.status == "failed"
    [error] = [e for e in result.errors if "primary_key_fct_orders_order_key" in e]
    assert f"key_value={key}" in error and "rows_with_it=2" in error, error


def test_a_finding_keeps_when_it_was_first_seen_and_closes_once_fixed_at_the_source(wb):
    [(key, total)] = _sql(
        wb,
        "select min(order_key), min(total_amount) from intermediate.int_orders_unioned "
        "where order_key = (select min(order_key) from intermediate.int_orders_unioned)",
    )
    before = dict(
        ((k, c), (f, o))
        for k, c, f, o in _sql(wb, "select record_key, check_name, first_seen_at, is_open from marts.rpt_data_quality")
    )
    assert (key, "order_value_vs_components") not in before

    def build(day: int) -> dict:
        wb.as_of = WORLD_END + timedelta(days=day)
        assert run_dbt(wb, "run", select="rpt_data_quality").status == "success"
        return {
            (k, c): (f, s, o, d)
            for k, c, f, s, o, d in _sql(
                wb,
                "select record_key, check_name, first_seen_at, last_seen_at, is_open, detail from marts.rpt_data_quality",
            )
        }

    _sql(wb, "update intermediate.int_orders_unioned set total_amount = total_amount + 5 where order_key = ?", [key])
    seen = build(1)
    first_seen, last_seen, is_open, detail = seen[(key, "order_value_vs_components")]
    assert (first_seen, last_seen, is_open) == (WORLD_END + timedelta(days=1), WORLD_END + timedelta(days=1), True)
    assert detail.startswith(f"order value {total + 5} ≠ items ")
    for finding, (first, _was_open) in before.items():  # the older findings keep their first sighting
        assert seen[finding][0] == first
    again = build(2)  # still there: first seen stays
    assert again[(key, "order_value_vs_components")][:3] == (
        WORLD_END + timedelta(days=1),
        WORLD_END + timedelta(days=2),
        True,
    )
    _sql(wb, "update intermediate.int_orders_unioned set total_amount = total_amount - 5 where order_key = ?", [key])
    fixed = build(3)  # fixed at the source: kept, closed, last seen the day before
    assert fixed[(key, "order_value_vs_components")][:3] == (
        WORLD_END + timedelta(days=1),
        WORLD_END + timedelta(days=2),
        False,
    )
