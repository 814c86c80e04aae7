"""The channels the dbt models read come from the channel registry and the staging folders (the var
``channels`` that every dbt run gets), never from lists written into the dbt project."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from afterclick import dbt_channels
from afterclick.channels.registry import CHANNELS, Auth, Channel
from afterclick.dbt_channels import FILE_CHANNELS, channel_vars
from afterclick.transform import DBT_PROJECT_DIR, run_dbt

STAGING = DBT_PROJECT_DIR / "models" / "staging"
# the unions of the intermediate models, by the entity their channels' staging models end with
UNIONS = {
    "orders": "int_orders_unioned",
    "order_lines": "int_order_lines_unioned",
    "payments": "int_channel_payments",
    "refunds": "int_channel_refunds",
    "customers": "int_channel_customers",
    "fulfillments": "int_channel_fulfillments",
    "products": "int_channel_listings",
    "locations": "int_channel_locations",
}


def _depends_on(manifest: dict, model: str) -> set[str]:
    """The staging models ``model`` refs (a union also refs shared models, e.g. the currency rates)."""
    return {
        node.removeprefix("model.afterclick.")
        for node in manifest["nodes"][f"model.afterclick.{model}"]["depends_on"]["nodes"]
        if node.startswith("model.afterclick.stg_")
    }


def test_the_var_unions_every_staging_model_of_every_registered_channel_and_the_marketplaces():
    var = channel_vars(DBT_PROJECT_DIR)["channels"]
    assert var["api_channels"] == var["writeback_channels"] == list(CHANNELS)
    assert var["order_channels"] == [*CHANNELS, *FILE_CHANNELS]
    unioned = {model for models in var["staging_models"].values() for model in models}
    for name in (*CHANNELS, *FILE_CHANNELS):
        files = {path.stem for path in (STAGING / name).glob(f"stg_{name}__*.sql")}
        assert files and files <= unioned, name
        for entity in UNIONS:  # a channel's model of an entity is in that entity's union
            if f"stg_{name}__{entity}" in files:
                assert f"stg_{name}__{entity}" in var["staging_models"][entity]
    assert set(UNIONS) <= set(var["staging_models"])
    assert var["staging_models"]["orders"][-1] == "stg_marketplace__orders"  # file channels after the API ones
    assert "stg_marketplace__payments" not in unioned  # marketplace exports carry no payments


def test_a_new_channel_is_read_from_its_registry_line_and_its_staging_folder_alone(tmp_path, monkeypatch):
    project = tmp_path / "dbt"
    shutil.copytree(STAGING, project / "models" / "staging")
    acme = project / "models" / "staging" / "acme"
    acme.mkdir()
    for entity in ("orders", "order_lines", "payments"):
        (acme / f"stg_acme__{entity}.sql").write_text("select 1 as x\n")
    (acme / "_acme__models.yml").write_text("version: 2\n")
    # a registered channel without a staging folder is not read; one without a write-back plugin is not pushed to
    monkeypatch.setattr(
        dbt_channels,
        "CHANNELS",
        {
            **CHANNELS,
            "acme": Channel("acme", Auth(), ingest="ingest.channels.acme"),
            "ghost": Channel("ghost", Auth(), ingest="ingest.channels.ghost", writeback="writeback.adapters.ghost"),
        },
    )
    var = channel_vars(project)["channels"]
    assert var["staging_models"]["orders"][-2:] == ["stg_acme__orders", "stg_marketplace__orders"]
    assert "stg_acme__order_lines" in var["staging_models"]["order_lines"]
    assert "stg_acme__payments" in var["staging_models"]["payments"]
    assert var["api_channels"] == [*CHANNELS, "acme"]
    assert var["writeback_channels"] == list(CHANNELS)
    assert var["order_channels"] == [*CHANNELS, "acme", *FILE_CHANNELS]


def test_every_dbt_run_gets_the_var_and_a_subset_of_channels_refs_only_those(settings):
    """afterclick passes the var to dbt (parse: every channel unioned); a var naming a subset makes
    the unions ref only those channels' models and the write-back models push to only those."""
    assert run_dbt(settings, "parse").status == "success"
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    assert _depends_on(manifest, "int_orders_unioned") == {
        f"stg_{name}__orders" for name in (*CHANNELS, *FILE_CHANNELS)
    }

    var = channel_vars(DBT_PROJECT_DIR)["channels"]
    orders = ["stg_vtex__orders", "stg_marketplace__orders"]
    subset = {
        **var,
        "staging_models": {**var["staging_models"], "orders": orders},
        "writeback_channels": ["vtex"],
        "api_channels": ["vtex"],
    }
    result = run_dbt(settings, "compile", select="int_orders_unioned wb_stock", dbt_vars={"channels": subset})
    assert result.status == "success", result.errors
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    assert _depends_on(manifest, "int_orders_unioned") == {"stg_vtex__orders", "stg_marketplace__orders"}
    assert _depends_on(manifest, "int_order_lines_unioned") == {
        f"stg_{name}__order_lines" for name in (*CHANNELS, *FILE_CHANNELS)
    }
    compiled = manifest["nodes"]["model.afterclick.wb_stock"]["compiled_code"]
    assert re.search(r"c\.channel in \('vtex'\)", compiled), compiled


def test_dbt_run_by_hand_without_the_var_names_what_is_missing(tmp_path):
    from dbt.cli.main import dbtRunner

    outcome = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--quiet",
        ]
    )
    assert not outcome.success
    assert "the var 'channels' is not set" in str(outcome.exception)
    assert "python -m afterclick.dbt_channels" in str(outcome.exception)


CHANNEL_NAMES = "|".join(map(re.escape, (*CHANNELS, *FILE_CHANNELS)))
LISTS = [  # a channel column compared with a written list; two channel names side by side in a list
    re.compile(r"channel\s+(not\s+)?in\s*\(\s*'", re.IGNORECASE),
    re.compile(rf"""['"]?\b({CHANNEL_NAMES})\b['"]?\s*,\s*['"]?\b({CHANNEL_NAMES})\b['"]?\s*[,)\]]"""),
    re.compile(rf"stg_({CHANNEL_NAMES})__\w+\s*,\s*stg_"),
]


def _project_files():
    """dbt's models, macros, tests, seeds and dbt_project.yml, without the channels' staging folders
    (each is about its own channel)."""
    yield DBT_PROJECT_DIR / "dbt_project.yml"
    for folder in ("models", "macros", "tests", "seeds"):
        for path in sorted((DBT_PROJECT_DIR / folder).rglob("*")):
            if not path.is_file() or path.suffix not in (".sql", ".yml", ".yaml", ".csv", ".py"):
                continue
            relative = path.relative_to(DBT_PROJECT_DIR)
            if relative.parts[:2] == ("models", "staging"):
                continue
            yield path


@pytest.mark.parametrize("pattern", LISTS, ids=["channel_in", "names_side_by_side", "staging_models_listed"])
def test_no_file_of_the_dbt_project_lists_channels(pattern):
    found = [
        f"{path.relative_to(DBT_PROJECT_DIR)}:{number}: {line.strip()}"
        for path in _project_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_lists_test_catches_a_written_list():
    written = [
        "where s.channel in ('shopify', 'vtex')",
        "values: [shopify, vtex, marketplace]",
        "orders: [stg_shopify__orders, stg_vtex__orders]",
    ]
    assert [bool(pattern.search(line)) for pattern, line in zip(LISTS, written)] == [True, True, True]
