"""A small published serving snapshot for the tests of its readers (ad-hoc SQL, status, dashboards)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from afterclick import warehouse


def small_warehouse(settings, extra_sql: str = "") -> None:
    """A warehouse with a mart and one load, one build and one run recorded (and ``extra_sql``)."""
    with warehouse.connect(settings) as con:
        con.execute("""
            create schema if not exists marts;
            create or replace table marts.fct_orders as select range as n, 'shopify' as channel from range(3);
            insert into ops.loads values ('b-1', 'marketplace', 'orders', 'amazon-es', 3, 1, '2026-10-01',
                                          '2026-10-01 10:00', '2026-10-01 10:01');
            insert into ops.builds values ('build-1', 'build', 'success', '2026-10-01 10:02', '2026-10-01 10:05',
                                           12, 30, 0, '[]');
            insert into ops.runs values ('run-ok-1', 'pipeline', 'success', '2026-10-01 10:00', '2026-10-01 10:06',
                                         '{"ingest": {"rows_landed": 3}}', null);
        """)
        if extra_sql:
            con.execute(extra_sql)


@pytest.fixture
def published(settings):
    """Settings whose state dir holds a small warehouse and its published snapshot."""
    small_warehouse(settings)
    warehouse.publish(settings)
    return settings


def files_under(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its content: what a reader must leave as it was."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
