"""Sales-channel API connectors: one HTTP mechanism (``http.py``), one page reader per channel."""
