"""MkDocs hook: the configuration and CLI reference pages, generated at every build.

``configuration.md`` is written from the pydantic settings models themselves (each field's type,
default and ``description``; each model's docstring), and ``reference/cli.md`` from the command
line's own help texts, so neither can drift from the code. ``tests/docs/test_config_reference.py``
checks that every field of every settings model appears in the page.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

from pydantic import BaseModel, SecretStr

ENV_PREFIX = "AFTERCLICK_"
ENV_DELIMITER = "__"

CONFIGURATION_INTRO = """\
# Configuration reference

<!-- Generated at every docs build from afterclick/settings.py (docs/hooks/reference.py): edit the
settings' descriptions there, not this page. -->

afterclick reads its settings from three places, each overriding the one before:

1. the defaults below (embedded: a fresh checkout runs the demo with no settings at all);
2. a TOML settings file: `$AFTERCLICK_SETTINGS_FILE`, else `./afterclick.toml` in the working
   directory;
3. environment variables `AFTERCLICK_<KEY>`, nested with a double underscore
   (`AFTERCLICK_DUCKDB__MEMORY_LIMIT=4GB` sets `memory_limit` of the `[duckdb]` section).

Put URLs and choices in the settings file and **secrets in the environment** (fields of type
*secret* are never printed or logged). A value that does not parse stops every command with a
message naming the setting.

A **map** is a setting whose keys you choose, such as `channel_stores`, `marketplaces` or
`schedules.writeback`. In the TOML file each entry is a section of its own
(`[channel_stores.shopify-es]`); in the environment the map is one JSON value
(`AFTERCLICK_CHANNEL_STORES='{"shopify-es": {"credentials": {"token": "…"}}}'`). The file's and
the environment's entries are merged key by key, so the URL can sit in the file and the token in
the environment. A map you set **replaces its default entries**: list every entry you want (setting
only `schedules.writeback.prices` leaves the other write-back kinds unscheduled). Environment
variable names are not case sensitive.

