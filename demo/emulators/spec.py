"""The channels' published API specifications (``../shared/api-specs``), for the emulators to
answer a request that does not follow them with the API's own kind of error.

Absent specs (a user's fresh clone) mean no validation: ``available()`` says so and the tests
that depend on it skip.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from functools import cache, lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

SPEC_DIR = Path(os.environ.get("AFTERCLICK_API_SPECS", Path(__file__).resolve().parents[3] / "shared" / "api-specs"))
FILES = {
    "vtex-logistics": "vtex-logistics-api.openapi.json",
    "vtex-orders": "vtex-orders-api.openapi.json",
    "magento": "magento-admin-2.4.8.swagger.yaml",
    "woocommerce": "woocommerce-wc-v3.openapi.yaml",
    "shopify": "shopify-admin-2025-01.introspection.json.gz",
}


def available(name: str) -> bool:
    return (SPEC_DIR / FILES[name]).exists()


@cache
def document(name: str) -> dict | None:
    path = SPEC_DIR / FILES[name]
    if not path.exists():
        return None
    if path.suffix == ".yaml":
        doc = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~8x faster
    else:
        doc = json.loads(path.read_text())
    if isinstance(doc.get("info", {}).get("description"), dict):  # Magento's relative $ref intro
        doc["info"]["description"] = ""
    return doc


@cache
def _paths(name: str) -> list[tuple[str, dict]]:
    """The spec's paths in its order: (template, item)."""
    return list(((document(name) or {}).get("paths", {})).items())


@cache
def _path_tree(name: str) -> dict:
    """The spec's path templates as a tree of segments (``{param}`` matches any one segment): each
    node maps a literal segment to its child, ``None`` to the parameter child, ``re.Pattern`` to the
    children of partial parameters by pattern, and ``...`` to the indexes of the templates that end
    there. A request's path is found by walking its segments, not by trying every template
    (Magento's spec has hundreds, and every request asks)."""
    root: dict = {}
    for index, (template, _) in enumerate(_paths(name)):
        node = root
        for segment in template.split("/")[1:]:
            key = _segment_key(segment)
            node = (node.setdefault(re.Pattern, {}) if isinstance(key, re.Pattern) else node).setdefault(key, {})
        node.setdefault(..., []).append(index)
    return root


def _segment_key(segment: str) -> str | re.Pattern | None:
    """A template segment's key: itself, None for a whole ``{param}``, a pattern for a partial one
    (VTEX's ``carrier@{capacityType}@{shippingPolicyId}``)."""
    if "{" not in segment:
        return segment
    if re.fullmatch(r"\{[^}]+\}", segment):
        return None
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(segment)) + "$")


def _matches(node: dict, segments: list[str]) -> list[int]:
    if not segments:
        return node.get(..., [])
    head, rest = segments[0], segments[1:]
    found = _matches(node[head], rest) if head in node else []
    if head:  # a parameter matches one non-empty segment
        children = ([node[None]] if None in node else []) + [
            child for pattern, child in node.get(re.Pattern, {}).items() if pattern.match(head)
        ]
        for child in children:
            found += _matches(child, rest)
    return found


@lru_cache(maxsize=4096)
def _path_index(name: str, method: str, path: str) -> int | None:
    """Which of the spec's paths serves ``method path`` (None: the spec has no such operation); the
    first in the spec's order, as the spec lists them."""
    if not path.startswith("/"):
        return None
    paths = _paths(name)
    return min(
        (i for i in _matches(_path_tree(name), path.split("/")[1:]) if method.lower() in paths[i][1]), default=None
    )


def _operation(name: str, method: str, path: str) -> dict | None:
    index = _path_index(name, method, path)
    return None if index is None else _paths(name)[index][1][method.lower()]


def _validator(name: str, method: str, path: str) -> Draft7Validator | None:
    index = _path_index(name, method, path)
    return None if index is None else _operation_validator(name, method.lower(), index)


@cache
def _operation_validator(name: str, method: str, index: int) -> Draft7Validator | None:
    """The body validator of one operation, built once (not once per order id in the path)."""
    doc = document(name) or {}  # present: the operation was found in it
    op = _paths(name)[index][1][method]
    if "requestBody" in op:  # OpenAPI 3
        schema = op["requestBody"]["content"]["application/json"]["schema"]
    else:  # Swagger 2: the body parameter
        body = [p for p in op.get("parameters", []) if p.get("in") == "body"]
        if not body:
            return None
        schema = body[0]["schema"]
    root = {**schema, "components": doc.get("components", {}), "definitions": doc.get("definitions", {})}
    return Draft7Validator(root)


