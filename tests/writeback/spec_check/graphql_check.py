"""A Shopify Admin GraphQL request checked against the published schema (its introspection): the
document validates (graphql-core's rules, and no deprecated field or argument), and its variables
coerce to the types the operation declares."""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_client_schema, parse, specified_rules, validate
from graphql.error import GraphQLError
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode
from graphql.validation import NoDeprecatedCustomRule

from spec_check.capture import Request
from spec_check.openapi import _load

SHOPIFY_PATH = "/admin/api/2025-01/graphql.json"


@cache
def schema() -> GraphQLSchema:
    doc = _load("shopify-admin-2025-01.introspection.json.gz")
    return build_client_schema(doc.get("data", doc))


def check(request: Request) -> list[str]:
    if request.method != "POST" or request.path != SHOPIFY_PATH:
        return [f"{request.method} {request.path}: not the Admin GraphQL endpoint of 2025-01"]
    body = request.body if isinstance(request.body, dict) else {}
    try:
        document = parse(body.get("query") or "")
    except GraphQLError as exc:
        return [f"GraphQL syntax: {exc.message}"]
    problems = [e.message for e in validate(schema(), document, [*specified_rules, NoDeprecatedCustomRule])]
    if problems:
        return problems
    for op in document.definitions:
        if isinstance(op, OperationDefinitionNode):
            coerced = get_variable_values(schema(), op.variable_definitions or (), body.get("variables") or {})
            if isinstance(coerced, list):
                problems += [f"variables: {e.message}" for e in coerced]
    return problems


def is_mutation(request: Request) -> bool:
    body = request.body if isinstance(request.body, dict) else {}
    document = parse(body.get("query") or "")
    return any(
        isinstance(op, OperationDefinitionNode) and op.operation.value == "mutation" for op in document.definitions
    )
