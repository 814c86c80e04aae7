"""Settings refuse what they do not know: a key of the settings file or an ``AFTERCLICK_*`` variable
that is no setting, a channel the registry does not know, a store without its channel's
credentials, a source kind that does not exist. Each is a SettingsError naming the setting (and
the likely intended name), which the command line prints as one line. Shopify's GraphQL errors
name the store and the operation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from afterclick.channels.http import ChannelClient, graphql_operation, shopify_graphql
from afterclick.channels.registry import CHANNELS
from afterclick.errors import AfterclickError, ChannelQueryError, SettingsError
from afterclick.settings import NOT_SETTINGS, SOURCE_KINDS, ChannelStoreSettings, load_settings

SHOPIFY = {"channel": "shopify", "base_url": "https://shop.example.com", "credentials": {"token": "shpat_secret"}}


@pytest.fixture
def toml(tmp_path, monkeypatch):
    """Write the settings file the settings are read from (none until written)."""
    path = tmp_path / "afterclick.toml"
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(path))

    def write(text: str) -> Path:
        path.write_text(text)
        return path

    return write


def _error(**overrides) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    assert isinstance(caught.value, AfterclickError)
    return str(caught.value)


# ---- the settings file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, unknown",
    [
        ("stat_dir = 'x'", "unknown setting 'stat_dir' (did you mean 'state_dir'?)"),
        ("[smtp]\nhots = 'mail.example.com'", "unknown setting 'smtp.hots' (did you mean 'smtp.host'?)"),
        ("[erp]\nurll = 'sqlite:///erp.sqlite'", "unknown setting 'erp.urll' (did you mean 'erp.url'?)"),
        (
            "[erp.tables.invoices]\ntable = 'invoices'\nkey = ['id']\nincremental_colum = 'ts'",
            "unknown setting 'erp.tables.invoices.incremental_colum' "
            "(did you mean 'erp.tables.invoices.incremental_column'?)",
        ),
        (
            "[channel_stores.shopify-es]\nchannel = 'shopify'\nbase_url = 'https://shop.example.com'\nrequest_per_second = 2",
            "unknown setting 'channel_stores.shopify-es.request_per_second' "
            "(did you mean 'channel_stores.shopify-es.requests_per_second'?)",
        ),
        (
            "[carrier_files.correos]\nseperator = ','",
            "unknown setting 'carrier_files.correos.seperator' (did you mean 'carrier_files.correos.separator'?)",
        ),
        ("[reader]\ncolour = 'blue'", "unknown setting 'reader.colour'"),
    ],
    ids=["top level", "smtp", "erp", "erp table", "channel store", "carrier file", "no close name"],
)
def test_an_unknown_key_of_the_settings_file_is_an_error_naming_it(toml, text, unknown):
    path = toml(text)
    assert _error() == f"{path}: {unknown}"


def test_every_unknown_key_of_the_file_is_named_at_once(toml):
    path = toml("stat_dir = 'x'\n[smtp]\nhots = 'h'\n")
    message = _error()
    assert message.startswith(f"{path}: ") and "'stat_dir'" in message and "'smtp.hots'" in message


def test_a_settings_file_that_is_not_toml_is_an_error_naming_it(toml):
    path = toml("[smtp\nhost = 'x'\n")
    assert _error().startswith(f"{path}: not a valid TOML file: ")


def test_the_keys_users_already_set_keep_working(toml, monkeypatch, tmp_path):
    toml(f"""
state_dir = '{tmp_path / "state"}'
disabled_sources = ["marketing", "wms"]
demo_channels = false

[erp]
url = 'sqlite:///{tmp_path / "erp.sqlite"}'

[smtp]
host = 'mail.example.com'
port = 587
starttls = true
username = 'orders'

[channel_stores.shopify-es]
channel = 'shopify'
base_url = 'https://shop.example.com'

