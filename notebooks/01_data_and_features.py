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
# # 1. Data and features on the synthetic panel
#
# A tour of what every model in `attrbayes` is fitted to: the **panel** (population,
# components of change, jobs, commuting, national rates) and the **features** computed
# from it (MODEL.md section 2): relative net migration `NM`, commuting-weighted relative
# job growth `VRA` with lags 0-2, centrality `C` and demographic employment supply `DS`.
#
# The panel is the embedded **synthetic Norway-like panel**, simulated from the
# attractiveness model itself, so its ground truth is known. Everything here is computed by
# the package (`attrbayes.synthetic`, `attrbayes.features.design`); the notebook only
# tabulates and draws.
#
# **Quick mode** (`ATTRBAYES_NOTEBOOK_QUICK=1`, what CI runs) uses a 40-place panel for
# 2000-2014; the full run uses the default panel (356 places, 2000-2023).

# %% tags=["parameters"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from attrbayes.config import load_spec
from attrbayes.data.schema import TABLES
from attrbayes.features.design import build_design, compute_features
from attrbayes.notebook import PANEL_SIZE, setup, show
from attrbayes.plots.maps import plot_map
from attrbayes.synthetic import SynthConfig, synthesize_panel

# %matplotlib inline

SEED = SynthConfig.seed
OUT = setup("nb01", width=140, precision=4)  # a scratch folder, not in the repo


# %% [markdown]
# ## The panel
#
# `synthesize_panel` runs the model's causal order year by year (jobs -> VRA and DS -> net
# migration -> births, deaths and ageing) and returns the panel with its truth. The panel
# is a set of long tables keyed by `place`, `year` (and `sex`, `age`, ...); the contract
# is `attrbayes.data.schema` (docs/panel_format.md).

# %%
synthetic = synthesize_panel(seed=SEED, **PANEL_SIZE)
panel = synthetic.panel
m = panel.manifest
print(f"{m.name}: {len(panel.place_codes)} places, {m.first_year}-{m.last_year}")
overview = pd.DataFrame(
    [
        {
            "table": name,
            "rows": len(df),
            "key": ", ".join(TABLES[name].key) if name in TABLES else "",
            "years": (f"{int(df['year'].min())}-{int(df['year'].max())}" if "year" in df else ""),
            "what": TABLES[name].description if name in TABLES else "",
        }
        for name, df in panel.tables.items()
    ]
)
display(overview)

# %% [markdown]
# Places carry their geography (region, county) and two centrality indices: SSB's full
# index and the job-reachability-only index the 2022 model uses (both 0-1000, the capital
# 1000). Centrality class 1 is the most central, 6 the least.

# %%
places = panel.places
display(places.head(8))
display(pd.crosstab(places["county"], places["centrality_class"], margins=True))

# %% [markdown]
# ## Population
#
# Sizes are skewed as in Norway: many small places and one capital. Size matters for the
# model because the noise of a migration *rate* shrinks with population (the Bayesian
# model's `sigma[i,t]` scales as `pop^-0.5`).

# %%
totals = panel.population_totals()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].plot(totals.columns, totals.sum(axis=0) / 1e6, marker="o")
axes[0].set(title="National population on 1 January", xlabel="year", ylabel="millions")
last = totals.columns.max()
axes[1].hist(np.log10(totals[last]), bins=25, color="tab:blue", alpha=0.7)
axes[1].set(title=f"Place sizes, {last}", xlabel="log10 population", ylabel="places")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Features
#
# `compute_features` derives every feature the panel supports at a level (municipality,
# region or county; for groups the counts are summed first and rates computed from the
# sums). `missing` says which terms the panel cannot provide and why; on the synthetic
# panel nothing is missing.

# %%
features = compute_features(panel, "municipality")
frame = features.frame
print("columns:", ", ".join(frame.columns))
print("missing terms:", features.missing or "none")
columns = ["nm", "nm_raw", "national_rate", "vra_t", "vra_t1", "vra_t2", "centrality_jobs", "ds"]
display(frame[columns].describe().T)

# %% [markdown]
# ### Relative net migration (the dependent variable)
#
# `nm_raw` is net migration (domestic and international) over the 1 January population;
# `nm = nm_raw - national_rate` subtracts the national net immigration rate of the year, so
# that immigration waves do not leak into the residuals (MODEL.md 2). Left: the national
# rate, the waves of the simulated history. Right: the **funnel** of `nm` against size:
# small places scatter far more, which is why OLS (one noise level for all) is inefficient
# and why the Bayesian model lets the noise shrink with population.

# %%
national = frame.groupby("year")["national_rate"].first()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].plot(national.index, national * 100, marker="o", color="tab:orange")
axes[0].set(title="National net immigration rate", xlabel="year", ylabel="% of population")
axes[1].scatter(frame["population"], frame["nm"] * 100, s=6, alpha=0.4)
axes[1].set_xscale("log")
axes[1].axhline(0, color="black", lw=0.8)
axes[1].set(
    title="Relative net migration vs size (all years)",
    xlabel="population (log)",
    ylabel="NM, % per year",
)
fig.tight_layout()
show(fig)

# %% [markdown]
# ### VRA: job growth where the residents work
#
# `RA` is a workplace's job growth minus national job growth; `VRA[i,t]` weights the `RA`
# of every workplace by the share of `i`'s employed residents who commute there. The
# columns `vra_own_*` hold the own-place part `w[i,i] RA[i,t]` (used by the growth
# decomposition). The own share of commuting is large for remote places and small in the
# suburbs; the lags are what let the model separate immediate from delayed moves.

