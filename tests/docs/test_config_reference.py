"""The docs site's generated reference pages cannot drift from the code: every settings field and
every command appears, with the descriptions the code gives them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import afterclick.settings as settings_module

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "reference.py"


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("docs_reference_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page(reference):
    return reference.configuration_markdown()


def test_the_walk_reaches_every_settings_model_of_the_module(reference):
    """A settings model the walk from Settings does not reach would be missing from the page."""
    from pydantic import BaseModel

    reached = {model for model, _ in reference.settings_fields()}
    defined = {
        name
        for name, obj in vars(settings_module).items()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == settings_module.__name__
    }
    assert defined <= reached, defined - reached


def test_every_field_of_every_settings_model_is_in_the_configuration_page(reference, page):
    missing = []
    for model_name, field_name in reference.settings_fields():
        field = getattr(settings_module, model_name).model_fields[field_name]
        # a field is shown as `name`, `<section>.name` or as the heading of its own section
        if not re.search(rf"`([\w.<>]*\.)?{re.escape(field_name)}(\.<name>)?`", page):
            missing.append(f"{model_name}.{field_name}")
        if field.description:
            assert reference._cell(field.description) in page, f"{model_name}.{field_name}'s description"
    assert not missing, missing


def test_every_settings_field_says_what_it_does(reference):
    """The reference is written from the fields' own descriptions: a field without one would show
    an empty line."""
    undocumented = [
        f"{model}.{name}"
        for model, name in reference.settings_fields()
        if not getattr(settings_module, model).model_fields[name].description
        and not reference._is_model(getattr(settings_module, model).model_fields[name].annotation)
    ]
    assert not undocumented, undocumented


def test_environment_names_are_the_ones_the_settings_read(reference, page, monkeypatch, tmp_path):
    """The page's variable names are the ones the settings really read (a nested one included)."""
    names = set(re.findall(r"`(AFTERCLICK_[A-Z0-9_]+)`", page))
    assert {
        "AFTERCLICK_STATE_DIR",
        "AFTERCLICK_SMTP__HOST",
        "AFTERCLICK_READER__QUERY_TIMEOUT_SECONDS",
        "AFTERCLICK_CHANNEL_STORES",
    } <= names
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("AFTERCLICK_SMTP__HOST", "mail.example.com")
    monkeypatch.setenv("AFTERCLICK_READER__QUERY_TIMEOUT_SECONDS", "7")
    loaded = settings_module.load_settings()
    assert loaded.smtp.host == "mail.example.com" and loaded.reader.query_timeout_seconds == 7


def test_every_command_is_in_the_command_line_page(reference):
    import typer.main

    from afterclick.cli import app

    page = reference.cli_markdown()
    for name, command in typer.main.get_command(app).commands.items():
        if not command.hidden:
            assert f"## `{name}`" in page
            assert " ".join((command.help or "").split()) in page