See [Getting started](getting-started.md#configure-a-real-store) for a worked example.

## Unknown keys are errors

Every key of the settings file and every `AFTERCLICK_*` environment variable must be a setting of
this page, at every level (`[smtp]`, `[channel_stores.<name>]`, `[carrier_files.<name>]`, and the
keys inside a JSON value such as `AFTERCLICK_CHANNEL_STORES`). A misspelt or renamed key stops
every command with one line naming it, and the setting it most likely meant:

```
error: afterclick.toml: unknown setting 'smtp.hots' (did you mean 'smtp.host'?)
error: environment: unknown setting AFTERCLICK_SMTP_HOST (did you mean AFTERCLICK_SMTP__HOST?)
```

The same goes for a channel store's `channel` (it must be a channel afterclick knows), its
`credentials` (an enabled store needs every credential its channel authenticates with, and no
other), and the source kinds in `disabled_sources`. The command exits with status 1; nothing runs
until the settings are fixed.

Besides the settings, afterclick reads `AFTERCLICK_SETTINGS_FILE` (and the demo
`AFTERCLICK_API_SPECS`), and sets a few variables of its own for dbt while it builds
(`AFTERCLICK_WAREHOUSE_PATH`, `AFTERCLICK_DBT_AS_OF`, `AFTERCLICK_DBT_CLV_REFIT`,
`AFTERCLICK_DBT_NOTIFICATION_MAX_AGE_HOURS`, `AFTERCLICK_DBT_EMAILED_MARKETPLACES`,
`AFTERCLICK_DUCKDB_TEMP_DIRECTORY`, `AFTERCLICK_DUCKDB_MEMORY_LIMIT`, `AFTERCLICK_DUCKDB_THREADS`):
those are not errors, but do not set them yourself.
"""


# ---- the configuration page ----------------------------------------------------------------------


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_map_value(annotation):
    """The model of a ``dict[str, Model]`` field, else None."""
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        if len(args) == 2 and _is_model(args[1]):
            return args[1]
    return None


def type_name(annotation) -> str:
    """A reader's name for a field's type: ``integer``, ``text or none``, ``list of text``."""
    if annotation is None or annotation is type(None):
        return "none"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return f"list of {type_name(item)}"
    if origin is dict:
        key, value = typing.get_args(annotation) or (str, str)
        return f"map of {type_name(key)} to {type_name(value)}"
    names = {str: "text", int: "integer", float: "number", bool: "true/false", SecretStr: "secret", Path: "path"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default_json(value):
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _default_json(v) for k, v in value.items()}
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, Path):
        return str(value)
    return value


def default_text(field) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, str) and value == "":
        return '`""` (empty)'
    shown = json.dumps(_default_json(value), ensure_ascii=False, default=str)
    return f"`{shown}`"


def _cell(text: str) -> str:
    """Text for a table cell: one line, pipes escaped, and ``<name>`` placeholders outside code
    spans kept visible (Markdown would take them for HTML tags)."""
    parts = " ".join(text.split()).replace("``", "`").split("`")
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    if model.__doc__ is BaseModel.__doc__:
        return ""
    return _cell(doc)


def _rows(model: type[BaseModel], toml_prefix: str, env_prefix: str | None) -> list[str]:
    """One table row per plain field of ``model``; ``env_prefix`` None: the fields live in a map
    (set from the environment as the map's JSON)."""
    rows = []
    for name, field in model.model_fields.items():
        if _is_model(field.annotation) or _model_map_value(field.annotation):
            continue
        key = f"`{toml_prefix}{name}`"
        if env_prefix is not None:
            key += f"<br><small>`{env_prefix}{name.upper()}`</small>"
        rows.append(
            f"| {key} | {_cell(type_name(field.annotation))} | {_cell(default_text(field))} | "
            f"{_cell(field.description or '')} |"
        )
    return rows


def _table(rows: list[str]) -> list[str]:
    if not rows:
        return []
    return ["| Setting | Type | Default | What it does |", "|---|---|---|---|", *rows, ""]


def _section(
    model: type[BaseModel], toml_path: str, env_prefix: str | None, level: int, title_doc: str = ""
) -> list[str]:
    """A nested model as a section: its plain fields, then its nested models and maps;
    ``env_prefix`` None: it lives in a map's entry (set from the environment inside the map's JSON)."""
    out = [f"{'#' * level} `{toml_path}`", ""]
    intro = title_doc or _doc(model)
    if intro:
        out += [intro, ""]
    out += [
        f"TOML section `[{toml_path}]`; environment `{env_prefix}…`."
        if env_prefix is not None
        else f"TOML section `[{toml_path}]`; from the environment, inside the map's JSON.",
        "",
    ]
    out += _table(_rows(model, "", env_prefix))
    out += _children(model, toml_path + ".", env_prefix, level + 1)
    return out


def _map_section(name: str, field, toml_prefix: str, env_prefix: str, level: int) -> list[str]:
    model = _model_map_value(field.annotation)
    path = f"{toml_prefix}{name}"
    out = [f"{'#' * level} `{path}.<name>`", ""]
    if field.description:
        out += [_cell(field.description), ""]
    if _doc(model):
        out += [_doc(model), ""]
    default = field.get_default(call_default_factory=True) or {}
    out += [
        f"A map: one TOML section per entry, `[{path}.<name>]`; from the environment, the whole map as "
        f"JSON in `{env_prefix}{name.upper()}`. Default: "
        + (", ".join(f"`{k}`" for k in default) if default else "no entries")
        + ".",
        "",
    ]
    out += _table(_rows(model, "", None))
    out += _children(model, f"{path}.<name>.", None, level + 1)
    if default:
        out += [
            '??? note "The default entries"',
            "",
            "    ```json",
            *("    " + line for line in json.dumps(_default_json(default), indent=2, ensure_ascii=False).splitlines()),
            "    ```",
            "",
        ]
    return out


def _children(model: type[BaseModel], toml_prefix: str, env_prefix: str | None, level: int) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if _is_model(field.annotation):
            out += _section(
                field.annotation,
                f"{toml_prefix}{name}",
                None if env_prefix is None else f"{env_prefix}{name.upper()}{ENV_DELIMITER}",
                level,
                _cell(field.description or ""),
            )
        elif _model_map_value(field.annotation):
            out += _map_section(name, field, toml_prefix, env_prefix, level)
    return out


def configuration_markdown() -> str:
    from afterclick.settings import Settings

    lines = [CONFIGURATION_INTRO, "## Top-level settings", "", "In the TOML file, before any `[section]`.", ""]
    lines += _table(_rows(Settings, "", ENV_PREFIX))
    lines += _children(Settings, "", ENV_PREFIX, 2)
    return "\n".join(lines) + "\n"


def settings_fields() -> list[tuple[str, str]]:
    """(model name, field name) of every field of every settings model reachable from Settings."""
    from afterclick.settings import Settings

    seen, out, todo = set(), [], [Settings]
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen.add(model)
        # a shared base (StoreProfile) is reached through the models built on it
        todo.extend(base for base in model.__bases__ if base.__module__ == model.__module__)
        for name, field in model.model_fields.items():
            out.append((model.__name__, name))
            child = field.annotation if _is_model(field.annotation) else _model_map_value(field.annotation)
            if child is not None:
                todo.append(child)
    return out


# ---- the command-line page -----------------------------------------------------------------------

CLI_INTRO = """\
# Command line

<!-- Generated at every docs build from the commands' own help texts (afterclick/cli.py, through
docs/hooks/reference.py). -->

Every command reads the [settings](../configuration.md) (state directory, sources, targets) and
prints what it did and where the output is. Run them as `uv run afterclick …` from the checkout,
or `.venv/bin/afterclick …`, or plain `afterclick …` with `.venv` activated. `afterclick --help`
and `afterclick <command> --help` print the same texts.

| Command | What it does |
|---|---|
"""


def _option_line(param) -> str:
    """One option or argument of a command, from the parameter typer built (no click import: typer
    vendors its own)."""
    is_flag = getattr(param, "is_flag", False)
    if not param.opts or not param.opts[0].startswith("-"):
        name = f"`{param.name.upper()}`"
    else:
        name = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if not is_flag:
            name += f" *{type_name(typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation)}*"
    extra = []
    if param.required:
        extra.append("required")
    elif param.default not in (None, (), []) and not callable(param.default):
        shown = param.default
        if is_flag and param.secondary_opts:
            shown = param.opts[0] if param.default else param.secondary_opts[0]
        elif is_flag:
            shown = None if not param.default else param.opts[0]
        if shown is not None:
            extra.append(f"default: `{shown}`")
    if getattr(param, "multiple", False):
        extra.append("repeatable")
    help_text = _cell(getattr(param, "help", None) or "")
    return f"- {name}: {help_text}" + (f" ({'; '.join(extra)})" if extra else "")


def _usage(name: str, cmd) -> str:
    pieces = ["afterclick", name]
    if any(getattr(p, "opts", [""])[0].startswith("-") for p in cmd.params if not getattr(p, "hidden", False)):
        pieces.append("[OPTIONS]")
    for p in cmd.params:
        if p.opts and not p.opts[0].startswith("-"):
            pieces.append(p.name.upper() if p.required else f"[{p.name.upper()}]")
    return " ".join(pieces)


def cli_markdown() -> str:
    import typer.main

    from afterclick.cli import app

    group = typer.main.get_command(app)
    commands = [(name, cmd) for name, cmd in group.commands.items() if not cmd.hidden]
    lines = [CLI_INTRO.rstrip("\n")]
    for name, cmd in commands:
        summary = _cell((cmd.help or "").strip().split("\n\n")[0])
        lines.append(f"| [`{name}`](#{name}) | {summary} |")
    lines.append("")
    for name, cmd in commands:
        lines += [
            f"## `{name}` {{#{name}}}",
            "",
            "```",
            _usage(name, cmd),
            "```",
            "",
            " ".join((cmd.help or "").split()),
            "",
        ]
        params = [p for p in cmd.params if not getattr(p, "hidden", False) and p.name != "help"]
        if params:
            lines += [_option_line(p) for p in params] + [""]
    return "\n".join(lines) + "\n"


# ---- the MkDocs hook -----------------------------------------------------------------------------

GENERATED = {"configuration.md": configuration_markdown, "reference/cli.md": cli_markdown}


def on_files(files, config):
    from mkdocs.structure.files import File

    for path, render in GENERATED.items():
        files.append(File.generated(config, path, content=render()))
    return files
