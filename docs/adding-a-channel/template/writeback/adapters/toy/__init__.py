"""What afterclick writes to Toy Shop: the stock of each product and the status of each order."""

from writeback.adapters.toy.orders import ToyStatus
from writeback.adapters.toy.stock import ToyStock

ADAPTERS = {"stock": ToyStock, "status": ToyStatus}  # kind -> adapter class (the kinds it takes)