# Where each channel's emulator paths live in its published spec: (URL prefix, spec, prefix the spec omits).
_SPEC_OF_PATH = {
    "magento": [("/rest/V1/", "magento", "/rest")],
    "woocommerce": [("/wp-json/wc/v3/", "woocommerce", "/wp-json/wc/v3")],
    "vtex": [("/api/oms/", "vtex-orders", ""), ("/api/logistics/", "vtex-logistics", "")],
}


def _camel_segments(name: str) -> str:
    """Magento reads ``searchCriteria[filter_groups]`` as ``searchCriteria[filterGroups]``: compare in camelCase."""
    return re.sub(
        r"\[([a-z]+(?:_[a-z]+)+)\]",
        lambda m: "[" + re.sub(r"_([a-z])", lambda c: c.group(1).upper(), m.group(1)) + "]",
        name,
    )


def _indexless(name: str) -> str:
    return re.sub(r"\[\d+\]", "[0]", name)


@cache
def _declared_query(name: str, method: str, index: int) -> dict[str, dict]:
    """The query parameters the spec's ``index``-th path declares for ``method``, by normalised name."""
    doc, item = document(name) or {}, _paths(name)[index][1]  # present: the path was found in it
    params = [_resolve(doc, p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
    return {_camel_segments(_indexless(p["name"])): p for p in params if p.get("in") == "query"}


def _resolve(doc: dict, node: dict) -> dict:
    ref = node.get("$ref")
    if not ref:
        return node
    out = doc
    for part in ref.lstrip("#/").split("/"):
        out = out[part]
    return out


def query_errors(channel: str, method: str, url_path: str, params) -> list[str]:
    """What is wrong with a request's query parameters by the channel's spec: a parameter the
    operation does not declare, a value outside its enum, a non-integer for an integer. Empty when
    valid, or when no spec here covers the path (VTEX catalogue and pricing, a missing ../shared)."""
    for prefix, name, omitted in _SPEC_OF_PATH.get(channel, []):
        if url_path.startswith(prefix) and document(name) is not None:
            index = _path_index(name, method, url_path.removeprefix(omitted))
            break
    else:
        return []
    if index is None:
        return []
    by_norm = _declared_query(name, method.lower(), index)
    errors = []
    for key, value in params.multi_items():
        spec_param = by_norm.get(_camel_segments(_indexless(key)))
        if spec_param is None:
            errors.append(f"unknown query parameter {key!r}")
            continue
        schema = spec_param.get("schema", spec_param)
        if schema.get("enum") and value not in [str(v) for v in schema["enum"]]:
            errors.append(f"{key}: {value!r} is not one of {schema['enum']}")
        elif schema.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
            errors.append(f"{key}: {value!r} is not an integer")
    return sorted(errors)


def body_errors(name: str, method: str, path: str, body) -> list[str]:
    """What is wrong with ``body`` for ``method path`` by the spec (empty: valid or no spec)."""
    validator = _validator(name, method, path)
    if validator is None:
        return []
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in validator.iter_errors(body))


@lru_cache(maxsize=1)
def shopify_schema():
    path = SPEC_DIR / FILES["shopify"]
    if not path.exists():
        return None
    from graphql import build_client_schema

    schema = build_client_schema(json.loads(gzip.decompress(path.read_bytes()))["data"])
    schema._validation_errors = []  # the published schema trips graphql-core's own deprecation self-check
    return schema


@lru_cache(maxsize=256)
def graphql_document(query: str):
    """A query parsed and validated against the schema once (a client sends the same few queries
    page after page): (document, errors)."""
    from graphql import GraphQLError, parse, validate

    try:
        document_ast = parse(query)
    except GraphQLError as exc:
        return None, (exc.message,)
    schema = shopify_schema()
    return document_ast, tuple(e.message for e in validate(schema, document_ast)) if schema is not None else ()


def graphql_errors(query: str, variables: dict | None = None) -> list[str]:
    """What is wrong with a GraphQL operation and its variables by the Shopify Admin schema
    (empty: valid, or no spec to check against)."""
    from graphql import OperationDefinitionNode
    from graphql.execution.values import get_variable_values

    document_ast, errors = graphql_document(query)
    schema = shopify_schema()
    if errors or schema is None:
        return list(errors)
    found: list[str] = []
    for op in document_ast.definitions:
        if isinstance(op, OperationDefinitionNode):
            coerced = get_variable_values(schema, op.variable_definitions or [], variables or {})
            if isinstance(coerced, list):
                found += [e.message for e in coerced]
    return found
