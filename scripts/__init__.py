"""Maintenance scripts (demo record, shipped weights, model-card tables): ``python -m scripts.NAME`` from the root."""
