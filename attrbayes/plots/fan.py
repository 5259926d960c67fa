"""Projection charts: fan charts (median with 50/80/95 % equal-tailed bands) per scenario,
the four age groups in a 2x2 grid, and a population pyramid with 80 % bands.

Every band comes from per-draw trajectories; for a group of places (region, county,
centrality class, nation) the draws are summed first and the quantiles taken after
(:mod:`attrbayes.projection.tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from attrbayes.constants import INTERVALS, MAX_AGE
from attrbayes.exceptions import DataError
from attrbayes.projection.result import PYRAMID_BIN, ProjectionResult, unit_key
from attrbayes.projection.tables import (
    AGE_GROUP_VARIABLES,
    VARIABLE_LABELS,
    Unit,
    band_columns,
    bands_frame,
    check_scenarios,
    check_variable,
    stored_bands,
    unit_draws,
    unit_history,
)
from attrbayes.quantiles import band_probabilities, quantiles

BAND_COLUMNS = band_columns(INTERVALS)
BAND_ALPHA = {95: 0.15, 80: 0.25, 50: 0.4}
SCENARIO_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
REFERENCE_STYLES = ("--", "-.", ":")
SEX_LABELS = {"male": "Men", "female": "Women"}


def _thousands(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}"


def _abs_thousands(value: float, _pos: int | None = None) -> str:
    return f"{abs(value):,.0f}"


# -- reference lines ---------------------------------------------------------------------------
def read_reference(path: str | Path) -> pd.DataFrame:
    """A reference line CSV (``year, value`` and optionally ``label``; comma or semicolon
    separated, UTF-8): ``year, value, label`` with the file name as the default label."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: no reference file here")
    try:
        frame = pd.read_csv(source, sep=None, engine="python", encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: cannot be read as CSV ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("year", "value") if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; need year, value")
    if "label" not in frame.columns:
        frame["label"] = source.stem
    out = pd.DataFrame(
        {
            "year": pd.to_numeric(frame["year"], errors="coerce"),
            "value": pd.to_numeric(frame["value"], errors="coerce"),
            "label": frame["label"].fillna(source.stem).astype(str),
        }
    )
    bad = out["year"].isna() | out["value"].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
        raise DataError(f"{source}: line {row}: year and value must be numbers")
    out["year"] = out["year"].astype(np.int64)
    return out.sort_values(["label", "year"]).reset_index(drop=True)


# -- data functions ----------------------------------------------------------------------------
def fan_title(variable: str, unit: Unit) -> str:
    return f"{VARIABLE_LABELS[check_variable(variable)]}: {unit.label}"


def fan_chart_data(
    result: ProjectionResult, variable: str, unit: Unit, *,
    scenarios: Sequence[str] | None = None, reference: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Tidy rows ``series, scenario, label, year, median, lower_50 ... upper_95``:
    ``projection`` rows per scenario and year (bands over draws of the place's or the
    group's per-draw totals; years whose values are missing, such as flows in the last
    year, are left out); ``history`` rows (observed population or jobs; median = value);
    ``reference`` rows (median = value, label from the file)."""
    chosen = check_scenarios(result, scenarios)
    codes = None if unit.level == "nation" else [unit.code]
    proj = stored_bands(result, variable, unit.level, codes)
    if proj is None:
        proj = bands_frame(unit_draws(result, variable, unit))
    else:
        proj = proj.drop(columns="place")
    proj = proj[proj["scenario"].isin(chosen)].dropna(subset=["median"])
    order = {s: i for i, s in enumerate(chosen)}
    proj = proj.sort_values(["scenario", "year"], key=lambda c: c.map(order) if c.name ==
                            "scenario" else c).reset_index(drop=True)  # fmt: skip
    proj["scenario"] = proj["scenario"].astype(str)
    proj["series"] = "projection"
    proj["label"] = proj["scenario"]
    frames = [proj]
    history = unit_history(result, variable, unit)
    if not history.empty:
        frames.append(
            history.rename(columns={"value": "median"}).assign(
                series="history", scenario="", label="observed"
            )
        )
    if reference is not None and not reference.empty:
        frames.append(
            reference.rename(columns={"value": "median"}).assign(series="reference", scenario="")
        )
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(np.int64)
    return out[["series", "scenario", "label", "year", *BAND_COLUMNS]]


def age_group_fan_data(result: ProjectionResult, unit: Unit, scenario: str) -> pd.DataFrame:
    """Rows ``age_group, year, median, lower_50 ... upper_95`` for the four age groups of
    one scenario (per-draw group totals, then quantiles)."""
    (scenario,) = check_scenarios(result, [scenario])
    frames = []
    for group in AGE_GROUP_VARIABLES:
        draws = unit_draws(result, group, unit).sel(scenario=scenario, drop=True)
        frames.append(bands_frame(draws).assign(age_group=group))
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(np.int64)
    return out[["age_group", "year", *BAND_COLUMNS]]


def pyramid_data(
    result: ProjectionResult, unit: Unit, scenario: str, year: int, *, bin_width: int = 1,
    base: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """Rows ``sex, age, label, median, lower_50 ... upper_95, base`` for 1 January
    ``year``: single ages (``bin_width=1``) or groups of ``bin_width`` years (the open
    last group ends at the oldest age), summed per draw over ages and over the unit's
    places before the quantiles. ``base`` is the median of the first pyramid year (the
    base year), NaN when not asked for or when ``year`` is the base year.

    From the stored quantiles (every place and group, by single age and 5-year group),
    or, for other widths, from per-draw pyramids (the places given to ``--pyramids``)."""
    ds = result.ds
    if "pyramid_quantiles" not in ds and "pyramid" not in ds:
        raise DataError("the projection has no pyramid")
    (scenario,) = check_scenarios(result, [scenario])
    if bin_width < 1:
        raise DataError(f"bin_width must be at least 1, got {bin_width}")
    years = [int(y) for y in ds["pyramid_year"].values]
    if int(year) not in years:
        raise DataError(f"no pyramid for {year}; pyramid years are {', '.join(map(str, years))}")
    per_draw = _per_draw_pyramid(result, unit)
    if per_draw is not None:
        stats = _draw_pyramid_quantiles(per_draw.sel(scenario=scenario), bin_width)
    else:
        stats = _stored_pyramid_quantiles(result, unit, scenario, bin_width)

    def frame(py: int) -> pd.DataFrame:
        da = stats.sel(pyramid_year=py, drop=True).transpose("band", "sex", "age")
        index = pd.MultiIndex.from_product(
            [da["sex"].values.astype(str), da["age"].values.astype(int)], names=["sex", "age"]
        )
        columns = da["band"].values.astype(str)
        return pd.DataFrame(da.values.reshape(len(columns), -1).T, index=index, columns=columns)

    out = frame(int(year))
    out["base"] = np.nan
    if base and int(year) != years[0]:
        out["base"] = frame(years[0])["median"]
    out = out.reset_index()
    top = MAX_AGE
    out["label"] = [
        str(a) if bin_width == 1 else f"{a}+" if a + bin_width - 1 >= top else
        f"{a}-{a + bin_width - 1}"
        for a in out["age"]
    ]  # fmt: skip
    return out[["sex", "age", "label", *BAND_COLUMNS, "base"]]


def _per_draw_pyramid(result: ProjectionResult, unit: Unit) -> xr.DataArray | None:
    """Per-draw pyramids of the unit's places summed (scenario, draw, pyramid_year, sex,
    age), where the projection kept them for all of its places; else None."""
    if "pyramid" not in result.ds:
        return None
    pyr = result.ds["pyramid"]
    dim = "place" if "place" in pyr.dims else "pyramid_place"  # "place": schema 1
    if not set(unit.members) <= set(pyr[dim].values.astype(str)):
        return None
    return pyr.sel({dim: list(unit.members)}).sum(dim, skipna=False)


def _draw_pyramid_quantiles(pyr: xr.DataArray, bin_width: int) -> xr.DataArray:
    """Quantiles (band, pyramid_year, sex, age) of per-draw pyramids grouped by age."""
    ages = pyr["age"].values.astype(int)
    binned = pyr.groupby(pyr["age"].copy(data=(ages // bin_width) * bin_width)).sum("age")
    arr = binned.transpose("draw", ...)
    values = quantiles(arr.values, band_probabilities(), axis=0)
    coords = {d: arr[d].values for d in arr.dims[1:]}
    return xr.DataArray(values, dims=("band", *arr.dims[1:]),
                        coords={"band": BAND_COLUMNS, **coords})  # fmt: skip


def _stored_pyramid_quantiles(
    result: ProjectionResult, unit: Unit, scenario: str, bin_width: int
) -> xr.DataArray:
    """The projection's stored quantiles of the unit (band, pyramid_year, sex, age)."""
    stored = {1: "pyramid_quantiles", PYRAMID_BIN: "pyramid_quantiles_5"}
    if bin_width not in stored:
        raise DataError(
            f"pyramids are stored by single age and by {PYRAMID_BIN}-year groups; for "
            f"{bin_width}-year groups project again with --pyramids {unit.members[0]} "
            "(per-draw pyramids of the places asked for)"
        )
    da = result.ds[stored[bin_width]].sel(scenario=scenario, unit=unit_key(unit.level, unit.code))
    return da.rename(age_band="age") if "age_band" in da.dims else da


# -- render functions --------------------------------------------------------------------------
def _draw_bands(ax, rows: pd.DataFrame, colour: str, *, masses=INTERVALS, label=None) -> None:
    for mass in sorted(masses, reverse=True):
        pct = round(mass * 100)
        ax.fill_between(rows["year"], rows[f"lower_{pct}"], rows[f"upper_{pct}"],
                        color=colour, alpha=BAND_ALPHA.get(pct, 0.2), linewidth=0,
                        label=f"{pct} % interval")  # fmt: skip
    ax.plot(rows["year"], rows["median"], color=colour, lw=2, label=label or "median")


def _draw_lines(ax, data: pd.DataFrame) -> None:
    history = data[data["series"] == "history"]
    if not history.empty:
        ax.plot(history["year"], history["median"], color="black", lw=1.5, label="observed")
    reference = data[data["series"] == "reference"]
    for i, (label, rows) in enumerate(reference.groupby("label", sort=False)):
        ax.plot(rows["year"], rows["median"], color="0.3", lw=1.3,
                ls=REFERENCE_STYLES[i % len(REFERENCE_STYLES)], label=str(label))  # fmt: skip


def _finish_axis(ax) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, color="0.9", lw=0.6)
    ax.set_xlabel("year")


