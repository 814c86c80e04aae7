"""Every dashboard page on the built demo world: it renders, its filters change the numbers they
should (checked against the snapshot itself), an absent mart gives a friendly message, customers
show as pseudonyms, user text never reaches SQL as SQL, a publish while the app is open shows the
new data, and orders dated after the snapshot's as-of day never set the default period."""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from afterclick import warehouse
from dashboards import kpis
from dashboards.filters import Filters
from tests.conftest import WORLD_END

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
PAGES = ("overview", "order_cycle", "delivery", "stock", "customers", "writeback", "runs")


@pytest.fixture
def app(snapshot, built_env):
    def open_page(page: str, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, at.exception
        return at

    return open_page


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def _sql(settings, sql: str, params=()) -> list:
    with warehouse.read_serving(settings) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_demo_world(app, page):
    at = app(page)
    assert at.title[0].value
    assert len(at.dataframe) >= 1 and not at.info
    assert at.get("vega_lite_chart")  # its charts are there


def test_writeback_page_shows_the_carrier_file_exchange(app, snapshot):
    # the demo build pushes nothing to channels, but it exchanges carrier files: the page shows them
    at = app("writeback")
    by_day = at.dataframe[0].value
    expected = _sql(snapshot, "select count(*) from ops.writeback_attempts where kind = 'carrier_file'")[0][0]
    assert expected > 0
    assert set(by_day["kind"]) == {"carrier_file"} and by_day["attempts"].sum() == expected


def test_runs_page_shows_the_last_run_of_every_flow(app, snapshot):
    at = app("runs")
    [(flows, last_models)] = _sql(
        snapshot, "select count(distinct flow), max_by(summary->>'$.transform.models_built', started_at) from ops.runs"
    )
    assert _metric(at, "Flows") == f"{flows:,}"
    last = at.dataframe[0].value
    assert len(last) == flows and int(last.loc[last["flow"] == "transform", "models_built"].iloc[0]) == int(last_models)


def test_order_cycle_channel_filter_and_stuck_search(app, snapshot):
    at = app("order_cycle", start="2026-10-01", end="2026-10-31", channel="vtex")
    funnel = at.dataframe[0].value
    expected = _sql(
        snapshot,
        "select count(*) from fct_order_cycle where channel = 'vtex' "
        "and placed_date between '2026-10-01' and '2026-10-31'",
    )[0][0]
    assert funnel["orders"].sum() == expected > 0
    stuck_all = len(at.dataframe[-1].value)
    at.text_input(key="stuck_search").input("picked").run()
    stuck_picked = at.dataframe[-1].value
    assert (stuck_picked["stage"] == "picked").all() and len(stuck_picked) <= stuck_all
    at.text_input(key="stuck_search").input("x' or 1=1 --").run()  # text is a bound parameter, not SQL
    assert not at.exception and "No stuck order matches." in [c.value for c in at.caption]


def test_delivery_carrier_filter_counts_that_carriers_parcels(app, snapshot):
    at = app("delivery", start="2026-10-01", end="2026-10-31", carrier="correos")
    expected = _sql(  # parcels count on the day they shipped, in their store's time zone
        snapshot,
        "select count(*) from fct_shipments as s join dim_stores as st on s.store_id = st.store_id "
        "where s.carrier = 'correos' and cast(timezone(st.timezone, timezone('UTC', s.shipped_at)) as date) "
        "between '2026-10-01' and '2026-10-31'",
    )[0][0]
    assert _number(_metric(at, "Parcels shipped")) == expected > 0
    everyone = app("delivery", start="2026-10-01", end="2026-10-31")
    assert _number(_metric(everyone, "Parcels shipped")) > expected


def test_stock_warehouse_filter_sums_that_warehouse(app, snapshot):
    at = app("stock", warehouse="wh-lis")
    expected = _sql(snapshot, "select sum(on_hand) from fct_stock_levels where is_current and warehouse_id = 'wh-lis'")[
        0
    ][0]
    assert _number(_metric(at, "Units on hand")) == expected > 0
    assert set(at.dataframe[0].value["warehouse_id"]) == {"wh-lis"}


def test_customers_channel_filter_and_pseudonymous_customers(app, snapshot):
    at = app("customers", start="2026-09-01", end="2026-10-31", channel="shopify")
    expected = _sql(
        snapshot,
        "select count(*) from dim_customers where acquisition_channel = 'shopify' "
        "and cast(first_order_at as date) between '2026-09-01' and '2026-10-31'",
    )[0][0]
    assert _number(_metric(at, "New customers")) == expected > 0
    # pseudonyms, shortened (published addresses shown clear: tests/reliability/test_customer_addresses.py)
    shown = at.dataframe[-1].value["customer_email"].dropna()
    assert len(shown) and all(e.startswith("anon-") and e.endswith("…") and "@" not in e for e in shown)


def _kpis(snapshot, names: list[str], start: str, end: str) -> dict:
    """The KPIs as their one definition computes them (dashboards/kpis.py), on the snapshot."""
    period = Filters(start=date.fromisoformat(start), end=date.fromisoformat(end))
    got = {}
    with warehouse.read_serving(snapshot) as con:
        for name in names:
            query, params = kpis.sql([name], period)
            got[name] = con.execute(query, params).fetchall()[0][0]
    return got


def test_pages_show_the_kpis_as_defined(app, snapshot):
    """The tiles show the KPI definitions' figures: revenue net of tax, shipping and cancellations;
    first-attempt success over delivered parcels; OTIF over fully delivered orders."""
    period = {"start": "2026-09-01", "end": "2026-10-31"}
    at = app("overview", **period)
    want = _kpis(snapshot, ["orders", "revenue", "on_time_rate"], **period)
    assert _metric(at, "Orders") == f"{want['orders']:,.0f}"
    assert _metric(at, "Revenue (EUR)") == f"{want['revenue']:,.0f}"
    assert _metric(at, "On-time rate") == f"{want['on_time_rate']:.1%}"
    with warehouse.read_serving(snapshot) as con:
        [(with_tax,)] = con.execute(
            "select sum(total_amount_rc) from fct_orders where placed_date between ? and ?", list(period.values())
        ).fetchall()
    assert _number(_metric(at, "Revenue (EUR)")) < float(with_tax)  # no tax, shipping or canceled orders
    at = app("delivery", **period)
    want = _kpis(snapshot, ["on_time_rate", "otif_rate", "first_attempt_rate", "return_rate"], **period)
    for label, name in (
        ("On-time rate", "on_time_rate"),
        ("OTIF", "otif_rate"),
        ("First-attempt success", "first_attempt_rate"),
        ("Return rate", "return_rate"),
    ):
        assert _metric(at, label) == f"{want[name]:.1%}", label


def test_filters_land_in_the_url(app):
    at = app("delivery")
    at.multiselect(key="carrier").select("seur").run()
    at.toggle(key="compare").set_value(False).run()
    assert at.query_params["carrier"] in ("seur", ["seur"])
    assert at.query_params["compare"] in ("0", ["0"])


def test_a_publish_while_open_shows_the_new_snapshot(app, snapshot, tmp_path):
    """A new snapshot swapped in (atomically, as publish does) while the app is open: the next
    interaction shows its numbers, without an error."""
    at = app("overview")
    orders = _number(_metric(at, "Orders"))
    changed = tmp_path / "changed.duckdb"
    shutil.copy(snapshot.serving_path, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute("delete from rpt_kpi_orders_daily where channel = 'vtex'")
        con.execute("update _snapshot set version = 'changed'")
    os.replace(changed, snapshot.serving_path)
    try:
        at.run()
        assert not at.exception
        assert _number(_metric(at, "Orders")) < orders
    finally:
        warehouse.publish(snapshot)


def test_orders_dated_after_the_as_of_day_do_not_move_the_default_period(snapshot, settings):
    """The snapshot (computed as of the world's end) gets an order dated the day after its as-of day
    and one dated 2099: the default period still ends at the newest order up to the as-of day, on
    every page that has the period."""
    shutil.copy(snapshot.serving_path, settings.serving_path)  # a private copy: the shared one stays clean
    with duckdb.connect(str(settings.serving_path)) as con:
        [(as_of,)] = con.execute("select date_day from dim_dates where is_as_of_day").fetchall()
        [(newest,)] = con.execute("select max(placed_date) from fct_orders").fetchall()
        for late in (as_of + timedelta(days=1), date(2099, 6, 1)):
            con.execute(
                "insert into fct_orders select * replace (order_key || ? as order_key, "
                "cast(? as date) as placed_date, cast(? as timestamp) as placed_at) "
                "from fct_orders order by order_key limit 1",
                [f"-{late:%Y}", late, late],
            )
        assert con.execute("select max(placed_date) from fct_orders").fetchall() == [(date(2099, 6, 1),)]
    assert as_of == WORLD_END.date() and newest <= as_of
    for page in ("overview", "customers"):
        at = AppTest.from_file(APP, default_timeout=60).run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, at.exception
        assert at.date_input(key="dates").value == (newest - timedelta(days=29), newest), page
        assert at.query_params["end"] in (newest.isoformat(), [newest.isoformat()]), page


def test_pages_whose_marts_are_absent_say_so(settings):
    """A snapshot with only the orders marts: the other pages explain instead of failing."""
    path = settings.serving_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create table _snapshot (version varchar, published_at timestamptz, tables json)")
        con.execute("insert into _snapshot values ('v1', now(), '{}')")
        con.execute("create table fct_orders (placed_date date, channel varchar)")
        con.execute(
            "create table rpt_kpi_orders_daily (placed_date date, channel varchar, orders int, revenue_rc decimal(38, 2))"
        )
    for page in PAGES[1:]:
        at = AppTest.from_file(APP, default_timeout=60).run()
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert any(
            says in at.info[0].value for says in ("not built yet", "No write-back has run yet", "No run recorded yet")
        ), page


def test_the_runs_page_counts_a_partial_run_with_the_failed_ones(snapshot, settings):
    """A run some of whose sources failed is recorded as partial: the Runs page counts its flow among
    those whose last run did not succeed and lists it with its error."""
    shutil.copy(snapshot.serving_path, settings.serving_path)  # a private copy: the shared one stays clean
    with duckdb.connect(str(settings.serving_path)) as con:
        con.execute(
            "insert into ops.runs values ('partial-1', 'pipeline', 'partial', now()::timestamp, "
            "now()::timestamp, '{}', '1 source failed: erp (OperationalError: no such file)')"
        )
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/runs.py").run()
    assert not at.exception, at.exception
    assert _metric(at, "Whose last run failed or was partial") == "1"
    listed = at.dataframe[-1].value
    assert list(listed["status"]) == ["partial"] and "erp" in listed["error"].iloc[0]
