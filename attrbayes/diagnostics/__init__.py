"""Diagnostics stage: the convergence gate, posterior predictive checks and LOO."""
