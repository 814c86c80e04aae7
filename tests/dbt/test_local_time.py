"""Local time, engine-neutral: the time-zone macros (dbt/macros/time_zones.sql, to_utc_timestamp)
compiled by dbt for the warehouse's engine and run on a real DuckDB file, in a session whose own
time zone is neither UTC nor the store's (it must play no part). The daylight-saving rule: a
local time in a spring-forward gap is read with the offset before the jump; one in a fall-back
repeated hour is its first occurrence."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from afterclick.transform import _dbt_environment, _dbt_paths, _dbt_vars

CASES = {
    # Madrid, 31 March 2024: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist
    "gap": ("local_to_utc", "timestamp '2024-03-31 02:30:00'", "'Europe/Madrid'", datetime(2024, 3, 31, 1, 30)),
    # Madrid, 27 October 2024: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC
    "repeated": ("local_to_utc", "timestamp '2024-10-27 02:30:00'", "'Europe/Madrid'", datetime(2024, 10, 27, 0, 30)),
    "after_repeated": (
        "local_to_utc",
        "timestamp '2024-10-27 03:30:00'",
        "'Europe/Madrid'",
        datetime(2024, 10, 27, 2, 30),
    ),
    "summer": ("local_to_utc", "timestamp '2024-07-01 12:00:00'", "'Europe/Madrid'", datetime(2024, 7, 1, 10, 0)),
    # 01:30 UTC on 5 February is 22:30 the evening before in São Paulo (UTC-3)
    "to_local": (
        "utc_to_local",
        "timestamp '2024-02-05 01:30:00'",
        "'America/Sao_Paulo'",
        datetime(2024, 2, 4, 22, 30),
    ),
    "local_date": ("local_date", "timestamp '2024-02-05 01:30:00'", "'America/Sao_Paulo'", date(2024, 2, 4)),
    "zone_column": ("local_date", "timestamp '2024-02-05 05:30:00'", "zone", date(2024, 2, 4)),  # Mexico City
    # a naive source string read in the store's zone; one with an offset keeps its offset
    "naive_string": ("to_utc_timestamp", "'2024-10-27 02:30:00'", "'Europe/Madrid'", datetime(2024, 10, 27, 0, 30)),
    "offset_string": (
        "to_utc_timestamp",
        "'2024-10-27T02:30:00-03:00'",
        "'Europe/Madrid'",
        datetime(2024, 10, 27, 5, 30),
    ),
    "no_zone": ("to_utc_timestamp", "'2024-10-27 02:30:00'", None, datetime(2024, 10, 27, 2, 30)),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> str:
    """One query with a column per case, compiled by dbt (``dbt compile --inline``) for DuckDB."""
    from dbt.cli.main import dbtRunner

    from afterclick.settings import load_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("AFTERCLICK_STATE_DIR", str(tmp_path_factory.mktemp("local_time") / "state"))
    settings = load_settings()
    settings.ensure_dirs()
    columns = ",\n".join(
        f"{{{{ {macro}({expression!r}" + (f", {zone!r}" if zone else "") + f") }}}} as {name}"
        for name, (macro, expression, zone, _) in CASES.items()
    )
    inline = f"select {columns} from (select 'America/Mexico_City' as zone) as stores"
    try:
        with _dbt_environment(settings):
            outcome = dbtRunner().invoke(
                ["compile", "--inline", inline, *_dbt_paths(settings), *_dbt_vars(settings, None)]
            )
    finally:
        mp.undo()
    assert outcome.success, outcome.exception
    return outcome.result.results[0].node.compiled_code


@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Tokyo"])
def test_the_time_zone_macros_follow_the_stated_rule_in_any_session_zone(compiled, session_zone, tmp_path):
    with duckdb.connect(str(tmp_path / "local_time.duckdb")) as con:
        con.execute(f"set TimeZone = '{session_zone}'")
        cursor = con.execute(compiled)
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    assert row == {name: expected for name, (*_, expected) in CASES.items()}


def test_the_demo_stores_are_described_by_settings_and_their_days_are_local(built):
    """The demo world's stores reach dim_stores through settings (demo/outside_world.py configures
    them as a merchant would, from demo/catalog.py), and every order's placed date and promise are
    days in its store's time zone."""
    import polars as pl

    from afterclick import warehouse
    from demo.catalog import STORES

    settings, *_ = built
    with warehouse.connect(settings) as con:
        stores = con.sql(
            "select store_id, channel, store_name, currency, timezone, country, promised_days, locale, is_configured "
            "from marts.dim_stores order by store_id"
        ).fetchall()
        orders = con.sql(
            "select o.store_id, o.placed_at, o.placed_date, o.promised_delivery_date, o.promised_delivery_by "
            "from marts.fct_orders as o"
        ).pl()
    assert stores == sorted(
        (s.store_id, s.channel, s.name, s.currency, s.timezone, s.country, s.promised_days, s.locale, True)
        for s in STORES
    )
    zone = {s.store_id: s.timezone for s in STORES}
    promise = {s.store_id: s.promised_days for s in STORES}
    local = pl.coalesce(
        pl.when(pl.col("store_id") == store).then(
            pl.col("placed_at").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
        )
        for store, tz in zone.items()
    )
    orders = orders.with_columns(expected=local, days=pl.col("store_id").replace_strict(promise))
    assert orders.filter(pl.col("placed_date") != pl.col("expected")).is_empty()
    assert orders.filter(pl.col("placed_date") != pl.col("placed_at").dt.date()).height > 0  # evenings in America
    promised = orders.filter(
        pl.col("promised_delivery_date") != pl.col("placed_date") + pl.duration(days=pl.col("days"))
    )
    assert promised.is_empty()
    # the promise ends at the local midnight after the promised day: 03:00 UTC in São Paulo
    brazil = orders.filter(pl.col("store_id") == "vtex-br")
    assert (brazil["promised_delivery_by"].dt.hour() == 3).all()
