"""Data stage: the panel contract, reading/writing and the synthetic panel."""

from attrbayes.data.panel import Manifest, Panel, balance_residuals, read_panel, write_panel

__all__ = ["Manifest", "Panel", "balance_residuals", "read_panel", "write_panel"]
