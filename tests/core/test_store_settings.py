"""A store's profile in settings (channel_stores.<id>, marketplaces.<id>: StoreProfile): optional
fields with documented defaults, validated when the settings load, and handed to dbt as the vars
``stores`` and ``store_defaults`` with nothing else of the store (no URL, no credential)."""

from __future__ import annotations

import json

import pytest

from afterclick.dbt_channels import store_vars
from afterclick.errors import SettingsError
from afterclick.settings import load_settings

VTEX = {"channel": "vtex", "base_url": "https://acct.vtexcommercestable.com.br"}
CREDENTIALS = {"app_key": "vtexappkey-x", "app_token": "the-secret-token"}
# what dim_stores reads of each store
PROFILE = ("store_id", "channel", "store_name", "currency", "timezone", "country", "promised_days", "locale")


def _stores(monkeypatch, channel_stores: dict | None = None, marketplaces: dict | None = None):
    if channel_stores is not None:
        monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps(channel_stores))
    if marketplaces is not None:
        monkeypatch.setenv("AFTERCLICK_MARKETPLACES", json.dumps(marketplaces))
    return load_settings()


def test_a_store_configured_with_nothing_but_its_api_gets_the_defaults(settings, monkeypatch):
    loaded = _stores(monkeypatch, {"vtex-example": {**VTEX, "credentials": CREDENTIALS}}, {})
    var = store_vars(loaded)
    [store] = var["stores"]
    assert {name: store[name] for name in PROFILE} == {
        "store_id": "vtex-example",
        "channel": "vtex",
        "store_name": "vtex-example",
        "currency": None,
        "timezone": "UTC",
        "country": None,
        "promised_days": 3,
        "locale": "en",
    }
    assert var["store_defaults"] == {"timezone": "UTC", "promised_days": 3, "locale": "en"}
    assert "the-secret-token" not in json.dumps(var) and VTEX["base_url"] not in json.dumps(var)


def test_channel_stores_and_marketplaces_bring_their_profiles(settings, monkeypatch):
    loaded = _stores(
        monkeypatch,
        {
            "vtex-example": {
                **VTEX,
                "credentials": CREDENTIALS,
                "currency": "BRL",
                "timezone": "America/Sao_Paulo",
                "locale": "pt-BR",
                "promised_days": 7,
                "display_name": "Loja d'Exemplo",
                "country": "BR",
            }
        },
        {
            "mercado-mx": {
                "export": {"preset": "amazon_all_orders"},
                "currency": "MXN",
                "timezone": "America/Mexico_City",
                "locale": "es-MX",
            }
        },
    )
    by_id = {s["store_id"]: {name: s[name] for name in PROFILE} for s in store_vars(loaded)["stores"]}
    assert by_id["vtex-example"] == {
        "store_id": "vtex-example",
        "channel": "vtex",
        "store_name": "Loja d'Exemplo",
        "currency": "BRL",
        "timezone": "America/Sao_Paulo",
        "country": "BR",
        "promised_days": 7,
        "locale": "pt-BR",  # the region kept: customer messages use it
    }
    assert by_id["mercado-mx"]["channel"] == "marketplace"
    assert (by_id["mercado-mx"]["timezone"], by_id["mercado-mx"]["locale"]) == ("America/Mexico_City", "es-MX")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "America/Sao_Pablo", "unknown time zone 'America/Sao_Pablo' (did you mean 'America/Sao_Paulo'?)"),
        ("timezone", "GMT-3", "unknown time zone 'GMT-3'"),
        ("currency", "brl", "currency 'brl' is not an ISO 4217 code"),
        ("currency", "REAL", "currency 'REAL' is not an ISO 4217 code"),
        ("locale", "pt_BR", "locale 'pt_BR': a language, or language-REGION"),
        ("locale", "Portuguese", "locale 'Portuguese'"),
        ("country", "Brazil", "country 'Brazil' is not an ISO 3166 code"),
        ("promised_days", -1, "promised_days"),
    ],
)
@pytest.mark.parametrize("section", ["channel_stores", "marketplaces"])
def test_a_bad_profile_fails_at_load_naming_the_store_and_the_field(
    settings, monkeypatch, section, field, value, message
):
    store = (
        {**VTEX, "credentials": CREDENTIALS}
        if section == "channel_stores"
        else {"export": {"preset": "amazon_all_orders"}}
    )
    monkeypatch.setenv(f"AFTERCLICK_{section.upper()}", json.dumps({"the-store": {**store, field: value}}))
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert f"{section}.the-store.{field}: " in str(raised.value)
    assert message in str(raised.value)
    assert "the-secret-token" not in str(raised.value)


def test_a_profile_in_the_settings_file(settings, monkeypatch, tmp_path):
    toml = tmp_path / "afterclick.toml"
    toml.write_text(
        '[channel_stores.vtex-example]\nchannel = "vtex"\nbase_url = "https://acct.vtexcommercestable.com.br"\n'
        'currency = "BRL"\ntimezone = "America/Sao_Paulo"\n'
        '[channel_stores.vtex-example.credentials]\napp_key = "k"\napp_token = "t"\n'
    )
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(toml))
    [store] = store_vars(load_settings())["stores"][-1:]
    assert (store["store_id"], store["currency"], store["timezone"]) == ("vtex-example", "BRL", "America/Sao_Paulo")
