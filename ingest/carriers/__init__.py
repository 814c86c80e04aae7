"""Carriers: the tracking API poller and the file exchange with carriers' label tools."""
