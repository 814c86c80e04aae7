"""The overview page renders from the serving snapshot and its filters change the numbers."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from afterclick import warehouse
from afterclick.transform import run_dbt
from ingest.run import ingest_all

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")


@pytest.fixture
def published(settings, small_world):
    with warehouse.writer(settings):
        ingest_all(settings)
        assert run_dbt(settings).status == "success"
        warehouse.publish(settings)
    return settings


def _param(at, name):
    value = at.query_params[name]
    return value if isinstance(value, str) else value[0]


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_the_orders_of_the_period(published):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    start, end = _param(at, "start"), _param(at, "end")
    with warehouse.read_serving(published) as con:
        expected = con.execute("select count(*) from fct_orders where placed_date between ? and ?",
                               [start, end]).fetchall()[0][0]
    assert _metric(at, "Orders") == f"{expected:,}"


def test_the_channel_filter_narrows_the_numbers_and_lands_in_the_url(published):
    at = AppTest.from_file(APP, default_timeout=60).run()
    all_orders = int(_metric(at, "Orders").replace(",", ""))
    at.multiselect(key="channels").select("marketplace").run()
    assert _param(at, "channel") == "marketplace"
    at.date_input(key="dates").set_value((at.date_input(key="dates").value[0],
                                          at.date_input(key="dates").value[0])).run()
    one_day = int(_metric(at, "Orders").replace(",", ""))
    assert one_day < all_orders


def test_without_a_snapshot_the_app_says_what_to_do(settings):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No serving snapshot yet" in at.info[0].value
