"""Sales-channel APIs read into raw: one plugin package per channel (``ingest/channels/<name>/``,
declaring what it reads: ``contract.py``) and the generic landing of what they read (orders and
other records changed since a cursor: ``connector.py``; catalogue sweeps: ``catalogue.py``; stock:
``inventory.py``)."""
