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
# # 4. Residential attractiveness with uncertainty
#
# In the book, residential attractiveness is a point value: the mean OLS residual of a
# place over a period, then ranked. Here it is a posterior quantity: the latent
# `group + place (+ AR)` part of the linear predictor, net of the year's national shock and
# of observation noise (`attrbayes.attractiveness`). Every aggregate (period means, ranks,
# correlations, decompositions) is computed **per draw before any quantile is taken**.
#
# The fit is `migration_2022_within`: the 2022 equation with region and place effects and
# a per-place AR(1) on top, so a place's attractiveness can change over the years with
# an estimated persistence (`ar_phi`); place effects and AR states are integrated out of
# the likelihood by a Kalman filter and drawn afterwards. The place means of VRA and DS
# enter as contextual (Mundlak) terms, so that place effects are uncorrelated with them:
# attractiveness is what neither the year's job growth nor the place's lasting job growth
# explains (docs/attractiveness.md).
#
# What to look for: how wide the intervals are relative to the spread between places;
# how little a mid-table rank means; whether attractiveness persists from one period to the
# next; and which drivers of a place's growth the data actually settle.
#
# **Quick mode** (`ATTRBAYES_NOTEBOOK_QUICK=1`, what CI runs): 40 places, 2 chains x 100
# draws; the numbers are for checking that everything runs, not for reading.

# %% tags=["parameters"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from attrbayes.decomposition import decompose, table_text
from attrbayes.features.design import compute_features
from attrbayes.notebook import PANEL_SIZE, QUICK, SAMPLER, setup, show
from attrbayes.pipeline import run_ols
from attrbayes.plots.attractiveness import (
    attractiveness_path_data,
    plot_attractiveness_paths,
    plot_attractiveness_scatter,
    plot_rank,
    rank_plot_data,
)
from attrbayes.plots.decomposition import decomposition_plot_data, plot_decomposition
from attrbayes.plots.maps import attractiveness_values, plot_map
from attrbayes.reporting.comparison import attractiveness_comparison, within_between_table
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import SynthConfig, synthesize_panel

# %matplotlib inline

SEED = SynthConfig.seed
SPEC = "migration_2022_within"
TOP = 5 if QUICK else 10  # "top N" and "bottom N" in the rank tables
PLACE: str | None = None  # the place to decompose; None: the one ranked first
OUT = setup("nb04", width=160, precision=3)  # a scratch folder, not in the repo


# %% [markdown]
# ## Fit
#
# Read the gate's verdict and worst parameters before the tables (in quick mode it fails:
# the chains are far too short).

# %%
synthetic = synthesize_panel(seed=SEED, **PANEL_SIZE)
municipal = compute_features(synthetic.panel, "municipality")
fit = run_fit(prepare_fit(municipal, SPEC, level="municipality"), SAMPLER, OUT / SPEC)
first, last = fit.design.years
middle = (first + last) // 2
PERIOD_1, PERIOD_2 = (first, middle), (middle + 1, last)
print(f"{SPEC}: {first}-{last}; periods {PERIOD_1} and {PERIOD_2}")


# %% [markdown]
# ## Within and between, persistence, and the comparison with OLS
#
# The contextual terms split each time-varying effect into a *within-place* effect (a
# place's good years against its bad ones) and a *between-place* effect (places with
# lasting job growth against others); the book's pooled OLS mixes the two. The Mundlak OLS
# (OLS with the place means) gives the fixed-effects within estimate for comparison.
#
# `ar_phi` is the persistence of attractiveness's time-varying part: a deviation halves in
# `ln 0.5 / ln ar_phi` years, which is how fast the "historical" scenario's last-year
# deviation fades in projections (the place effects stay).

# %%
display(within_between_table(fit).round(4))
phi = fit.draws("ar_phi")
half_life = np.log(0.5) / np.log(phi)
print(
    f"persistence ar_phi {float(phi.median()):.2f} "
    f"(80 % {float(phi.quantile(0.1)):.2f}-{float(phi.quantile(0.9)):.2f}); "
    f"half-life {float(half_life.median()):.1f} years"
)
comparison = attractiveness_comparison(fit)
display(comparison.statistics.round(3))
show(plot_attractiveness_scatter(comparison))
print(fit.convergence().message())
display(fit.summary().set_index("term")[["estimate", "lower", "upper", "rhat", "ess_bulk"]])

# %% [markdown]
# ## Rankings with intervals
#
# Per place: period-mean attractiveness in % of population per year and in persons per
# year (median, 50/80/95 % equal-tailed intervals), the median rank with its 80 % interval
# and the probabilities of being in the top and the bottom `TOP`. Places are ordered by
# median rank. Compare the interval widths with the spread of the medians: where they are
# of the same size, a league table says little.