# %%
commuting = panel.tables["commuting"]
latest = commuting[commuting["year"] == commuting["year"].max()]
own = latest[latest["residence"] == latest["workplace"]].set_index("residence")["employed"]
share_own = own / latest.groupby("residence")["employed"].sum()
lag_corr = frame[["nm", "vra_t", "vra_t1", "vra_t2"]].corr().loc["nm"]
print("correlation of NM with VRA lags 0-2:", lag_corr.drop("nm").round(3).to_dict())
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].hist(share_own * 100, bins=20, color="tab:green", alpha=0.7)
axes[0].set(title="Own-place share of commuting", xlabel="% of employed residents", ylabel="places")
axes[1].scatter(frame["vra_t"] * 100, frame["nm"] * 100, s=6, alpha=0.4)
axes[1].set(title="NM vs VRA (same year)", xlabel="VRA, %", ylabel="NM, %")
fig.tight_layout()
show(fig)

# %% [markdown]
# ### Centrality
#
# The regressor is the index divided by 1000 and centred (`centrality`, `centrality_jobs`
# in the features). The second panel shows **why the Bayesian model lets the centrality
# coefficient vary by year**: the slope of NM on centrality, fitted year by year by simple
# least squares, moves with the immigration waves (the truth drawn in black is the
# simulated coefficient path; it also absorbs the other terms, so the naive slopes are only
# indicative).

# %%
by_year_slope = frame.groupby("year").apply(
    lambda g: np.polyfit(g["centrality_jobs"], g["nm"], 1)[0], include_groups=False
)
truth_years = synthetic.truth["years"].set_index("year")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
units = features.units.set_index("place")
for cls, group in units.groupby("centrality_class"):
    axes[0].hist(
        group["centrality_jobs"], bins=np.linspace(200, 1000, 33), alpha=0.6, label=f"class {cls}"
    )
axes[0].set(title="Job centrality index by SSB class", xlabel="index (0-1000)", ylabel="places")
axes[0].legend(fontsize=7)
axes[1].plot(by_year_slope.index, by_year_slope, marker="o", label="naive yearly slope")
axes[1].plot(truth_years.index, truth_years["centrality"], color="black", label="truth")
axes[1].set(title="NM on centrality, year by year", xlabel="year", ylabel="coefficient")
axes[1].legend(fontsize=8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ### Demographic employment supply (DS)
#
# DS is the growth of the local labour force from ageing alone (new cohorts entering minus
# those retiring or dying), per job and relative to the nation (MODEL.md 2.3). The
# expected sign of its coefficient is negative: a local surplus of young workers pushes
# people out.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].hist(frame["ds"] * 100, bins=30, color="tab:purple", alpha=0.7)
axes[0].set(title="DS (all places and years)", xlabel="% of jobs per year", ylabel="count")
axes[1].scatter(frame["ds"] * 100, frame["nm"] * 100, s=6, alpha=0.4, color="tab:purple")
axes[1].set(title="NM vs DS", xlabel="DS, %", ylabel="NM, %")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Where: tile charts by county
#
# Mean relative net migration over the whole period and the job centrality index, one
# tile per place in blocks by county (`attrbayes.plots.maps`; with a GeoJSON boundary
# file the same call draws a choropleth). Central places gain and peripheral places lose:
# the pattern the centrality term captures; what remains place by place is attractiveness.
# Most tiles are red because most places are small: the population-weighted mean of `nm`
# is about zero (the places' net migration sums to national net immigration), the
# unweighted mean is negative.

# %%
mean_nm = frame.groupby("place")["nm"].mean() * 100
mean_nm.name = "mean NM, % per year"
names = places.set_index("place")["name"]
counties = places.set_index("place")["county"]
show(plot_map(mean_nm, names=names, counties=counties, title="Relative net migration"))
centrality = places.set_index("place")["centrality_jobs"].rename("job centrality index")
show(
    plot_map(centrality, kind="sequential", names=names, counties=counties, title="Job centrality")
)

# %% [markdown]
# ## From features to a design
#
# A model spec (`models/*.toml`) picks terms; `build_design` selects the complete rows. The
# estimation window is the longest run of years in which every term exists for every
# place: with jobs from the first year, the two-year VRA lag makes it start three years
# later. Years outside it are refused with the reason, never dropped silently.

# %%
design = build_design(features, load_spec("migration_2022"))
print(
    f"{design.spec_name}: terms {design.terms}, years {design.years[0]}-{design.years[1]}, "
    f"{design.n} observations at {design.level} level"
)
display(design.frame[["place", "year", "y", *design.terms]].head())

# %% [markdown]
# ## The truth behind the panel
#
# What the later notebooks try to recover: the true coefficients (the pooled-model
# equivalents of the time-varying centrality coefficient and the intercept are given as
# `centrality` and `intercept_pooled`), the yearly paths and the latent attractiveness.

# %%
params = synthetic.parameters
shown = (
    "intercept_pooled",
    "vra_t",
    "vra_t1",
    "vra_t2",
    "centrality",
    "ds",
    "noise_scale",
    "noise_floor",
    "noise_df",
)
truth = pd.Series({k: params[k] for k in shown})
display(truth.to_frame("truth"))
print("truth tables:", {k: list(v.columns) for k, v in synthetic.truth.items()})
print("outputs of this notebook (none written):", OUT)
