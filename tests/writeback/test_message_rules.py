"""What a customer message looks like, against a real SMTP server on loopback (a recording aiosmtpd):
each store's sender, name, Reply-To and time zone, the Message-ID on the sender's domain, the
rating request's link and List-Unsubscribe, no internal header, the locale's own wording (pt-BR
apart from pt-PT), and an HTML alternative that escapes what the channels supplied."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

import pytest

from afterclick.errors import SettingsError
from afterclick.settings import load_settings
from writeback.adapters.email import store_messages

from pushing import RecordingSmtp, notification, send_notifications, want_notifications

BRAZIL = {
    "channel": "vtex",
    "base_url": "http://127.0.0.1:9",
    "credentials": {"app_key": "k", "app_token": "t"},
    "display_name": "Loja Brasil",
    "locale": "pt-BR",
    "timezone": "America/Sao_Paulo",
    "messages": {
        "sender": "pedidos@loja-brasil.example",
        "reply_to": "atendimento@loja-brasil.example",
        "rating_url": "https://reviews.example/loja-brasil?order={order_number}&loja={store_id}",
        "unsubscribe_url": "https://loja-brasil.example/unsubscribe?order={order_number}",
    },
}
PORTUGAL = {
    "channel": "woocommerce",
    "base_url": "http://127.0.0.1:9",
    "credentials": {"key": "k", "secret": "s"},
    "display_name": "Loja Portugal",
    "locale": "pt",
    "timezone": "Europe/Lisbon",
    "messages": {"sender": "encomendas@loja-portugal.example"},
}
EVIL = "<script>alert('x')</script> & co"


def _stores(settings):
    return store_messages(load_settings(channel_stores={"vtex-br": BRAZIL, "woo-pt": PORTUGAL}))


def _text(message, subtype: str) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == f"text/{subtype}"]
    return part.get_payload(decode=True).decode(part.get_content_charset())


def _send(settings, rows):
    want_notifications(settings, rows)
    with RecordingSmtp() as server:
        report = send_notifications(settings, server.smtp(settings), _stores(settings))
    assert report.total("pushed") == len(rows), report
    return {m.key: m.message for m in server.accepted}


def _brazil(i: int, kind: str, **more) -> dict:
    return notification(
        i,
        writeback_key=f"{kind}:o{i}:s{i}",
        kind=kind,
        store_id="vtex-br",
        channel="vtex",
        locale="pt-BR",
        store_name="VTEX Brazil",  # the internal name the warehouse has: never shown
        carrier_name="Correios",
        **more,
    )


def test_each_store_sends_as_itself_with_its_zone_its_domain_and_no_internal_header(settings):
    rows = [
        _brazil(1, "shipping_confirmation"),
        notification(2, store_id="woo-pt", channel="woocommerce", locale="pt", store_name="WooCommerce Portugal"),
    ]
    got = _send(settings, rows)
    brazil, portugal = got[rows[0]["writeback_key"]], got[rows[1]["writeback_key"]]

    assert getaddresses([brazil["From"]]) == [("Loja Brasil", "pedidos@loja-brasil.example")]
    assert brazil["Reply-To"] == "atendimento@loja-brasil.example"  # a reply can arrive
    assert str(portugal["From"]) == "Loja Portugal <encomendas@loja-portugal.example>"
    assert portugal["Reply-To"] is None  # replies go to From
    for message in (brazil, portugal):
        assert "VTEX Brazil" not in message.as_string() and "WooCommerce" not in _text(message, "plain")
        assert not [name for name in message if name.lower().startswith("x-")]  # no internal header
        assert not message["Date"].endswith("-0000")  # "-0000": offset unknown (RFC 5322)
    assert parsedate_to_datetime(brazil["Date"]).utcoffset() == timedelta(hours=-3)  # the store's zone
    assert parsedate_to_datetime(portugal["Date"]).utcoffset() is not None
    assert brazil["Message-ID"].endswith("@loja-brasil.example>")
    assert portugal["Message-ID"].endswith("@loja-portugal.example>")
    assert "Loja Brasil" in _text(brazil, "plain") and "Loja Portugal" in _text(portugal, "plain")


def test_brazilian_customers_read_brazilian_portuguese_and_portuguese_ones_european(settings):
    rows = [
        _brazil(1, "shipping_confirmation"),
        notification(2, store_id="woo-pt", channel="woocommerce", locale="pt"),
    ]
    got = _send(settings, rows)
    brazil, portugal = got[rows[0]["writeback_key"]], got[rows[1]["writeback_key"]]
    subject = str(make_header(decode_header(brazil["Subject"])))
    assert subject == "Seu pedido #1001 está a caminho"
    assert "Número de rastreamento: PQ00000001" in _text(brazil, "plain")
    assert "encomenda" not in _text(brazil, "plain") + subject and "seguimento" not in _text(brazil, "plain")
    assert str(make_header(decode_header(portugal["Subject"]))) == "A sua encomenda #1002 está a caminho"
    assert "Número de seguimento: PQ00000002" in _text(portugal, "plain")


def test_the_rating_request_links_to_the_rating_page_and_alone_offers_to_unsubscribe(settings):
    rows = [_brazil(1, "delivered"), _brazil(2, "shipping_confirmation"), _brazil(3, "out_for_delivery")]
    got = _send(settings, rows)
    delivered = got[rows[0]["writeback_key"]]
    rating = "https://reviews.example/loja-brasil?order=%231001&loja=vtex-br"  # the order's details, URL-encoded
    assert f"Avalie de 1 a 5 aqui: {rating}" in _text(delivered, "plain")
    assert f'<a href="{rating.replace("&", "&amp;")}">' in _text(delivered, "html")
    assert " ".join(delivered["List-Unsubscribe"].split()) == (
        "<mailto:atendimento@loja-brasil.example?subject=unsubscribe>, "
        "<https://loja-brasil.example/unsubscribe?order=%231001>"
    )
    assert delivered["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058 one-click
    for transactional in rows[1:]:  # shipping news is transactional: nothing to unsubscribe from
        message = got[transactional["writeback_key"]]
        assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_the_html_alternative_escapes_what_the_channel_supplied(settings):
    rows = [_brazil(1, "shipping_confirmation", order_number=EVIL, tracking_number="T&1<b>")]
    message = _send(settings, rows)[rows[0]["writeback_key"]]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    html = _text(message, "html")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in html
    assert "T&amp;1&lt;b&gt;" in html
    assert '<a href="https://track.example/PQ00000001">' in html  # the tracking link, as a link
    assert EVIL in _text(message, "plain")  # the text part is the text


def test_a_store_without_message_settings_sends_as_smtp_sender_and_falls_back_to_english(settings):
    rows = [notification(1, store_id="unknown-store", locale="fr-FR", store_name="Internal name")]
    message = _send(settings, rows)[rows[0]["writeback_key"]]
    assert getaddresses([message["From"]]) == [(settings.smtp.sender_name, settings.smtp.sender)]
    assert "Internal name" not in _text(message, "plain")
    assert str(make_header(decode_header(message["Subject"]))) == "Your order #1001 is on its way"


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ({"rating_url": "https://reviews.example/?email={customer_email}"}, "unknown placeholder {customer_email}"),
        ({"rating_url": "reviews.example/{order_number}"}, "not an http(s) link"),
        ({"rating_url": "https://reviews.example/{order_number"}, "brace"),
        ({"unsubscribe_url": "http://shop.example/unsubscribe"}, "https"),
        ({"sender": "Shop <orders@shop.example>"}, "not one plain email address"),
        ({"reply_to": "help@shop.example\r\nBcc: spy@evil.example"}, "not one plain email address"),
        ({"email_buyers": True}, "unknown setting 'channel_stores.shop.messages.email_buyers'"),
    ],
)
def test_message_settings_are_checked_when_settings_load(settings, messages, problem):
    store = {"channel": "shopify", "base_url": "https://shop.example", "credentials": {"token": "t"}}
    with pytest.raises(SettingsError) as caught:
        load_settings(channel_stores={"shop": {**store, "messages": messages}})
    assert problem in str(caught.value) and "channel_stores.shop.messages" in str(caught.value)
    assert "spy@evil" not in str(caught.value)


def test_the_docs_page_shows_every_message_of_every_locale_as_the_templates_render_it():
    """docs/hooks/messages.py fills the customer-messages page from the templates at every docs build."""
    import importlib.util

    from writeback.adapters.email import TEMPLATES, render

    root = TEMPLATES.parents[1]
    spec = importlib.util.spec_from_file_location("messages_hook", root / "docs" / "hooks" / "messages.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.MARKER in (root / "docs" / hook.PAGE).read_text()
    assert set(hook.LOCALES) == {p.name for p in TEMPLATES.iterdir() if p.is_dir()}  # every locale shown
    assert set(hook.KINDS) == {p.stem for p in (TEMPLATES / "en").glob("*.txt")}  # every kind shown
    page = hook.examples()
    for locale in hook.LOCALES:
        for kind in hook.KINDS:
            subject, body = render(kind, locale, {**hook.SAMPLE, "kind": kind})
            assert f"Subject: {subject}" in page and body.splitlines()[-1] in page
