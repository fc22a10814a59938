"""Audit: the tamper-evident trail of every registration event."""
