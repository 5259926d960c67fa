"""Attractiveness charts for one place: its attractiveness over time with 50/80/95 % bands
(residential and business side by side), and a rank plot of the place among all places
(every place's period median with its 80 % interval, sorted, the place highlighted); and,
for methodologists, the scatter of every place's posterior against its OLS point
attractiveness (the data: :func:`attrbayes.reporting.comparison.attractiveness_comparison`).

The data functions take the tables of :mod:`attrbayes.attractiveness` (computed once for
all places) and select one place, so a report over many places does not recompute them.
Labels are arguments: the report passes them in its own language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from attrbayes.constants import INTERVALS
from attrbayes.exceptions import DataError

BAND_ALPHA = {95: 0.15, 80: 0.25, 50: 0.4}
PATH_COLUMNS = ["year", "median", *[f"{s}_{round(m * 100)}" for m in INTERVALS
                                    for s in ("lower", "upper")]]  # fmt: skip
RANK_COLUMNS = ["position", "place", "name", "median", "lower_80", "upper_80", "highlight"]
COLOUR = "tab:blue"
HIGHLIGHT = "tab:red"


@dataclass(frozen=True)
class ChartLabels:
    """The words on the charts (English defaults); ``band`` takes ``{pct}``."""

    xlabel_year: str = "year"
    ylabel: str = "% of the base per year"
    median: str = "median"
    band: str = "{pct} % interval"
    period: str = "report period"
    zero: str = "as expected from structure"
    rank_xlabel: str = "all places, sorted by median (1 = most attractive)"
    rank_others: str = "other places: median and 80 % interval"


def _check_place(table: pd.DataFrame, place: str) -> None:
    if place not in set(table["place"].astype(str)):
        raise DataError(f"place {place!r} is not in the attractiveness table")


def attractiveness_path_data(table_by_year: pd.DataFrame, place: str) -> pd.DataFrame:
    """Rows ``year, median, lower_50 ... upper_95`` (% per year) of one place, from
    :func:`attrbayes.attractiveness.attractiveness_table` with ``by="year"``."""
    _check_place(table_by_year, place)
    rows = table_by_year[table_by_year["place"].astype(str) == place]
    out = rows[["year", *[f"pct_{c}" for c in PATH_COLUMNS[1:]]]]
    out = out.rename(columns={f"pct_{c}": c for c in PATH_COLUMNS[1:]})
    out = out.sort_values("year").reset_index(drop=True)
    out["year"] = out["year"].astype(np.int64)
    return out[PATH_COLUMNS]


def rank_plot_data(period_table: pd.DataFrame, place: str) -> pd.DataFrame:
    """Every place's period attractiveness (% per year): ``position`` (1 = highest
    median), ``place, name, median, lower_80, upper_80, highlight`` (the chosen place),
    from :func:`attrbayes.attractiveness.attractiveness_table` (by period)."""
    _check_place(period_table, place)
    names = period_table["name"] if "name" in period_table else period_table["place"]
    out = pd.DataFrame(
        {
            "place": period_table["place"].astype(str).to_numpy(),
            "name": names.astype(str).to_numpy(),
            "median": period_table["pct_median"].to_numpy(float),
            "lower_80": period_table["pct_lower_80"].to_numpy(float),
            "upper_80": period_table["pct_upper_80"].to_numpy(float),
        }
    )
    out = out.sort_values(["median", "place"], ascending=[False, True], kind="stable")
    out.insert(0, "position", np.arange(1, len(out) + 1))
    out["highlight"] = out["place"] == place
    return out.reset_index(drop=True)[RANK_COLUMNS]


def _percent_formatter(fmt: Callable[[float], str] | None) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: fmt(v) if fmt else f"{v:+.1f}" if v else "0")


def plot_attractiveness_paths(
    panels: Sequence[tuple[str, pd.DataFrame]], *, labels: ChartLabels = ChartLabels(),
    period: tuple[int, int] | Sequence[tuple[int, int] | None] | None = None,
    number: Callable[[float], str] | None = None, title: str | None = None,
) -> Figure:  # fmt: skip
    """One panel per (title, :func:`attractiveness_path_data`) side by side: 95/80/50 %
    bands, the median, a zero line ("as expected from structure") and the report period
    shaded (one period for all panels, or one per panel). ``number`` formats tick values."""
    if not panels:
        raise DataError("no attractiveness panels to draw")
    periods = (
        [period] * len(panels) if period is None or isinstance(period[0], int)
        else list(period)
    )  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for ax, (name, data), span in zip(axes[0], panels, periods, strict=True):
        if span is not None:
            ax.axvspan(span[0] - 0.5, span[1] + 0.5, color="0.93", zorder=0,
                       label=labels.period)  # fmt: skip
        for mass in sorted(INTERVALS, reverse=True):
            pct = round(mass * 100)
            ax.fill_between(data["year"], data[f"lower_{pct}"], data[f"upper_{pct}"],
                            color=COLOUR, alpha=BAND_ALPHA.get(pct, 0.2), linewidth=0,
                            label=labels.band.format(pct=pct))  # fmt: skip
        ax.plot(data["year"], data["median"], color=COLOUR, lw=2, label=labels.median)
        ax.axhline(0, color="black", lw=0.9, ls="--", label=labels.zero)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel(labels.xlabel_year)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(_percent_formatter(number))
        ax.grid(True, color="0.9", lw=0.6)
    axes[0][0].set_ylabel(labels.ylabel)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def refill_attractiveness_paths(
    fig: Figure,
) -> Callable[[Sequence[tuple[str, pd.DataFrame]], str | None], None] | None:
    """For a figure of :func:`plot_attractiveness_paths`: a function that puts other
    panels (as many, with the same periods and labels) into its bands and medians,
    rescales the axes and lays the figure out again, so that a report over many places
    keeps one figure (making one costs as much as drawing it). None when the figure's
    parts are not found."""
    from matplotlib.collections import FillBetweenPolyCollection

    masses = [round(m * 100) for m in sorted(INTERVALS, reverse=True)]
    parts = []
    for ax in fig.axes:
        bands = [c for c in ax.collections if isinstance(c, FillBetweenPolyCollection)]
        if len(bands) != len(masses) or not ax.lines:
            return None
        parts.append((ax, bands, ax.lines[0]))  # the median is the first line drawn

    def refill(panels: Sequence[tuple[str, pd.DataFrame]], title: str | None = None) -> None:
        if len(panels) != len(parts):
            raise DataError(f"{len(panels)} panels for a figure of {len(parts)}")
        for (ax, bands, median), (name, data) in zip(parts, panels, strict=True):
            for band, pct in zip(bands, masses, strict=True):
                band.set_data(data["year"], data[f"lower_{pct}"], data[f"upper_{pct}"])
            median.set_data(data["year"], data["median"])
            ax.set_title(name, fontsize=11)
            ax.relim()
            ax.autoscale_view()
        if title:
            fig.suptitle(title)
        fig.tight_layout(rect=(0, 0.07, 1, 1))

    return refill


def plot_rank(
    panels: Sequence[tuple[str, pd.DataFrame]], *, labels: ChartLabels = ChartLabels(),
    number: Callable[[float], str] | None = None, highlight_label: str | None = None,
    title: str | None = None,
) -> Figure:  # fmt: skip
    """One panel per (title, :func:`rank_plot_data`): all places' medians (grey dots)
    with 80 % intervals (grey lines), sorted from the most to the least attractive; the
    chosen place in red with its interval and its name."""
    if not panels:
        raise DataError("no rank panels to draw")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), squeeze=False)
    for ax, (name, data) in zip(axes[0], panels, strict=True):
        others = data[~data["highlight"]]
        ax.vlines(others["position"], others["lower_80"], others["upper_80"], color="0.78",
                  lw=0.8, label=labels.rank_others)  # fmt: skip
        ax.plot(others["position"], others["median"], "o", color="0.45", ms=2.2)
        own = data[data["highlight"]]
        if not own.empty:
            row = own.iloc[0]
            label = highlight_label or f"{row['name']} ({row['place']})"
            ax.vlines(row["position"], row["lower_80"], row["upper_80"], color=HIGHLIGHT,
                      lw=2.5)  # fmt: skip
            ax.plot(row["position"], row["median"], "o", color=HIGHLIGHT, ms=7, label=label,
                    markeredgecolor="white", markeredgewidth=0.8, zorder=5)  # fmt: skip
        ax.axhline(0, color="black", lw=0.9, ls="--")
        ax.set_xlim(0, len(data) + 1)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel(labels.rank_xlabel)
        ax.yaxis.set_major_formatter(_percent_formatter(number))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.grid(True, axis="y", color="0.9", lw=0.6)
        ax.legend(loc="upper right", fontsize=7.5)
    axes[0][0].set_ylabel(labels.ylabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class RankChart:
    """:func:`plot_rank` of every place of the same tables, drawn once: all places' dots
    and intervals, axes and labels make a background that each place's chart copies
    before its own point, interval and legend are drawn on top (blitting; the grey dot
    and line of the place lie under its red ones). ``png(place)`` gives the chart of one
    place as PNG bytes; the figure stays open for the next place (``close()`` ends it)."""

    def __init__(self, tables: Sequence[tuple[str, pd.DataFrame]], *, dpi: float,
                 labels: ChartLabels = ChartLabels(),
                 number: Callable[[float], str] | None = None) -> None:  # fmt: skip
        """``tables``: (title, period table) per panel, as :func:`rank_plot_data` takes."""
        from attrbayes.plots import draw_figure

        if not tables:
            raise DataError("no rank panels to draw")
        first = str(tables[0][1]["place"].iloc[0])
        self.panels = []
        for title, table in tables:
            data = rank_plot_data(table, first)
            self.panels.append((title, data.assign(highlight=False)))
        self.fig = plot_rank(self.panels, labels=labels, number=number)
        self.axes = self.fig.axes[: len(self.panels)]
        for ax in self.axes:
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
        self.canvas = draw_figure(self.fig, dpi=dpi)
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self, place: str, highlight_label: str | None = None) -> bytes:
        from attrbayes.plots import canvas_png

        self.canvas.restore_region(self.background)
        for ax, (_, data) in zip(self.axes, self.panels, strict=True):
            own = data[data["place"] == place]
            if own.empty:
                raise DataError(f"place {place!r} is not in the attractiveness table")
            row = own.iloc[0]
            label = highlight_label or f"{row['name']} ({row['place']})"
            others = ax.collections[0]  # the grey intervals (the handle of their legend entry)
            line = ax.vlines(row["position"], row["lower_80"], row["upper_80"],
                             color=HIGHLIGHT, lw=2.5)  # fmt: skip
            (dot,) = ax.plot(row["position"], row["median"], "o", color=HIGHLIGHT, ms=7,
                             label=label, markeredgecolor="white", markeredgewidth=0.8,
                             zorder=5)  # fmt: skip
            legend = ax.legend(handles=[others, dot], loc="upper right", fontsize=7.5)
            for artist in (line, dot, legend):
                ax.draw_artist(artist)
            line.remove()
            dot.remove()
            legend.remove()
        return canvas_png(self.canvas)

    def close(self) -> None:
        plt.close(self.fig)


def plot_attractiveness_scatter(comparison, *, title: str | None = None) -> Figure:
    """Posterior against OLS point attractiveness, one dot per place, from an
    :class:`attrbayes.reporting.comparison.AttractivenessComparison`: x the OLS point value,
    y the posterior median with its 80 % interval (vertical bars), both in % per year; the
    1:1 line, zero lines and the Pearson and Spearman correlations in the upper left."""
    table = comparison.table
    if table.empty:
        raise DataError("no places to compare")
    x = table["ols_pct"].to_numpy(float)
    y = table["posterior_median"].to_numpy(float)
    below = np.clip(y - table["posterior_lower_80"].to_numpy(float), 0, None)
    above = np.clip(table["posterior_upper_80"].to_numpy(float) - y, 0, None)
    kind = comparison.kind
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    ax.errorbar(x, y, yerr=[below, above], fmt="o", ms=4, color=COLOUR, ecolor="0.7",
                elinewidth=0.8, label="posterior median and 80 % interval")  # fmt: skip
    values = np.concatenate([x, y - below, y + above])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=HIGHLIGHT, lw=1, ls="-",
            label="1:1 (posterior = OLS)")  # fmt: skip
    ax.axhline(0, color="black", lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.text(0.03, 0.97, f"Pearson r = {comparison.pearson:.2f}\n"
            f"Spearman \u03c1 = {comparison.spearman:.2f}\n{len(table)} places",
            transform=ax.transAxes, va="top", ha="left", fontsize=9,
            bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})  # fmt: skip
    unit = comparison.unit
    ax.set_xlabel(f"OLS point {kind} attractiveness ({unit})")
    ax.set_ylabel(f"posterior {kind} attractiveness ({unit})")
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"{kind.capitalize()} attractiveness {comparison.window}: "
                 f"posterior vs OLS\n{comparison.spec_name} ({comparison.level})",
                 fontsize=11)  # fmt: skip
    fig.tight_layout()
    return fig
