"""Obscura: on-premise video anonymisation."""

__version__ = "0.1.0"
