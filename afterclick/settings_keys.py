"""Which keys are settings: every key of the settings file and every ``AFTERCLICK_*`` environment
variable must name a field of the settings models, at every depth, or loading the settings fails.

A typo (``[smtp] hots = …``, ``AFTERCLICK_STAT_DIR``) would otherwise be ignored without a word
and the default used instead. Each unknown key is reported with the likely intended name when one
is close (``difflib``). The walk knows three kinds of field: a plain value, a nested model (a TOML
section; in the environment ``__`` nests), and a map from names the user chooses to a model
(``channel_stores.<id>``): its entries' keys are free, the keys inside each entry are not.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import types
import typing
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

ENV_PREFIX = "AFTERCLICK_"
ENV_DELIMITER = "__"
# Settings that were replaced (dotted name, * for a map's key -> the setting to use instead): named
# in their error.
REPLACED = {
    "show_customer_emails": "publish_customer_addresses",
    "marketplaces.*.mapping": 'marketplaces.<id>.export, e.g. export = { preset = "amazon_all_orders" }',
}


def replaced_by(dotted: str) -> str | None:
    """The setting that replaced ``dotted`` (a map's keys matched by *), if it was replaced."""
    return next((new for old, new in REPLACED.items() if fnmatch.fnmatchcase(dotted, old)), None)


def _model(annotation) -> type[BaseModel] | None:
    """The model of a nested-model field (also ``Model | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [m for m in map(_model, typing.get_args(annotation)) if m is not None]
        return models[0] if len(models) == 1 else None
    return None


def _is_map(annotation) -> bool:
    return typing.get_origin(annotation) is dict


def _entry_model(annotation) -> type[BaseModel] | None:
    """The model of a map's entries (``dict[str, Model]``), else None."""
    if _is_map(annotation):
        args = typing.get_args(annotation)
        return _model(args[1]) if len(args) == 2 else None
    return None


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.7)
    return close[0] if close else ""


def unknown_keys(data: object, model: type[BaseModel], path: str = "") -> list[str]:
    """A message per key of ``data`` (a parsed settings file, or a JSON value from the environment)
    that is no field of ``model``, at any depth: ``unknown setting 'smtp.hots' (did you mean
    'smtp.host'?)``. Values of the wrong type are left to validation."""
    if not isinstance(data, Mapping):
        return []
    problems = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None and (replaced := replaced_by(path + str(key))):
            problems.append(f"unknown setting {path + str(key)!r} (replaced by {replaced!r})")
        elif field is None:
            close = _suggest(str(key), model.model_fields)
            problems.append(
                f"unknown setting {path + str(key)!r}" + (f" (did you mean {path + close!r}?)" if close else "")
            )
        elif (section := _model(field.annotation)) is not None:
            problems += unknown_keys(value, section, f"{path}{key}.")
        elif (entry := _entry_model(field.annotation)) is not None and isinstance(value, Mapping):
            for name, item in value.items():
                problems += unknown_keys(item, entry, f"{path}{key}.{name}.")
    return problems


def environment_names(model: type[BaseModel], prefix: str = ENV_PREFIX) -> list[str]:
    """Every variable name that sets a field of ``model``: nested models with ``__``, a map as one
    JSON value (``AFTERCLICK_CHANNEL_STORES``)."""
    names = []
    for key, field in model.model_fields.items():
        name = f"{prefix}{key.upper()}"
        names.append(name)
        if (section := _model(field.annotation)) is not None:
            names += environment_names(section, name + ENV_DELIMITER)
    return names


def _environment_target(parts: list[str], model: type[BaseModel]) -> tuple[bool, type[BaseModel] | None, bool]:
    """Whether the variable's name (lower-cased, split at ``__``) sets a field of ``model``, and
    when its value is JSON for a model or a map of models, that model (and whether it is a map)."""
    field = model.model_fields.get(parts[0])
    if field is None:
        return False, None, False
    rest = parts[1:]
    section, entry = _model(field.annotation), _entry_model(field.annotation)
    if not rest:
        return True, section or entry, entry is not None
    if section is not None:
        return _environment_target(rest, section)
    if entry is not None:  # one entry of the map (JSON), or one setting inside it
        return (True, entry, False) if len(rest) == 1 else _environment_target(rest[1:], entry)
    return _is_map(field.annotation) and len(rest) == 1, None, False  # a map of plain values: any key


def unknown_environment(environ: Mapping[str, str], model: type[BaseModel], ignored: Iterable[str] = ()) -> list[str]:
    """A message per ``AFTERCLICK_*`` variable (names are not case sensitive) that sets no field of
    ``model``, or whose JSON value has keys that are no settings; ``ignored``: variables of that
    prefix that are not settings."""
    ignored = {name.upper() for name in ignored}
    known = [name[len(ENV_PREFIX) :] for name in environment_names(model)]
    problems = []
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ignored:
            continue
        parts = upper[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
        found, inner, is_map = _environment_target(parts, model)
        if not found and (replaced := replaced_by(".".join(parts))) and "<" not in replaced:
            new_name = ENV_PREFIX + replaced.upper().replace(".", ENV_DELIMITER)
            problems.append(f"unknown setting {name} (replaced by {new_name})")
            continue
        if not found:
            close = _suggest(upper[len(ENV_PREFIX) :], known)
            problems.append(f"unknown setting {name}" + (f" (did you mean {ENV_PREFIX}{close}?)" if close else ""))
            continue
        if inner is None:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            continue  # not JSON: validation says so
        path = ".".join(parts) + "."
        keys = (
            [p for entry, item in data.items() for p in unknown_keys(item, inner, f"{path}{entry}.")]
            if is_map and isinstance(data, Mapping)
            else unknown_keys(data, inner, path)
        )
        problems += [f"{name}: {p}" for p in keys]
    return problems
