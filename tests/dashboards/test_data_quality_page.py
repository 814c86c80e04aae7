"""The overview page shows how many data-quality findings are open and, in an expander, the newest
of each check (from the snapshot's rpt_data_quality); closed findings are not counted."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")


def _overview() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _expander(at: AppTest):
    [expander] = [e for e in at.expander if e.label.startswith("Data-quality findings")]
    return expander


def test_overview_shows_the_open_findings_and_the_newest_of_each_check(snapshot, settings):
    shutil.copy(snapshot.serving_path, settings.serving_path)  # a private copy: the shared one stays clean
    with duckdb.connect(str(settings.serving_path)) as con:
        con.execute("delete from rpt_data_quality")
        con.execute("""insert into rpt_data_quality by name
            select 'x|order|vtex-br:' || range as finding_key, 'order_value_vs_components' as check_name,
                   'vtex-br' as store_id, 'order' as entity, 'vtex-br:' || range as record_key,
                   'order value 11.60 ≠ items 0.99' as detail,
                   timestamp '2026-10-01 10:00' + to_days(cast(range as integer)) as first_seen_at,
                   timestamp '2026-10-30 10:00' as last_seen_at, true as is_open
            from range(7)""")
        con.execute("""insert into rpt_data_quality by name select * from (values
            ('y', 'orphan_line', 'shopify-es', 'order_line', 'shopify-es:7:1', 'order shopify-es:7 not found',
             timestamp '2026-10-02 10:00', timestamp '2026-10-30 10:00', true),
            ('z', 'orphan_line', 'shopify-es', 'order_line', 'shopify-es:8:1', 'fixed since',
             timestamp '2026-09-02 10:00', timestamp '2026-09-30 10:00', false)
        ) as t(finding_key, check_name, store_id, entity, record_key, detail, first_seen_at, last_seen_at, is_open)""")
    at = _overview()
    expander = _expander(at)
    assert expander.label == "Data-quality findings: 8 open"
    shown = expander.dataframe[0].value
    assert "open_findings" not in shown.columns
    assert list(shown["record_key"]) == [f"vtex-br:{n}" for n in (6, 5, 4, 3, 2)] + ["shopify-es:7:1"]
    assert "shopify-es:8:1" not in set(shown["record_key"])  # closed


def test_overview_without_findings_says_none_are_open(snapshot, settings):
    shutil.copy(snapshot.serving_path, settings.serving_path)
    with duckdb.connect(str(settings.serving_path)) as con:
        con.execute("delete from rpt_data_quality")
    expander = _expander(_overview())
    assert expander.label == "Data-quality findings: 0 open" and not expander.dataframe
