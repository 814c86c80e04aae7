"""Many Shopify mutations aliased into one GraphQL request (the cost throttle is honoured by
``shopify_graphql``), and their user errors."""

from __future__ import annotations

from afterclick.channels.http import shopify_graphql

RESULT = "userErrors { field message }"


def run_mutations(client, mutations: list[tuple[str, dict[str, tuple[str, object]], str]]) -> list[dict]:
    """Send ``(field, {argument: (GraphQL type, value)}, selection)`` mutations aliased in one
    request; the result of each, in order."""
    if not mutations:
        return []
    declared, fields, variables = [], [], {}
    for i, (name, args, selection) in enumerate(mutations):
        call = []
        for arg, (gql_type, value) in args.items():
            var = f"{arg}_{i}"
            declared.append(f"${var}: {gql_type}")
            variables[var] = value
            call.append(f"{arg}: ${var}")
        fields.append(f"m{i}: {name}({', '.join(call)}) {{ {selection} }}")
    data = shopify_graphql(client, f"mutation({', '.join(declared)}) {{ {' '.join(fields)} }}", variables)
    return [data[f"m{i}"] for i in range(len(mutations))]


def user_errors(result: dict) -> str | None:
    """A mutation result's user errors as one message (None: none): ``userErrors``, or the typed
    list a mutation has instead (``orderCancelUserErrors``)."""
    errors = [e for key, value in (result or {}).items() if key.endswith("serErrors") for e in value or []]
    return "; ".join(e["message"] for e in errors) or None
