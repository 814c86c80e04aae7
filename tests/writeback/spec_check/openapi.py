"""A REST request checked against the channel's published OpenAPI / Swagger document: the
operation exists (path template and method), its JSON body fits the request schema, the headers
the spec marks required are there, and dates are in the form the spec documents."""

from __future__ import annotations

import copy
import gzip
import json
import re
from functools import cache
from pathlib import Path

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from spec_check.capture import Request

SPEC_DIR = Path(__file__).resolve().parents[4] / "shared" / "api-specs"

# channel -> (spec files, the URL prefix the spec's paths sit under)
SPECS = {
    "vtex": (("vtex-orders-api.openapi.json", "vtex-logistics-api.openapi.json"), ""),
    "magento": (("magento-admin-2.4.8.swagger.yaml",), "/rest"),
    "woocommerce": (("woocommerce-wc-v3.openapi.yaml",), "/wp-json/wc/v3"),
}
# paths of APIs with no published spec here (VTEX pricing, catalog): allowed, not checked
UNSPECIFIED = {"vtex": ("/api/pricing/", "/api/catalog_system/")}

DOCUMENTED_DATE = re.compile(r"`?(yyyy-mm-dd(?:[ T]hh:mm(?::ss)?)?)`?", re.IGNORECASE)
DOCUMENTED_DURATION = re.compile(r"`(dd\.hh:mm:ss)`")  # VTEX's lead time: days.hours:minutes:seconds
ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def available() -> bool:
    return (
        all((SPEC_DIR / f).exists() for files, _ in SPECS.values() for f in files)
        and (SPEC_DIR / "shopify-admin-2025-01.introspection.json.gz").exists()
    )


@cache
def _load(name: str) -> dict:
    path = SPEC_DIR / name
    if path.suffix == ".gz":
        return json.loads(gzip.decompress(path.read_bytes()))
    if path.suffix == ".yaml":
        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.loads(path.read_text())


def _nullable(node):
    """OpenAPI 3's ``nullable: true`` as JSON Schema (a null is allowed)."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            if "type" in node:
                node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
            elif "$ref" in node or "enum" in node:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _document(name: str) -> tuple[dict, Registry]:
    doc = _nullable(copy.deepcopy(_load(name)))
    if isinstance(doc.get("info", {}).get("description"), dict):  # not JSON Schema; unused here
        doc["info"]["description"] = ""
    uri = f"urn:spec:{name}"
    return doc, Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT7))


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@cache
def _operations(channel: str) -> list[tuple[re.Pattern, str, str, str]]:
    """(path regex, method, spec file, template), literal templates first (``/orders/batch`` before
    ``/orders/{id}``)."""
    files, _ = SPECS[channel]
    out = []
    for name in files:
        for template, item in _load(name)["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    out.append((_template_regex(template), method, name, template))
    return sorted(out, key=lambda o: o[3].count("{"))


def check(channel: str, request: Request) -> list[str]:
    """What the spec of ``channel`` finds wrong with ``request`` (empty: nothing)."""
    files, prefix = SPECS[channel]
    if any(request.path.startswith(p) for p in UNSPECIFIED.get(channel, ())):
        return []
    path = request.path.removeprefix(prefix) if request.path.startswith(prefix + "/") else request.path
    found = [o for o in _operations(channel) if o[1] == request.method.lower() and o[0].match(path)]
    if not found:
        return [f"{request.method} {request.path}: no such operation in the {channel} spec"]
    _, method, name, template = found[0]
    doc, registry = _document(name)
    operation = doc["paths"][template][method]
    where = f"{request.method} {request.path} ({template})"
    problems = []
    params = [*doc["paths"][template].get("parameters", []), *operation.get("parameters", [])]
    for p in params:
        if "$ref" in p:
            p = _resolve(doc, p["$ref"])
        if p.get("in") == "header" and p.get("required") and p["name"].lower() not in request.headers:
            problems.append(f"{where}: required header {p['name']} missing")
        if p.get("in") == "query" and p.get("required") and p["name"] not in dict(request.query):
            problems.append(f"{where}: required query parameter {p['name']} missing")
    pointer = _body_pointer(doc, template, method, params)
    if request.body is not None or pointer is not None:
        if pointer is None:
            problems.append(f"{where}: the spec takes no body")
        else:
            validator = Draft7Validator({"$ref": f"urn:spec:{name}#{pointer}"}, registry=registry)
            for error in validator.iter_errors(request.body):
                problems.append(f"{where}: {'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}")
            problems += [f"{where}: {p}" for p in _documented(doc, _resolve(doc, pointer), request.body)]
    return problems


def _resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.lstrip("#").strip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _body_pointer(doc: dict, template: str, method: str, params: list[dict]) -> str | None:
    """JSON pointer of the operation's request body schema (None: it takes none)."""
    operation = doc["paths"][template][method]
    esc = template.replace("~", "~0").replace("/", "~1")
    if "requestBody" in operation:
        body = operation["requestBody"]
        if "$ref" in body:
            body = _resolve(doc, body["$ref"])
        if "application/json" in body.get("content", {}):
            return f"/paths/{esc}/{method}/requestBody/content/application~1json/schema"
        return None
    for i, p in enumerate(operation.get("parameters", [])):
        if p.get("in") == "body":
            return f"/paths/{esc}/{method}/parameters/{i}/schema"
    return None


def _documented(doc: dict, schema: dict, value, path: str = "") -> list[str]:
    """What the descriptions document beyond the schema: amounts "greater than 0", durations in the
    documented ``dd.hh:mm:ss``, and date fields in a form their description documents
    (``yyyy-mm-dd hh:mm``…), or, when it
    documents none, an ISO 8601 date-time with its time (VTEX: "you must add date and time")."""
    if "$ref" in schema:
        schema = _resolve(doc, schema["$ref"])
    out = []
    if isinstance(value, dict):
        for key, v in value.items():
            sub = schema.get("properties", {}).get(key)
            if sub is not None:
                out += _documented(doc, sub, v, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            out += _documented(doc, schema["items"], v, f"{path}/{i}")
    elif "greater than 0" in (schema.get("description") or "") and not (
        re.fullmatch(r"-?\d+(\.\d+)?", str(value)) and float(value) > 0
    ):
        out.append(f"{path}: {value!r} is not greater than 0, as the spec requires")
    elif isinstance(value, str) and (duration := DOCUMENTED_DURATION.search(schema.get("description") or "")):
        if not re.fullmatch(r"\d{2}\.\d{2}:\d{2}:\d{2}", value):
            out.append(f"{path}: {value!r} is not in the documented form {duration.group(1)}")
    elif isinstance(value, str) and (path.lower().endswith("date") or schema.get("format") == "date-time"):
        documented = DOCUMENTED_DATE.search(schema.get("description") or "")
        if documented and documented.group(1).lower() != "yyyy-mm-dd" and "T" not in documented.group(1).upper():
            form = documented.group(1).lower()
            pattern = re.escape(form).replace("yyyy", r"\d{4}").replace("mm", r"\d{2}").replace("dd", r"\d{2}")
            pattern = pattern.replace("hh", r"\d{2}")
            if not re.fullmatch(pattern, value):
                out.append(f"{path}: {value!r} is not in the documented form {form}")
        elif not ISO_DATE_TIME.fullmatch(value):
            out.append(f"{path}: {value!r} is not a date and time (ISO 8601)")
    return out
