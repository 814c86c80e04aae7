"""The ledger's own transactions: a statement that fails inside one is reported as itself and leaves
nothing half-recorded."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from writeback import ledger
from writeback.ledger import Change, Outcome

NOW = datetime(2026, 11, 20, 12, 0)


def test_a_failing_statement_in_a_ledger_transaction_reports_its_own_error_and_records_nothing(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema ops")
    ledger.ensure(con)
    changes = [Change("stock", "shop-a", "shopify", f"sku-{i}", {"available": i}) for i in range(3)]
    todo, _ = ledger.plan(con, "stock", "shop-a", changes, NOW)
    ledger.mark_pending(con, todo, NOW)
    # the attempts table has lost a column: settling must fail on the insert of the attempts
    con.execute("alter table ops.writeback_attempts drop column dry_run")
    with pytest.raises(duckdb.Error) as failed:
        ledger.settle(con, [Outcome(c, True, 200) for c in todo], NOW, max_attempts=5, backoff_seconds=60)
    # the error says what failed (the statement's own), not that the transaction was aborted
    assert "aborted" not in str(failed.value)
    assert "column" in str(failed.value).lower()
    # the outcomes' ledger update committed with the attempts or not at all: still pending
    statuses = con.execute("select status, count(*) from ops.writeback_ledger group by status").fetchall()
    assert statuses == [("pending", 3)]
    # and the connection is usable again: the next run finds the three pending
    _, pending = ledger.plan(con, "stock", "shop-a", changes, NOW)
    assert sorted(c.key for c in pending) == ["sku-0", "sku-1", "sku-2"]