# %%
ranked = fit.ranked_attractiveness(top=TOP)
columns = [
    "place",
    "name",
    "pct_median",
    "pct_lower_80",
    "pct_upper_80",
    "persons_median",
    "rank_median",
    "rank_lower_80",
    "rank_upper_80",
    f"p_top_{TOP}",
    f"p_bottom_{TOP}",
]
print(f"most attractive, {first}-{last}:")
display(ranked[columns].head(TOP))
print("least attractive:")
display(ranked[columns].tail(TOP))
PLACE = PLACE or str(ranked["place"].iloc[0])

# %% [markdown]
# Every place's period median with its 80 % interval, sorted (the place decomposed below
# in red), for the whole window and for each half.

# %%
panels = [
    (f"{a}-{b}", rank_plot_data(fit.attractiveness(years=(a, b)), PLACE))
    for a, b in ((first, last), PERIOD_1, PERIOD_2)
]
show(plot_rank(panels, title="Residential attractiveness, % of population per year"))

# %% [markdown]
# ### Against the truth
#
# The synthetic panel knows each place's true latent attractiveness. Both sides are
# centred on their mean over places (the model identifies attractiveness relative to the
# common level, the simulation has its own level), then the share of places whose true
# value lies inside the 80 % and 95 % intervals is counted: it should be near 0.8 and 0.95
# once the sampler has converged.

# %%
table = fit.attractiveness()
true_attr = (
    synthetic.truth["attractiveness"]
    .query("@first <= year <= @last")
    .groupby("place")["residential"]
    .mean()
    .mul(100)
)
check = table.set_index("place")[
    ["pct_median", "pct_lower_80", "pct_upper_80", "pct_lower_95", "pct_upper_95"]
]
shift = check["pct_median"].mean()
true_centred = true_attr.reindex(check.index) - true_attr.mean() + shift
coverage = {
    mass: float(
        np.mean(
            check[f"pct_lower_{mass}"].le(true_centred)
            & check[f"pct_upper_{mass}"].ge(true_centred)
        )
    )
    for mass in (80, 95)
}
print("coverage of the true attractiveness:", coverage)
print(
    f"correlation of posterior medians with the truth: "
    f"{np.corrcoef(check['pct_median'], true_centred)[0, 1]:.2f}"
)
fig, ax = plt.subplots(figsize=(6, 5))
ax.errorbar(
    true_centred,
    check["pct_median"],
    yerr=[check["pct_median"] - check["pct_lower_80"], check["pct_upper_80"] - check["pct_median"]],
    fmt="o",
    ms=3,
    color="tab:blue",
    ecolor="0.7",
    label="posterior median, 80 %",
)
limits = [
    min(true_centred.min(), check["pct_lower_80"].min()),
    max(true_centred.max(), check["pct_upper_80"].max()),
]
ax.plot(limits, limits, color="black", lw=0.8, label="y = x")
ax.set(
    xlabel="true attractiveness (centred), % per year",
    ylabel="posterior, % per year",
    title=f"Recovered attractiveness, {first}-{last}",
)
ax.legend(fontsize=8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Rank uncertainty
#
# Ranks are taken per draw, then summarised. The median rank with its 80 % interval shows
# how far a place could move in the league table given the data; `P(top N)` is what a
# headline such as "among the ten most attractive" can honestly claim.

# %%
ranks = fit.ranks(top=TOP)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
position = np.arange(1, len(ranks) + 1)
axes[0].vlines(position, ranks["rank_lower_80"], ranks["rank_upper_80"], color="0.6", lw=0.6)
axes[0].plot(position, ranks["rank_median"], "o", ms=3, color="tab:blue")
axes[0].plot(position, position, color="black", lw=0.6)
axes[0].set(
    xlabel="places ordered by median rank",
    ylabel="rank (1 = most attractive)",
    title="Median rank and 80 % interval",
)
axes[0].invert_yaxis()
shown = ranks.head(2 * TOP)
axes[1].barh(shown["name"], shown[f"p_top_{TOP}"], color="tab:green")
axes[1].invert_yaxis()
axes[1].set(xlabel=f"P(top {TOP})", xlim=(0, 1), title=f"Probability of a top-{TOP} rank")
fig.tight_layout()
show(fig)
width = ranks["rank_upper_80"] - ranks["rank_lower_80"]
print(f"median width of the 80 % rank interval: {width.median():.0f} of {len(ranks)} ranks")

# %% [markdown]
# The same on tiles by county: the median attractiveness, and the probability of a top
# rank (a probability scale, so places with no chance fade out).

# %%
info = municipal.units.set_index("place")
show(
    plot_map(
        attractiveness_values(fit),
        names=info["name"],
        counties=info["county"],
        title="Residential attractiveness (median)",
    )
)
p_top = ranks.set_index("place")[f"p_top_{TOP}"].rename(f"P(top {TOP})")
show(
    plot_map(
        p_top,
        kind="probability",
        names=info["name"],
        counties=info["county"],
        title=f"Probability of a top-{TOP} rank",
    )
)

# %% [markdown]
# ## Persistence: is attractiveness a property of a place?
#
# Per posterior draw, the correlation across places of period-1 and period-2 mean
# attractiveness (Pearson, and Spearman on the ranks). Its posterior distribution says how
# persistent attractiveness is *given the model*; the OLS residual means give one number
# for comparison, and the truth another. High persistence supports reading attractiveness
# as a stable trait (and projecting it forward, notebook 5); low persistence means period
# rankings are mostly noise. (The package has no persistence helper yet; this is computed
# from `fit.latent_attractiveness`, dims draw x place x year.)

# %%
latent = fit.latent_attractiveness
one = latent.sel(year=slice(*PERIOD_1)).mean("year").transpose("draw", "place").to_numpy()
two = latent.sel(year=slice(*PERIOD_2)).mean("year").transpose("draw", "place").to_numpy()


def rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation across columns, one value per row (draw)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))