[carrier_files.correos]
separator = ','
""")
    # the URL in the file, the secrets in the environment: merged entry by entry
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"shopify-es": {"credentials": {"token": "t"}}}))
    monkeypatch.setenv("AFTERCLICK_SMTP__PASSWORD", "pw")
    settings = load_settings()
    assert settings.state_dir == tmp_path / "state"
    assert settings.disabled_sources == ["marketing", "wms"] and settings.demo_channels is False
    assert settings.erp.url.get_secret_value() == f"sqlite:///{tmp_path / 'erp.sqlite'}"
    assert (
        settings.smtp.host,
        settings.smtp.port,
        settings.smtp.starttls,
        settings.smtp.username,
        settings.smtp.password.get_secret_value(),
    ) == ("mail.example.com", 587, True, "orders", "pw")
    store = settings.channel_stores["shopify-es"]
    assert (store.channel, store.base_url, store.credentials["token"].get_secret_value()) == (
        "shopify",
        "https://shop.example.com",
        "t",
    )
    assert settings.carrier_files["correos"].separator == ","


# ---- the environment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, unknown",
    [
        ("AFTERCLICK_STAT_DIR", "unknown setting AFTERCLICK_STAT_DIR (did you mean AFTERCLICK_STATE_DIR?)"),
        ("AFTERCLICK_SMTP__HOTS", "unknown setting AFTERCLICK_SMTP__HOTS (did you mean AFTERCLICK_SMTP__HOST?)"),
        ("AFTERCLICK_SMTP_HOST", "unknown setting AFTERCLICK_SMTP_HOST (did you mean AFTERCLICK_SMTP__HOST?)"),
        (
            "afterclick_reader__thread",
            "unknown setting afterclick_reader__thread (did you mean AFTERCLICK_READER__THREADS?)",
        ),
        ("AFTERCLICK_STATE_DIR__X", "unknown setting AFTERCLICK_STATE_DIR__X (did you mean AFTERCLICK_STATE_DIR?)"),
        ("AFTERCLICK_NOTHING_LIKE_IT", "unknown setting AFTERCLICK_NOTHING_LIKE_IT"),
    ],
    ids=["top level", "nested", "one underscore", "lower case", "under a plain setting", "no close name"],
)
def test_an_unknown_afterclick_variable_is_an_error_naming_it(toml, monkeypatch, name, unknown):
    monkeypatch.setenv(name, "1")
    assert _error() == f"environment: {unknown}"


def test_the_keys_of_a_json_variable_are_settings_too(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"shopify-es": {**SHOPIFY, "base_ur": "x"}}))
    assert _error() == (
        "environment: AFTERCLICK_CHANNEL_STORES: unknown setting 'channel_stores.shopify-es.base_ur' "
        "(did you mean 'channel_stores.shopify-es.base_url'?)"
    )
    monkeypatch.delenv("AFTERCLICK_CHANNEL_STORES")
    monkeypatch.setenv("AFTERCLICK_SMTP", json.dumps({"host": "h", "prot": 25}))
    assert _error() == "environment: AFTERCLICK_SMTP: unknown setting 'smtp.prot' (did you mean 'smtp.port'?)"


def test_nested_and_map_variables_are_settings(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_DUCKDB__THREADS", "3")
    monkeypatch.setenv("AFTERCLICK_SCHEDULES__WRITEBACK__STOCK", "*/2 * * * *")  # a map of plain values: any key
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES__SHOP", json.dumps(SHOPIFY))  # one entry of a map, as JSON
    monkeypatch.setenv("AFTERCLICK_CARRIER_FILES__CORREOS__SEPARATOR", ",")  # a setting inside an entry
    settings = load_settings()
    assert settings.duckdb.threads == 3 and settings.schedules.writeback == {"stock": "*/2 * * * *"}
    assert settings.channel_stores["shop"].base_url == SHOPIFY["base_url"]
    assert settings.carrier_files["correos"].separator == ","


def test_the_projects_own_variables_that_are_not_settings_are_allowed(toml, monkeypatch):
    for name in NOT_SETTINGS:
        if name != "AFTERCLICK_SETTINGS_FILE":  # set by the fixture
            monkeypatch.setenv(name, "x")
    load_settings()


def test_settings_load_while_a_dbt_build_has_set_its_variables(settings):
    """A dbt build hands dbt's profile AFTERCLICK_* variables (afterclick/transform.py): settings
    loaded meanwhile (another thread, a hook) must accept them."""
    from afterclick import transform

    with transform._dbt_environment(settings, clv_refit=True):
        assert {"AFTERCLICK_WAREHOUSE_PATH", "AFTERCLICK_DUCKDB_THREADS"} <= set(os.environ)
        assert load_settings().state_dir == settings.state_dir


def test_an_unknown_keyword_is_an_error_too(toml):
    assert _error(stat_dir="x") == "settings: unknown setting 'stat_dir'"


def test_a_value_that_cannot_be_used_is_one_line_naming_the_setting_and_not_the_value(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_DUCKDB__THREADS", "many")
    assert _error() == "settings: duckdb.threads: Input should be a valid integer, unable to parse string as an integer"
    monkeypatch.delenv("AFTERCLICK_DUCKDB__THREADS")
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"s": {**SHOPIFY, "credentials": {"token": 987654}}}))
    message = _error()
    assert "channel_stores.s.credentials.token" in message and "987654" not in message


# ---- channel stores ------------------------------------------------------------------------------


def test_a_store_of_an_unregistered_channel_is_an_error_naming_the_known_ones(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"s": {**SHOPIFY, "channel": "shopfy"}}))
    message = _error()
    assert message.startswith("settings: channel_stores.s.channel: unknown channel 'shopfy'; known: ")
    assert all(name in message for name in CHANNELS)
    with pytest.raises(ValidationError, match="unknown channel 'prestashop'"):
        ChannelStoreSettings(**{**SHOPIFY, "channel": "prestashop"})


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_a_store_needs_every_credential_its_channel_authenticates_with(channel):
    needed = CHANNELS[channel].auth.credentials
    assert needed  # every channel authenticates
    full = {name: f"secret-{name}" for name in needed}
    assert ChannelStoreSettings(channel=channel, base_url="https://x.example", credentials=full)
    for left_out in needed:
        with pytest.raises(ValidationError, match=f"missing: {left_out}") as caught:
            ChannelStoreSettings(
                channel=channel,
                base_url="https://x.example",
                credentials={k: v for k, v in full.items() if k != left_out},
            )
        assert "secret-" not in str(caught.value)
    with pytest.raises(ValidationError, match=f"missing: {needed[0]}"):  # empty is missing too
        ChannelStoreSettings(channel=channel, base_url="https://x.example", credentials={**full, needed[0]: ""})
    # a disabled store may keep its settings without its secrets
    assert not ChannelStoreSettings(channel=channel, base_url="https://x.example", enabled=False).enabled


def test_an_unknown_credential_is_an_error_with_the_likely_name(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"s": {**SHOPIFY, "credentials": {"tokn": "t"}}}))
    assert _error() == (
        "settings: channel_stores.s: unknown credential 'tokn' for shopify (did you mean 'token'?); shopify takes token"
    )


def test_a_store_without_its_own_pace_takes_its_channels_from_the_registry():
    for name, channel in CHANNELS.items():
        creds = {c: "x" for c in channel.auth.credentials}
        store = ChannelStoreSettings(channel=name, base_url="https://x.example", credentials=creds)
        assert store.rate == channel.requests_per_second
        assert (
            ChannelStoreSettings(
                channel=name, base_url="https://x.example", credentials=creds, requests_per_second=3
            ).rate
            == 3
        )
    assert CHANNELS["vtex"].requests_per_second == 40.0 and CHANNELS["shopify"].requests_per_second == 0.0


# ---- source kinds --------------------------------------------------------------------------------


def test_a_disabled_source_that_is_no_source_kind_is_an_error(toml, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_DISABLED_SOURCES", '["marketing", "wsm"]')
    assert _error() == (
        f"settings: disabled_sources: unknown source kind 'wsm' (did you mean 'wms'?); known: {', '.join(SOURCE_KINDS)}"
    )


def test_the_source_kinds_are_the_ones_ingest_lands():
    from ingest.run import SOURCES

    assert tuple(SOURCES) == SOURCE_KINDS


# ---- the command line ----------------------------------------------------------------------------


def test_the_command_line_prints_a_settings_error_as_one_line_and_exits_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AFTERCLICK_")}
    env.update(
        AFTERCLICK_STATE_DIR=str(tmp_path / "state"),
        AFTERCLICK_SETTINGS_FILE=str(tmp_path / "none.toml"),
        AFTERCLICK_SMTP__HOTS="mail.example.com",
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "afterclick"), "status"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "error: environment: unknown setting AFTERCLICK_SMTP__HOTS (did you mean AFTERCLICK_SMTP__HOST?)"
    ]
    assert done.stdout == ""


def test_the_command_line_prints_any_afterclick_error_as_one_line(settings, monkeypatch):
    from typer.testing import CliRunner

    from afterclick import cli

    def refuse(*args, **kwargs):
        raise ChannelQueryError("shopify-es", "Shopify GraphQL query Orders", ["Field 'x' doesn't exist"])

    monkeypatch.setattr(cli, "load_settings", refuse)
    result = CliRunner().invoke(cli.app, ["status"])
    assert result.exit_code == cli.EXIT_FAILED
    assert result.stderr == "error: shopify-es: Shopify GraphQL query Orders was refused: Field 'x' doesn't exist\n"


# ---- Shopify GraphQL errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, operation",
    [
        ("query Orders($first: Int!) { orders(first: $first) { edges { node { id } } } }", "query Orders"),
        (
            "# the stock\nmutation SetStock($input: X!) { inventorySetQuantities(input: $input) { userErrors { field } } }",
            "mutation SetStock",
        ),
        (
            "mutation($a: ID!, $b: ID!) { f0: orderUpdate(input: {id: $a}) { order { id } } f1: orderUpdate(input: {id: $b}) "
            "{ order { id } } }",
            "mutation orderUpdate",
        ),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "query nodes"),
        ("{ shop { name } }", "query shop"),
    ],
    ids=["named query", "named mutation", "aliased mutation", "unnamed query", "shorthand"],
)
def test_a_graphql_operation_is_named_by_its_name_or_root_field(document, operation):
    assert graphql_operation(document) == operation


@pytest.fixture
def graphql_errors():
    """A loopback store answering every GraphQL request with errors (as Shopify does with 200)."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps(
                {
                    "errors": [
                        {"message": "Field 'bogus' doesn't exist on type 'Order'"},
                        {"message": "Variable $first is declared by Orders but not used"},
                    ]
                }
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_shopify_graphql_errors_name_the_store_the_operation_and_shopifys_messages(graphql_errors):
    client = ChannelClient("shopify-es", graphql_errors, headers={"X-Shopify-Access-Token": "t"}, attempts=1)
    try:
        with pytest.raises(ChannelQueryError) as caught:
            shopify_graphql(
                client, "query Orders($first: Int!) { orders(first: 1) { edges { node { bogus } } } }", {"first": 1}
            )
    finally:
        client.close()
    error = caught.value
    assert isinstance(error, AfterclickError) and isinstance(error, ValueError)  # callers catching ValueError still do
    assert (error.store_id, error.operation) == ("shopify-es", "Shopify GraphQL query Orders")
    assert str(error) == (
        "shopify-es: Shopify GraphQL query Orders was refused: Field 'bogus' doesn't exist on type "
        "'Order'; Variable $first is declared by Orders but not used"
    )


def test_the_configuration_page_names_the_variables_that_are_not_settings():
    page_source = (Path(__file__).resolve().parents[2] / "docs" / "hooks" / "reference.py").read_text()
    assert all(f"`{name}`" in page_source for name in NOT_SETTINGS)
