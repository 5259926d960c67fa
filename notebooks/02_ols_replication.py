# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The OLS baseline beside the published estimates
#
# The book's estimates are pooled OLS at region level (MODEL.md 2.4). This notebook refits
# the four published model versions on the synthetic panel, sets them beside the published
# coefficients (`attrbayes.reference`) and the synthetic truth, and then runs the book's
# own checks: year-by-year fits, sub-periods, sub-populations, and how much the standard
# errors depend on assuming independent observations.
#
# What to look for:
#
# * the refit recovers the truth at least roughly: the panel was simulated from the 2022
#   equation (with year shocks, place effects and heavy-tailed noise added, which pooled
#   OLS ignores);
# * published and refitted values need not agree: the synthetic panel is not the book's
#   data; the comparison shows the *layout* a real-data replication uses;
# * the yearly centrality coefficients drift, the motivation for the Bayesian model's
#   time-varying coefficient (notebook 3).

# %% tags=["parameters"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from attrbayes.features.design import compute_features
from attrbayes.notebook import PANEL_SIZE, setup, show
from attrbayes.pipeline import DEMO_SPECS, comparison_table, run_ols
from attrbayes.reference import PUBLISHED_2022_SE, SOURCE, published_table
from attrbayes.reporting.replication import replication_table
from attrbayes.synthetic import SynthConfig, synthesize_panel

# %matplotlib inline

SEED = SynthConfig.seed
OUT = setup("nb02", width=140, precision=4)  # a scratch folder, not in the repo


# %% [markdown]
# ## Panel, features at two levels, the truth
#
# Features are computed at region level (the book's level: counts summed to regions,
# rates from the sums, centrality population-weighted) and at municipality level.

# %%
synthetic = synthesize_panel(seed=SEED, **PANEL_SIZE)
region = compute_features(synthetic.panel, "region")
municipal = compute_features(synthetic.panel, "municipality")
params = synthetic.parameters
truth = {k: float(params[k]) for k in ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")}
truth["intercept"] = float(params["intercept_pooled"])
print(
    f"{region.frame['place'].nunique()} regions, {municipal.frame['place'].nunique()} "
    f"municipalities, {synthetic.panel.manifest.first_year}-"
    f"{synthetic.panel.manifest.last_year}"
)

# %% [markdown]
# ## The published estimates
#
# The four versions of the net-migration equation as printed in the book's appendix
# (jobs only; + full centrality index; + job-only centrality; + DS = the 2022 model).

# %%
print(SOURCE)
display(published_table())

# %% [markdown]
# ## The four versions refitted at region level
#
# `run_ols` validates the panel against the spec and picks the estimation window (the
# longest run of years in which every term exists). First the 2022 model printed the way
# R's `summary(lm())` prints it, then all four side by side with the published 2022
# column and the truth.

# %%
region_fits = {name: run_ols(region, name, level="region").pooled for name in DEMO_SPECS}
print(region_fits["migration_2022"].to_text())

# %%
display(comparison_table(region_fits, truth=truth))

# %% [markdown]
# ## Replication table: published vs refitted, region and municipality level
#
# `replication_table` refits every version at each level and reports estimate, standard
# error and the difference from the published value. Versions a panel cannot support get a
# line saying why (on the synthetic panel all four can be fitted). The notes under the
# table describe the real-data replication (vintages, region sets, indices); on this panel
# the differences come from the simulation instead.

# %%
replication = replication_table([region, municipal])
print(replication.to_text())

# %% [markdown]
# ## Year by year
#
# The book's check of drifting effects: one OLS per year. Region level has few units per
# year in the quick panel, so the yearly fits use municipalities. Stars mark significance
# as in R. Then the yearly centrality coefficients with their 95 % confidence intervals
# against the simulated truth: the drift the Bayesian time-varying coefficient is built for.

# %%
yearly = run_ols(municipal, "migration_2022", level="municipality", by_year=True)
print(yearly.by_year.to_text())

# %%
cent = pd.DataFrame(
    {
        int(y): {"estimate": f.params["centrality"], **f.conf_int.loc["centrality"]}
        for y, f in yearly.by_year.fits.items()
    }
).T
error = [cent["estimate"] - cent["lower"], cent["upper"] - cent["estimate"]]
path = synthetic.truth["years"].set_index("year")["centrality"].loc[cent.index]
fig, ax = plt.subplots(figsize=(8, 4))
ax.errorbar(
    cent.index,
    cent["estimate"],
    yerr=error,
    fmt="o",
    color="black",
    capsize=3,
    label="OLS by year (95 % CI)",
)
ax.plot(path.index, path, color="tab:red", label="truth: simulated coefficient path")
ax.axhline(yearly.pooled.params["centrality"], color="tab:blue", ls="--", label="pooled OLS")
ax.axhline(0, color="grey", lw=0.8)
ax.set(xlabel="year", ylabel="centrality coefficient", title="Centrality coefficient by year")
ax.legend(fontsize=8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Sub-periods and sub-populations
#
# The book splits the window in two (2003-2011 vs 2012-2021 on real data; here the
# panel's window is halved) and fits the same regressors to the net migration of men,
# women and seven age groups (from the panel's `migration_groups` table). Job effects
# concentrate in working ages; that is a property of the data, so on the synthetic panel
# the groups only differ as far as the simulation spreads migrants over ages.

# %%
first, last = yearly.pooled.design.years
middle = (first + last) // 2
split = run_ols(
    municipal,
    "migration_2022",
    level="municipality",
    periods=[(first, middle), (middle + 1, last)],
    subpopulations=True,
)
print(split.periods.to_text())
print()
print(split.groups.to_text())

# %% [markdown]
# ## How much do the standard errors assume?
#
# Pooled OLS treats every place-year as independent. Attractiveness is persistent, so a
# place's residuals correlate over the years, and heteroskedasticity is built in (small
# places are noisier). Heteroskedasticity-robust (HC1) and place-clustered standard errors
# of the municipal 2022 model show how optimistic the textbook errors are; the published
# standard errors are the textbook kind. The Bayesian model addresses both with place
# effects and size-dependent noise.

# %%
se = pd.DataFrame(
    {
        cov: run_ols(municipal, "migration_2022", level="municipality", cov_type=cov).pooled.bse
        for cov in ("nonrobust", "HC1", "cluster")
    }
)
se["cluster / nonrobust"] = se["cluster"] / se["nonrobust"]
se["published (region)"] = pd.Series(PUBLISHED_2022_SE)
display(se)

# %% [markdown]
# ## Point attractiveness, the OLS way
#
# In the book, residential attractiveness is the mean residual over a period (in % of
# population per year and in persons per year), ranked. These are point values: notebook 4
# gives them intervals and rank distributions.

# %%
attractiveness = yearly.pooled.attractiveness()
display(attractiveness.head(5))
display(attractiveness.tail(5))
print("outputs of this notebook (none written):", OUT)