def ranks_of(values: np.ndarray) -> np.ndarray:
    return values.argsort(axis=1).argsort(axis=1).astype(float)


pearson = rowwise_corr(one, two)
spearman = rowwise_corr(ranks_of(one), ranks_of(two))
ols = run_ols(municipal, "migration_2022", level="municipality").pooled
ols_one = ols.attractiveness(PERIOD_1).set_index("place")["pct_per_year"]
ols_two = ols.attractiveness(PERIOD_2).set_index("place")["pct_per_year"].reindex(ols_one.index)
truth = synthetic.truth["attractiveness"].pivot(index="place", columns="year", values="residential")
true_one = truth.loc[:, PERIOD_1[0] : PERIOD_1[1]].mean(axis=1)
true_two = truth.loc[:, PERIOD_2[0] : PERIOD_2[1]].mean(axis=1)
persistence = pd.DataFrame(
    {
        "posterior median": [np.median(pearson), np.median(spearman)],
        "posterior 5 %": [np.quantile(pearson, 0.05), np.quantile(spearman, 0.05)],
        "posterior 95 %": [np.quantile(pearson, 0.95), np.quantile(spearman, 0.95)],
        "OLS residual means": [ols_one.corr(ols_two), ols_one.corr(ols_two, method="spearman")],
        "truth": [true_one.corr(true_two), true_one.corr(true_two, method="spearman")],
    },
    index=["Pearson", "Spearman"],
)
display(persistence)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(pearson, bins=30, color="tab:blue", alpha=0.7, label="posterior (per draw)")
ax.axvline(ols_one.corr(ols_two), color="black", ls="--", label="OLS residual means")
ax.axvline(true_one.corr(true_two), color="tab:red", label="truth")
ax.set(
    xlabel=f"correlation of {PERIOD_1[0]}-{PERIOD_1[1]} with {PERIOD_2[0]}-{PERIOD_2[1]}",
    ylabel="draws",
    title="Persistence of residential attractiveness",
)
ax.legend(fontsize=8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## One place over time
#
# The attractiveness path of the chosen place by year with 50/80/95 % bands (the AR(1)
# lets it move around the place's level), with the centred truth in red.

# %%
by_year = fit.attractiveness(by="year")
path = attractiveness_path_data(by_year, PLACE)
name = str(info.loc[PLACE, "name"])
fig = plot_attractiveness_paths([(f"{name} ({PLACE})", path)], period=PERIOD_2)
true_path = truth.loc[PLACE, first:last] * 100
level = truth.loc[:, first:last].mean(axis=0) * 100  # the truth's common level by year
model_level = by_year.groupby("year")["pct_median"].mean()
(truth_line,) = fig.axes[0].plot(
    true_path.index,
    true_path - level + model_level.reindex(true_path.index),
    color="tab:red",
    lw=1.5,
    label="truth (centred)",
)
fig.axes[0].legend(handles=[truth_line], loc="upper right", fontsize=7.5)
show(fig)

# %% [markdown]
# ## Growth decomposition of one place
#
# Where did the place's population growth in the second period come from? Per draw the
# drivers add up exactly to the actual change (births - deaths + net migration); the table
# gives medians with 80 % and 95 % intervals and the place's national rank on each driver.
# Births, deaths and national immigration are data and have no interval. In the chart the
# error bars are 80 % intervals: a bar whose interval crosses zero is a driver whose sign
# the data do not settle; colour is the national rank (blue = rank 1).

# %%
decomposition = decompose(fit, PLACE, PERIOD_2)
print(table_text(decomposition))
sums = decomposition.draws.sum("driver")
print(
    f"\ndrivers add up to the actual change in every draw: "
    f"{np.allclose(sums, decomposition.actual)} ({decomposition.actual:,.1f} persons a year)"
)

# %%
show(plot_decomposition(decomposition_plot_data(decomposition), title=decomposition.title))
print("outputs of this notebook:", OUT)
