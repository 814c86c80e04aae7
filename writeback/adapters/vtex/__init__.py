"""What afterclick writes to VTEX: stock (logistics), prices (pricing), tracking and status (OMS),
one call per change (VTEX has no batch endpoints)."""

from writeback.adapters.vtex.orders import VtexStatus, VtexTracking
from writeback.adapters.vtex.prices import VtexPrices
from writeback.adapters.vtex.stock import VtexStock

ADAPTERS = {"stock": VtexStock, "prices": VtexPrices, "tracking": VtexTracking, "status": VtexStatus}