def plot_fan_chart(
    data: pd.DataFrame, *, title: str | None = None, ylabel: str = "persons",
    overlay: bool = False,
) -> Figure:  # fmt: skip
    """One panel per scenario side by side (shared y axis): 95/80/50 % bands, median,
    observed history (black) and reference lines (grey, dashed) on every panel. With
    ``overlay`` all scenarios share one panel, each with its median and 80 % band."""
    proj = data[data["series"] == "projection"]
    scenarios = list(dict.fromkeys(proj["scenario"]))
    if not scenarios:
        raise DataError("no projected values to draw")
    n = 1 if overlay else len(scenarios)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n if n > 1 else 8, 4.8), sharey=True,
                             squeeze=False)  # fmt: skip
    axes = axes[0]
    for i, scenario in enumerate(scenarios):
        rows = proj[proj["scenario"] == scenario].sort_values("year")
        colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
        if overlay:
            ax = axes[0]
            ax.fill_between(rows["year"], rows["lower_80"], rows["upper_80"], color=colour,
                            alpha=0.25, linewidth=0)  # fmt: skip
            ax.plot(rows["year"], rows["median"], color=colour, lw=2,
                    label=f"{scenario}: median, 80 % interval")  # fmt: skip
        else:
            ax = axes[i]
            _draw_bands(ax, rows, "tab:blue")
            ax.set_title(scenario)
    for ax in axes:
        _draw_lines(ax, data)
        _finish_axis(ax)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="best", fontsize=8)
    fig.suptitle(title or "Projection")
    fig.tight_layout()
    return fig


