"""The generic data tests of ours that keys and required columns rely on (dbt/tests/generic):
each must fail on what it guards against, and say what it found."""

from __future__ import annotations

import duckdb

from afterclick.transform import run_dbt


def _failures(result) -> dict[str, str]:
    return {e.split(":")[0].removeprefix("test ").split(".")[0]: e for e in result.errors}


def test_primary_key_and_not_null_columns_fail_on_a_duplicate_key_and_on_nulls(wb):
    assert run_dbt(wb, "test", select="fct_orders").status == "success"
    con = duckdb.connect(str(wb.warehouse_path))
    try:
        con.execute("insert into marts.fct_orders select * from marts.fct_orders limit 1")  # a key twice
        con.execute(
            "update marts.fct_orders set placed_at = null where order_key in "
            "(select order_key from marts.fct_orders order by order_key limit 2)"
        )  # one column, 2 rows
    finally:
        con.close()
    result = run_dbt(wb, "test", select="fct_orders")
    assert result.status == "failed"
    failed = _failures(result)
    key = next(e for name, e in failed.items() if name.startswith("primary_key_fct_orders_order_key"))
    nulls = next(e for name, e in failed.items() if name.startswith("not_null_columns_fct_orders"))
    assert "Got 1 result" in key  # one key value carried by two rows
    assert "Got 1 result" in nulls  # one column with nulls (placed_at), not one row per null
    assert len(failed) == 2, failed  # nothing else broke
