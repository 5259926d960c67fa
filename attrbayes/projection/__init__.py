"""Projection stage: cohort-component projections over posterior draws (MODEL.md 5-6)."""
