"""Plots: each module pairs a ``*_data()`` function (a DataFrame, tested) with a
``plot_*()`` function (a matplotlib Figure, smoke-tested with the Agg backend)."""
