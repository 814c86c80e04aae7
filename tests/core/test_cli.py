"""The CLI: every command has help; sql answers in three formats and cannot write."""

import json

import pytest
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import EXIT_REFUSED, app

runner = CliRunner()


@pytest.mark.parametrize(
    "command", ["generate", "run", "build", "dashboard", "sql", "status", "publish", "demo", "emulate"]
)
def test_every_command_says_what_it_does(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) > 3


@pytest.fixture
def snapshot(settings):
    con = warehouse.connect(settings)
    con.execute(
        "create schema marts; create table marts.fct_orders as select range as n, 'shopify' as channel from range(3)"
    )
    con.close()
    warehouse.publish(settings)
    return settings


def test_sql_answers_as_csv_and_json(snapshot):
    csv = runner.invoke(app, ["sql", "select count(*) as n from fct_orders", "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines() == ["n", "3"]
    out = runner.invoke(app, ["sql", "select n from fct_orders order by n", "-f", "json"])
    assert json.loads(out.output) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_sql_refuses_to_write(snapshot):
    result = runner.invoke(app, ["sql", "drop table fct_orders"])
    assert result.exit_code == EXIT_REFUSED
    assert "DROP" in result.output and "read-only" in result.output
    with warehouse.read_serving(snapshot) as con:
        assert con.sql("select count(*) from fct_orders").fetchall() == [(3,)]


def test_sql_without_a_snapshot_says_how_to_get_one(settings):
    result = runner.invoke(app, ["sql", "select 1"])
    assert result.exit_code == 2 and "afterclick run" in result.output


def test_status_reports_loads_and_builds(snapshot):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    assert "last loads per source" in result.output and "serving snapshot" in result.output


def test_build_full_refresh_migrates_a_model_whose_columns_changed(wb):
    """A warehouse built before fct_stock_levels had level_changed_on: the incremental build fails
    and says what to do; `afterclick build --full-refresh` rebuilds it and publishes."""
    with warehouse.connect(wb) as con:
        con.execute("alter table marts.fct_stock_levels drop column level_changed_on")
    failed = runner.invoke(app, ["build", "--select", "fct_stock_levels", "--no-publish"])
    assert failed.exit_code == 1 and "--full-refresh" in failed.output
    assert not wb.serving_path.exists()
    rebuilt = runner.invoke(app, ["build", "--select", "fct_stock_levels", "--full-refresh"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "from scratch" in rebuilt.output and str(wb.serving_path) in rebuilt.output
    with warehouse.connect(wb) as con:
        assert con.sql("select count(*) from marts.fct_stock_levels where level_changed_on is null").fetchall() == [
            (0,)
        ]
        assert con.sql("select count(*) from marts.fct_stock_levels").fetchall()[0][0] > 0
    with warehouse.connect_read_only(wb.serving_path) as snap:
        assert "level_changed_on" in [c[0] for c in snap.sql("describe fct_stock_levels").fetchall()]


WITHOUT_THE_DEMO_EXTRA = (
    "import sys\n"
    "from afterclick.cli import DEMO_EXTRA_MODULES, app\n"
    "for module in DEMO_EXTRA_MODULES:\n"
    "    sys.modules[module] = None  # import fails: ModuleNotFoundError, as if not installed\n"
    "app()\n"
)


@pytest.mark.parametrize("command", [["demo", "--no-serve", "--plain"], ["emulate"]])
def test_a_demo_command_without_the_demo_extra_says_how_to_install_it(settings, command):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_DEMO_EXTRA, *command], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == ["the demo needs the demo extra: pip install 'afterclick[demo]'"]
    assert not (settings.demo_dir / "world.json").exists()  # it stopped before generating anything


SOURCED_SETTINGS = (
    "import json\n"
    "from afterclick.settings import load_settings\n"
    "s = load_settings()\n"
    "print(json.dumps({'stores': sorted(s.channel_stores), 'smtp': [s.smtp.host, s.smtp.port],\n"
    "                  'erp': s.erp.url.get_secret_value(), 'tracking': s.tracking_api.url,\n"
    "                  'token': s.tracking_api.token.get_secret_value(),\n"
    "                  'label_command': s.carrier_files['correos'].label_command,\n"
    "                  'zones': {k: v.timezone for k, v in [*s.channel_stores.items(), *s.marketplaces.items()]}}))\n"
)


def test_emulate_publishes_the_demo_worlds_systems_as_settings_a_shell_sources(settings, small_world):
    """`afterclick emulate` serves the tracking service too, and names the stores, mailbox, ERP,
    tracking service and label tool as settings, in the stores file and as AFTERCLICK_* variables
    beside it: sourced by a shell, they configure every command to use the demo world."""
    import shlex
    import subprocess
    import sys

    import httpx

    from demo.catalog import STORES
    from demo.emulators.server import emulator_process
    from demo.generate import load_truth

    stores_file = settings.root / "stores.json"
    env_file = stores_file.with_suffix(".env")
    parcel = load_truth(settings).tracking_events["tracking_number"][0]
    with emulator_process(stores_file, timeout=120, tracking=True) as (proc, reach):
        assert set(reach) == {"channel_stores", "smtp", "erp", "tracking_api", "carrier_files", "marketplaces"}
        sourced = subprocess.run(
            ["bash", "-c", f'. {shlex.quote(str(env_file))} && exec "$0" -c "$1"', sys.executable, SOURCED_SETTINGS],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sourced.returncode == 0, sourced.stderr
        got = json.loads(sourced.stdout)
        answer = httpx.post(
            f"{got['tracking']}/track/v2.2/gettrackinfo",
            json=[{"number": parcel}],
            headers={"17token": got["token"]},
            timeout=30,
        ).json()
    assert got["stores"] == sorted(reach["channel_stores"]) and len(got["stores"]) == 5
    assert got["smtp"] == [reach["smtp"]["host"], reach["smtp"]["port"]]
    assert got["erp"] == f"sqlite:///{settings.demo_dir / 'erp.sqlite'}"
    assert got["tracking"] == reach["tracking_api"]["url"]
    assert got["label_command"][1:3] == ["-m", "demo.label_tool"] and got["label_command"][-1] == "{file}"
    assert got["zones"] == {s.store_id: s.timezone for s in STORES}  # every demo store with its profile
    assert [a["number"] for a in answer["data"]["accepted"]] == [parcel]  # the tracking service answered
    assert not stores_file.exists() and not env_file.exists()  # withdrawn with the servers