def plot_age_group_fans(data: pd.DataFrame, *, title: str | None = None) -> Figure:
    """2x2 grid, one fan (95/80/50 % bands and median) per age group, own y axes."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for ax, group in zip(axes.ravel(), AGE_GROUP_VARIABLES, strict=True):
        rows = data[data["age_group"] == group].sort_values("year")
        _draw_bands(ax, rows, "tab:blue")
        ax.set_title(f"aged {group}")
        _finish_axis(ax)
    axes[0, 0].legend(loc="best", fontsize=8)
    fig.suptitle(title or "Population by age group")
    fig.tight_layout()
    return fig


def plot_pyramid(data: pd.DataFrame, *, title: str | None = None, band: str = "whiskers") -> Figure:
    """Horizontal bars of the median by age, men to the left and women to the right, with
    80 % intervals as whiskers (``band="whiskers"``) or a shaded band (``"shade"``), and
    the base year's pyramid as a black outline when ``data`` has it."""
    if band not in ("whiskers", "shade"):
        raise DataError(f"band must be 'whiskers' or 'shade', got {band!r}")
    ages = np.sort(data["age"].unique())
    width = float(np.diff(ages).min()) if len(ages) > 1 else 1.0
    fig, ax = plt.subplots(figsize=(8, 7 if width == 1 else 6))
    colours = {"male": "tab:blue", "female": "tab:red"}
    for sex, sign in (("male", -1), ("female", 1)):
        rows = data[data["sex"] == sex].sort_values("age")
        if rows.empty:
            continue
        y = rows["age"].to_numpy() + (0 if width == 1 else width / 2)
        median = sign * rows["median"].to_numpy()
        ax.barh(y, median, height=width * 0.9, color=colours[sex], alpha=0.6,
                label=f"{SEX_LABELS[sex]} (median)")  # fmt: skip
        lo, hi = sign * rows["lower_80"].to_numpy(), sign * rows["upper_80"].to_numpy()
        if band == "whiskers":
            err = np.abs(np.vstack([median - lo, hi - median]))
            ax.errorbar(median, y, xerr=err, fmt="none", ecolor="0.2", elinewidth=0.7,
                        capsize=1.5 if width > 1 else 0)  # fmt: skip
        else:
            ax.fill_betweenx(y, lo, hi, color="0.2", alpha=0.3, step="mid", linewidth=0)
        if rows["base"].notna().any():
            low = rows["age"].to_numpy() - (0.5 if width == 1 else 0)
            edges = np.append(low, low[-1] + width)
            ax.stairs(sign * rows["base"].to_numpy(), edges, orientation="horizontal",
                      baseline=None, color="black", lw=1,
                      label="base year" if sex == "male" else None)  # fmt: skip
    ax.axvline(0, color="black", lw=0.8)
    if width > 1:
        labels = data.drop_duplicates("age").sort_values("age")
        ax.set_yticks(labels["age"].to_numpy() + width / 2, labels["label"], fontsize=7)
    ax.xaxis.set_major_formatter(FuncFormatter(_abs_thousands))
    limit = float(np.nanmax(data[["upper_80", "base"]].to_numpy(dtype=float))) * 1.05
    if np.isfinite(limit) and limit > 0:
        ax.set_xlim(-limit, limit)
    shown = "whiskers" if band == "whiskers" else "shaded band"
    ax.set_xlabel(f"persons (men left, women right); {shown}: 80 % interval")
    ax.set_ylabel("age")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "Population pyramid")
    fig.tight_layout()
    return fig
