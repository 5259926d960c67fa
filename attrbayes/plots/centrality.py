"""The methodologists' plot: year-by-year OLS centrality coefficients (with 95 % CIs)
over the posterior band of the time-varying centrality coefficient."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from attrbayes.models.ols import fit_by_year


def centrality_path_data(fit) -> pd.DataFrame:
    """Per year: posterior median and 50/95 % bands, OLS estimate and 95 % CI."""
    post = fit.centrality_table().set_index("year")
    yearly = fit_by_year(fit.design).fits
    ols = pd.DataFrame(
        {
            "ols_estimate": {int(y): f.params["centrality"] for y, f in yearly.items()},
            "ols_lower": {int(y): f.conf_int.loc["centrality", "lower"] for y, f in yearly.items()},
            "ols_upper": {int(y): f.conf_int.loc["centrality", "upper"] for y, f in yearly.items()},
        }
    )
    bands = {
        f"posterior_{k}": post[k]
        for k in ("median", "lower_50", "upper_50", "lower_95", "upper_95")
    }
    frame = pd.DataFrame(bands).join(ols)
    frame.index.name = "year"
    return frame.reset_index()


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
