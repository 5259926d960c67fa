"""The methodologists' plots of the time-varying centrality coefficient: year-by-year OLS
coefficients (with 95 % CIs) over its posterior band, and its outlook past the fit as a
projection carries it (fitted plus projected bands, P(coefficient < 0) per year)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from attrbayes.exceptions import DataError
from attrbayes.models.ols import fit_by_year

PROCESS_LABELS = {
    "random_walk": "a random walk",
    "ar1": "an AR(1) reverting to its level",
    "hierarchical": "yearly deviations around its level",
    "constant": "a constant",
}


def _yearly_ols(fit) -> pd.DataFrame:
    """The centrality coefficient of one OLS per fitted year, with its 95 % CI."""
    yearly = fit_by_year(fit.design).fits
    ols = pd.DataFrame(
        {
            "ols_estimate": {int(y): f.params["centrality"] for y, f in yearly.items()},
            "ols_lower": {int(y): f.conf_int.loc["centrality", "lower"] for y, f in yearly.items()},
            "ols_upper": {int(y): f.conf_int.loc["centrality", "upper"] for y, f in yearly.items()},
        }
    )
    ols.index.name = "year"
    return ols


def centrality_path_data(fit) -> pd.DataFrame:
    """Per year: posterior median and 50/95 % bands, OLS estimate and 95 % CI."""
    post = fit.centrality_table().set_index("year")
    bands = {
        f"posterior_{k}": post[k]
        for k in ("median", "lower_50", "upper_50", "lower_95", "upper_95")
    }
    frame = pd.DataFrame(bands).join(_yearly_ols(fit))
    frame.index.name = "year"
    return frame.reset_index()


def coefficient_outlook_data(projection, *, scenario: str | None = None,
                             fit=None) -> pd.DataFrame:  # fmt: skip
    """Per year, fitted and projected: the coefficient's median, 50/80/95 % bands,
    P(< 0) and whether the year was fitted; with the migration ``fit`` the projection came
    from, also the yearly OLS estimates of the fitted years."""
    frame = projection.centrality_table(scenario)
    if fit is not None:
        attrs = projection.ds.attrs
        same = (fit.spec.name, fit.tree.attrs["data_hash"])
        if same != (attrs.get("migration_spec"), attrs.get("migration_data_hash")):
            raise DataError(f"the projection was not made from this fit of {fit.spec.name} "
                            f"(it holds {attrs.get('migration_spec')}; spec names or data "
                            "hashes differ)")  # fmt: skip
        frame = frame.merge(_yearly_ols(fit).reset_index(), on="year", how="left")
    frame.attrs.update(process=projection.ds.attrs.get("centrality_process", "?"),
                       immigration=int(projection.ds.attrs.get("centrality_immigration_link", 0)),
                       last_fitted=int(projection.ds.attrs["centrality_last_fitted_year"]),
                       base_year=int(projection.ds.attrs["base_year"]))  # fmt: skip
    return frame


def plot_centrality_path(data: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Posterior band (50 % dark, 95 % light) with yearly OLS points and error bars."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    years = data["year"]
    ax.fill_between(years, data["posterior_lower_95"], data["posterior_upper_95"],
                    color="tab:blue", alpha=0.2, label="posterior 95 %")  # fmt: skip
    ax.fill_between(years, data["posterior_lower_50"], data["posterior_upper_50"],
                    color="tab:blue", alpha=0.4, label="posterior 50 %")  # fmt: skip
    ax.plot(years, data["posterior_median"], color="tab:blue", label="posterior median")
    ax.errorbar(
        years,
        data["ols_estimate"],
        yerr=[data["ols_estimate"] - data["ols_lower"], data["ols_upper"] - data["ols_estimate"]],
        fmt="o",
        color="black",
        capsize=3,
        label="OLS by year (95 % CI)",
    )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("year")
    ax.set_ylabel("centrality coefficient")
    ax.set_title(title or "Time-varying centrality coefficient: posterior vs. yearly OLS")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def plot_coefficient_outlook(data: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Fitted (blue) and projected (orange) 95/80/50 % bands with the median, yearly OLS
    points where ``data`` has them, the last fitted year and the base year marked, and
    P(coefficient < 0) in the last year in the legend."""
    fig, ax = plt.subplots(figsize=(9, 5.6))
    last = data.attrs.get("last_fitted", int(data.loc[data["fitted"], "year"].max()))
    projected = data[data["year"] >= last]  # joined to the fitted band at the last year
    process = PROCESS_LABELS.get(data.attrs.get("process", ""), data.attrs.get("process", ""))
    if data.attrs.get("immigration"):
        process += " + immigration link"
    for rows, colour, label in ((data[data["fitted"]], "tab:blue", "fitted"),
                                (projected, "tab:orange", f"projected: {process}")):  # fmt: skip
        for mass, alpha in ((95, 0.15), (80, 0.25), (50, 0.4)):
            ax.fill_between(rows["year"], rows[f"lower_{mass}"], rows[f"upper_{mass}"],
                            color=colour, alpha=alpha, linewidth=0)  # fmt: skip
        ax.plot(rows["year"], rows["median"], color=colour, lw=2,
                label=f"{label} (median, 50/80/95 %)")  # fmt: skip
    if "ols_estimate" in data and data["ols_estimate"].notna().any():
        rows = data.dropna(subset=["ols_estimate"])
        ax.errorbar(rows["year"], rows["ols_estimate"],
                    yerr=[rows["ols_estimate"] - rows["ols_lower"],
                          rows["ols_upper"] - rows["ols_estimate"]],
                    fmt="o", color="black", ms=3, capsize=2,
                    label="OLS by year (95 % CI)")  # fmt: skip
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(last + 0.5, color="grey", lw=0.8, ls="--")
    base = data.attrs.get("base_year")
    if base is not None and base > last + 1:
        ax.axvspan(last + 0.5, base - 0.5, color="grey", alpha=0.08, lw=0,
                   label="between the fit and the base year")  # fmt: skip
    end = data.iloc[-1]
    ax.plot([], [], " ", label=f"P(coefficient < 0) in {int(end['year'])}: "
                                f"{end['p_negative']:.0%}")  # fmt: skip
    ax.set_xlabel("year")
    ax.set_ylabel("centrality coefficient")
    ax.set_title(title or "Centrality coefficient: fitted and carried forward")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8,
              frameon=False)  # below the axes: the bands fill the plot  # fmt: skip
    fig.tight_layout()
    return fig
