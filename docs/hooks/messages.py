"""MkDocs hook: the customer-messages page shows every message as the templates render it, per
kind and locale (writeback/templates/), generated at every build so the page cannot drift from
the templates. The page marks the place with ``<!-- messages: generated -->``."""

from __future__ import annotations

MARKER = "<!-- messages: generated -->"
PAGE = "writeback/customer-messages.md"
KINDS = ("shipping_confirmation", "out_for_delivery", "delivered", "return_received")
LOCALES = {
    "en": "English",
    "es": "Spanish (Spain)",
    "es-MX": "Spanish (Mexico)",
    "pt": "Portuguese (Portugal)",
    "pt-BR": "Portuguese (Brazil)",
}
SAMPLE = {
    "order_number": "#1042",
    "store_name": "ACME",
    "carrier_name": "Correos",
    "tracking_number": "PQ4F5A2B0012345",
    "tracking_url": "https://track.example/PQ4F5A2B0012345",
    "rating_url": "https://reviews.example/acme?order=%231042",
}


def examples() -> str:
    """Every kind in every locale: its subject and text, as a customer gets it."""
    from writeback.adapters.email import render

    out = []
    for locale, language in LOCALES.items():
        out.append(f"### {language} (`{locale}`)\n")
        for kind in KINDS:
            subject, body = render(kind, locale, {**SAMPLE, "kind": kind, "locale": locale})
            text = "\n".join(f"    {line}" if line else "" for line in f"Subject: {subject}\n\n{body}".splitlines())
            out.append(f"`{kind}`\n\n{text}\n")
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    return markdown.replace(MARKER, examples())
