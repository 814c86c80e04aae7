"""Static reference data of the demo world: its stores, warehouses, carriers and vocabularies.

The demo business sells in Spain, Portugal, Brazil and Mexico through seven channel
stores on five kinds of channel. Everything here is fixed; everything random lives in
``world.py``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date

import numpy as np

from afterclick.transform import DBT_PROJECT_DIR


@dataclass(frozen=True)
class Store:
    store_id: str
    channel: str  # shopify | vtex | magento | woocommerce | marketplace
    name: str
    currency: str
    timezone: str
    locale: str
    country: str
    share: float  # share of the business's orders
    promised_days: int  # delivery promise shown at checkout, in days
    warehouses: tuple[str, ...]  # which warehouses serve this store, first = preferred

    def profile(self) -> dict:
        """The store as its settings describe it (channel_stores.<id> / marketplaces.<id>: the
        StoreProfile fields of afterclick/settings.py)."""
        return {
            "display_name": self.name,
            "currency": self.currency,
            "timezone": self.timezone,
            "promised_days": self.promised_days,
            "locale": self.locale,
            "country": self.country,
        }


STORES: tuple[Store, ...] = (
    Store("shopify-es", "shopify", "Shopify Spain", "EUR", "Europe/Madrid", "es", "ES", 0.28, 3, ("wh-mad", "wh-bcn")),
    Store("shopify-mx", "shopify", "Shopify Mexico", "MXN", "America/Mexico_City", "es-MX", "MX", 0.08, 5, ("wh-mex",)),
    Store("vtex-br", "vtex", "VTEX Brazil", "BRL", "America/Sao_Paulo", "pt-BR", "BR", 0.15, 7, ("wh-sao",)),
    Store(
        "magento-es",
        "magento",
        "Magento Spain B2B/B2C",
        "EUR",
        "Europe/Madrid",
        "es",
        "ES",
        0.15,
        3,
        ("wh-bcn", "wh-mad"),
    ),
    Store(
        "woo-pt",
        "woocommerce",
        "WooCommerce Portugal",
        "EUR",
        "Europe/Lisbon",
        "pt",
        "PT",
        0.12,
        4,
        ("wh-lis", "wh-mad"),
    ),
    Store(
        "amazon-es",
        "marketplace",
        "Amazon Spain (seller export)",
        "EUR",
        "Europe/Madrid",
        "es",
        "ES",
        0.15,
        2,
        ("wh-mad",),
    ),
    Store(
        "miravia-es", "marketplace", "Miravia (seller export)", "EUR", "Europe/Madrid", "es", "ES", 0.07, 4, ("wh-bcn",)
    ),
)
STORE_BY_ID = {s.store_id: s for s in STORES}
CHANNELS = ("shopify", "vtex", "magento", "woocommerce", "marketplace")


def _read_currency_rates() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The dbt seed ``currency_rates`` (dated rates to EUR): currency -> (rate dates as days since
    the epoch, ascending; rates). The demo world prices its orders with the rates the platform
    converts them back with."""
    rates: dict[str, list[tuple[int, float]]] = {}
    with (DBT_PROJECT_DIR / "seeds" / "currency_rates.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            day = (date.fromisoformat(row["rate_date"]) - date(1970, 1, 1)).days
            rates.setdefault(row["currency"], []).append((day, float(row["rate_to_eur"])))
    return {
        currency: (np.array([d for d, _ in sorted(rows)]), np.array([r for _, r in sorted(rows)]))
        for currency, rows in rates.items()
    }


FX_RATES = _read_currency_rates()


def fx_to_eur(currency: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The rate to EUR of each ``currency`` on each ``day`` (days since the epoch, UTC): the last
    rate on or before it, the currency's first rate before that one (as the dbt models convert)."""
    currency, day = np.asarray(currency), np.asarray(day, dtype=np.int64)
    out = np.empty(currency.shape, dtype=float)
    for code in np.unique(currency):
        days, rates = FX_RATES[str(code)]
        at = currency == code
        out[at] = rates[np.maximum(np.searchsorted(days, day[at], side="right") - 1, 0)]
    return out


WAREHOUSES = {
    "wh-mad": ("Madrid DC", "ES", "Madrid"),
    "wh-bcn": ("Barcelona DC", "ES", "Barcelona"),
    "wh-lis": ("Lisbon DC", "PT", "Lisboa"),
    "wh-sao": ("São Paulo DC", "BR", "São Paulo"),
    "wh-mex": ("Mexico City DC", "MX", "Ciudad de México"),
}

# Carriers by destination country, with their share of that country's parcels.
CARRIERS_BY_COUNTRY = {
    "ES": (("correos", 0.5), ("seur", 0.3), ("mrw", 0.2)),
    "PT": (("ctt", 0.7), ("seur", 0.3)),
    "BR": (("correios", 0.6), ("jadlog", 0.4)),
    "MX": (("estafeta", 0.6), ("dhl", 0.4)),
}
CARRIER_SERVICE = {
    "correos": "paq_premium",
    "seur": "seur_24",
    "mrw": "ecommerce",
    "ctt": "expresso_48",
    "correios": "sedex",
    "jadlog": "package",
    "estafeta": "dia_siguiente",
    "dhl": "express_domestic",
}
TRACKING_URL = {
    "correos": "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number={}",
    "seur": "https://www.seur.com/livetracking/?segOnlineIdentificador={}",
    "mrw": "https://www.mrw.es/seguimiento_envios/MRW_resultados_consultas.asp?modo=nacional&envio={}",
    "ctt": "https://appserver.ctt.pt/CustomerArea/PublicArea_Detail?ObjectCodeInput={}",
    "correios": "https://rastreamento.correios.com.br/app/index.php?objeto={}",
    "jadlog": "https://www.jadlog.com.br/jadlog/tracking?cte={}",
    "estafeta": "https://rastreositecorp.estafeta.com/Rastreo/Detail?guia={}",
    "dhl": "https://www.dhl.com/mx-es/home/tracking.html?tracking-id={}",
}

# Each carrier speaks its own status vocabulary; the canonical set lives in dbt's seed.
# canonical -> raw status as that carrier's feed spells it.
_GENERIC = {
    "info_received": "InfoReceived",
    "in_transit": "InTransit",
    "out_for_delivery": "OutForDelivery",
    "attempt_failed": "AttemptFail",
    "delivered": "Delivered",
    "exception": "Exception",
    "returned_to_sender": "ReturnToSender",
    "available_for_pickup": "AvailableForPickup",
}
CARRIER_RAW_STATUS: dict[str, dict[str, str]] = {
    "correos": {
        "info_received": "PRE-REGISTRADO",
        "in_transit": "EN TRANSITO",
        "out_for_delivery": "EN REPARTO",
        "attempt_failed": "AUSENTE",
        "delivered": "ENTREGADO",
        "exception": "INCIDENCIA",
        "returned_to_sender": "DEVUELTO",
        "available_for_pickup": "DISPONIBLE EN OFICINA",
    },
    "ctt": {
        "info_received": "Aceite",
        "in_transit": "Em trânsito",
        "out_for_delivery": "Em distribuição",
        "attempt_failed": "Destinatário ausente",
        "delivered": "Entregue",
        "exception": "Anomalia",
        "returned_to_sender": "Devolvido ao remetente",
        "available_for_pickup": "Disponível para levantamento",
    },
    "correios": {
        "info_received": "Objeto postado",
        "in_transit": "Objeto em trânsito - por favor aguarde",
        "out_for_delivery": "Objeto saiu para entrega ao destinatário",
        "attempt_failed": "Carteiro não atendido",
        "delivered": "Objeto entregue ao destinatário",
        "exception": "Objeto não entregue",
        "returned_to_sender": "Objeto devolvido ao remetente",
        "available_for_pickup": "Objeto aguardando retirada",
    },
    **{c: _GENERIC for c in ("seur", "mrw", "jadlog", "estafeta", "dhl")},
}
# Why a delivery attempt failed: (sub_status, message), drawn in these proportions.
ATTEMPT_FAILURES = (
    ("not_at_home", "Recipient not at home", 0.6),
    ("address_not_found", "Address not found", 0.25),
    ("refused", "Delivery refused by recipient", 0.15),
)
RETURN_REASONS = (
    ("wrong_size", "La talla no es correcta", 0.35),
    ("damaged", "Producto dañado / damaged on arrival", 0.15),
    ("not_as_described", "No corresponde con la descripción", 0.2),
    ("changed_mind", "Ya no lo quiero", 0.2),
    ("late_delivery", "Llegó tarde", 0.1),
)
DISPOSITIONS = (("restock", 0.7), ("repair", 0.15), ("scrap", 0.15))
CATEGORIES = ("apparel", "footwear", "home", "beauty", "electronics", "sports")
CANCEL_REASONS = ("customer", "fraud", "inventory", "payment_declined")
MARKETING_CAMPAIGNS = ("search", "social", "affiliate")
