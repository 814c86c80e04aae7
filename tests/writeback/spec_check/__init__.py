"""Checks of what the write-back sends against the channels' published API specs, written apart
from the adapters and the demo stores: the specs are loaded and read here, by their own rules."""
