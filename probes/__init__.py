"""Probes that prove delivery, isolation and what is on the wire."""
