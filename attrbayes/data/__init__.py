"""Data stage: the panel contract, reading and writing (the synthetic panel, which is
simulated with the features' definitions, is ``attrbayes.synthetic``)."""

from attrbayes.data.panel import Manifest, Panel, balance_residuals, read_panel, write_panel

__all__ = ["Manifest", "Panel", "balance_residuals", "read_panel", "write_panel"]
