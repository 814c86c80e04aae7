"""What afterclick writes to Magento 2: stock (MSI source items), prices (base and wholesale tier
prices), tracking (shipments) and status (status-history comments, cancel)."""

from writeback.adapters.magento.orders import MagentoStatus, MagentoTracking
from writeback.adapters.magento.prices import MagentoPrices
from writeback.adapters.magento.stock import MagentoStock

ADAPTERS = {"stock": MagentoStock, "prices": MagentoPrices, "tracking": MagentoTracking, "status": MagentoStatus}
