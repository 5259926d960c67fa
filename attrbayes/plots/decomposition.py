"""The planners' growth decomposition chart: one bar per driver (posterior median, persons
or jobs per year) with its 80 % interval, coloured by the place's national rank."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from attrbayes.decomposition import Decomposition
from attrbayes.exceptions import DataError

RANK_CMAP = "RdYlBu_r"  # rank 1 blue ... rank n red; readable with red-green blindness
NO_RANK_COLOUR = "0.75"
TOTAL_GROUP = "total"


def _tick(value: float, _pos: int) -> str:
    return "0" if value == 0 else f"{value:+,.0f}"


def decomposition_plot_data(decomposition: Decomposition) -> pd.DataFrame:
    """One row per bar, top to bottom: label, value (median), err_low / err_high (to the
    80 % interval), rank, n_places, is_total; drivers first, then the totals."""
    t = decomposition.table
    drivers = t[t["group"] != TOTAL_GROUP]
    totals = t[t["group"] == TOTAL_GROUP]
    rows = pd.concat([drivers, totals], ignore_index=True)
    return pd.DataFrame(
        {
            "label": [
                f"= {d}" if g == TOTAL_GROUP else d
                for d, g in zip(rows["driver"], rows["group"], strict=True)
            ],
            "group": rows["group"],
            "value": rows["median"],
            "err_low": (rows["median"] - rows["lower_80"]).clip(lower=0),
            "err_high": (rows["upper_80"] - rows["median"]).clip(lower=0),
            "rank": rows["national_rank"],
            "n_places": rows["n_places"],
            "is_total": rows["group"] == TOTAL_GROUP,
        }
    )


def _colours(data: pd.DataFrame, cmap, norm) -> list:
    return [cmap(norm(r)) if np.isfinite(r) else NO_RANK_COLOUR for r in data["rank"].astype(float)]


def _has_interval(data: pd.DataFrame) -> pd.Series:
    return (data["err_low"] > 0) | (data["err_high"] > 0)


def decomposition_chart_key(data: pd.DataFrame) -> tuple:
    """What the artists of :func:`plot_decomposition` depend on besides the numbers: bars,
    labels, groups, totals, which bars have intervals and ranks, the number of places. A
    figure of equal key can be refilled (:func:`refill_decomposition`)."""
    n = int(data["n_places"].max()) if len(data) else 1
    ranked = np.isfinite(data["rank"].astype(float).to_numpy())
    return (tuple(data["label"]), tuple(data["group"]), tuple(data["is_total"]),
            tuple(_has_interval(data)), tuple(ranked), n)  # fmt: skip


def refill_decomposition(fig: Figure) -> Callable[[pd.DataFrame, str | None], None] | None:
    """For a figure of :func:`plot_decomposition`: a function that puts another unit's
    numbers (data of the same :func:`decomposition_chart_key`) into its bars, colours and
    error bars and rescales the axis, so that a report over many places keeps one figure.
    None when the figure's parts are not found."""
    from matplotlib.container import BarContainer, ErrorbarContainer

    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    errors = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    if len(bars) != 1 or len(errors) > 1:
        return None
    caps, lines = (errors[0].lines[1], errors[0].lines[2]) if errors else ((), ())
    if errors and (len(caps) != 2 or len(lines) != 1):
        return None
    patches = list(bars[0].patches)
    cmap = plt.get_cmap(RANK_CMAP)

    def refill(data: pd.DataFrame, title: str | None = None) -> None:
        if len(data) != len(patches):
            raise DataError(f"{len(data)} bars for a chart of {len(patches)}")
        norm = Normalize(vmin=1, vmax=max(int(data["n_places"].max()), 2))
        for patch, value, colour in zip(patches, data["value"], _colours(data, cmap, norm),
                                        strict=True):  # fmt: skip
            patch.set_width(value)
            patch.set_facecolor(colour)
        if errors:
            shown = _has_interval(data).to_numpy()
            y = np.arange(len(data))[shown]
            x = data["value"].to_numpy(float)[shown]
            low = x - data["err_low"].to_numpy(float)[shown]
            high = x + data["err_high"].to_numpy(float)[shown]
            caps[0].set_data(low, y)
            caps[1].set_data(high, y)
            lines[0].set_segments(np.stack([np.column_stack([low, y]),
                                            np.column_stack([high, y])], axis=1))  # fmt: skip
        ax.relim()
        ax.autoscale_view()
        ax.set_title(title or "Growth decomposition")

    return refill


def plot_decomposition(
    data: pd.DataFrame, *, title: str | None = None, unit: str = "persons"
) -> Figure:
    """Horizontal bars (readable driver labels) with 80 % error bars and a zero line; bar
    colour = national rank (colour bar "rank among n places"); grey = no rank (the driver
    is at the same rate in every place); totals hatched below a separating line."""
    n_bars = len(data)
    n = int(data["n_places"].max()) if n_bars else 1
    cmap = plt.get_cmap(RANK_CMAP)
    norm = Normalize(vmin=1, vmax=max(n, 2))
    colours = _colours(data, cmap, norm)
    fig, ax = plt.subplots(figsize=(9, 0.42 * n_bars + 2.2), layout="constrained")
    y = np.arange(n_bars)
    bars = ax.barh(y, data["value"], color=colours, edgecolor="0.3", linewidth=0.6)
    for bar, total in zip(bars, data["is_total"], strict=True):
        if total:
            bar.set_hatch("//")
    has_interval = _has_interval(data)
    if has_interval.any():
        ax.errorbar(
            data["value"][has_interval],
            y[has_interval.to_numpy()],
            xerr=[data["err_low"][has_interval], data["err_high"][has_interval]],
            fmt="none",
            ecolor="black",
            elinewidth=1.2,
            capsize=3,
        )
    ax.axvline(0, color="black", lw=0.9)
    groups = data["group"].to_numpy()
    for i in range(1, n_bars):  # a line between groups, dashed above the totals
        if groups[i] != groups[i - 1]:
            total = bool(data["is_total"].iloc[i])
            ax.axhline(i - 0.5, color="0.4" if total else "0.8", lw=0.8, ls="--" if total else ":")
    ax.set_yticks(y, data["label"])
    ax.invert_yaxis()  # the first driver on top
    ax.set_xlabel(f"{unit} per year (posterior median; error bars: 80 % interval)")
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    ax.set_title(title or "Growth decomposition")
    scalar = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(scalar, ax=ax, pad=0.02, fraction=0.04)
    bar.set_label(f"national rank among {n} places (1 = largest relative to size)")
    bar.ax.invert_yaxis()  # rank 1 at the top
    if not np.isfinite(data["rank"].astype(float)).all():
        ax.legend(
            handles=[
                Patch(
                    facecolor=NO_RANK_COLOUR, edgecolor="0.3", label="same rate everywhere: no rank"
                )
            ],
            loc="best",
            fontsize=8,
        )
    return fig
