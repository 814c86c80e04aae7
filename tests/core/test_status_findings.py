"""`afterclick status` lists the open data-quality findings per check and store (from the snapshot's
rpt_data_quality); closed ones are not counted, and no customer email is shown."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import app

from snapshots import published, small_warehouse  # noqa: F401 - published is a fixture

runner = CliRunner()

FINDINGS = """
    create or replace table marts.rpt_data_quality as select * from (values
        ('a', 'order_value_vs_components', 'vtex-br', 'order', 'vtex-br:1', 'order value 11.60 ≠ items 0.99',
         timestamp '2026-10-01 10:00', timestamp '2026-10-03 10:00', true),
        ('b', 'order_value_vs_components', 'vtex-br', 'order', 'vtex-br:2', 'order value 5.00 ≠ items 4.00',
         timestamp '2026-10-02 10:00', timestamp '2026-10-03 10:00', true),
        ('c', 'order_value_vs_components', 'shopify-es', 'order', 'shopify-es:9', 'fixed since',
         timestamp '2026-09-01 10:00', timestamp '2026-09-02 10:00', false),
        ('d', 'orphan_line', 'shopify-es', 'order_line', 'shopify-es:7:1', 'order shopify-es:7 not found',
         timestamp '2026-10-02 10:00', timestamp '2026-10-03 10:00', true)
    ) as t(finding_key, check_name, store_id, entity, record_key, detail, first_seen_at, last_seen_at, is_open)
"""


def test_status_shows_open_findings_per_check_and_store(settings):
    small_warehouse(settings, FINDINGS)
    warehouse.publish(settings)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    section = result.output.split("open data-quality findings")[1]
    assert re.search(r"order_value_vs_components\s+vtex-br\s+2\s+2026-10-01 10:00:00", section)
    assert re.search(r"orphan_line\s+shopify-es\s+1\s", section)
    assert "shopify-es:9" not in section and not re.search(r"order_value_vs_components\s+shopify-es", section)


def test_status_without_findings_says_none(published):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert result.output.split("open data-quality findings")[1].split(":", 1)[1].split("\n")[1] == "(none)"
