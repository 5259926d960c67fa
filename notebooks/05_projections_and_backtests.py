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
# # 5. Probabilistic projections to 2050 and calibration backtests
#
# The cohort-component engine (`attrbayes.projection.engine.project`) runs every year, for
# every posterior draw, both equations of the model: jobs from the job growth model, net
# migration from the migration model (VRA of the projected jobs, DS of the projected age
# structure, the centrality coefficient carried forward by its own process, attractiveness
# by scenario, noise), then deaths, births and migrants by sex and single age.
# Coefficients, paths, attractiveness and noise of one trajectory all come from the same
# draw, so uncertainty propagates instead of being bolted on; groups of places are summed
# per draw before quantiles.
#
# The second half asks whether the intervals can be believed: a **rolling-origin
# backtest** cuts the panel at an origin year, refits both equations on what was known
# then, projects, and scores interval coverage, CRPS, MAPE and bias against what happened,
# beside the book's deterministic OLS method.
#
# **Quick mode** (`ATTRBAYES_NOTEBOOK_QUICK=1`, what CI runs): 40 places, 2 chains x 100
# draws, 100 projected draws, backtest origin 2011 with horizons 1 and 3; coverage from 40
# places is noisy. The full run uses the default panel (356 places) and the backtest of
# `benchmarks/backtest.py` (origin 2013, horizons 1, 3, 5 and 10, refits with 4 chains x
# 500 draws, 500 projected draws), so its table can be set beside `benchmarks/RESULTS.md`.
# More origins are a parameter away (`BACKTEST_ORIGINS`); each one refits both models.

# %% tags=["parameters"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from attrbayes.config import SamplerConfig
from attrbayes.diagnostics.backtest import LEVELS, backtest
from attrbayes.features.design import compute_features
from attrbayes.notebook import PANEL_SIZE, QUICK, SAMPLER, setup, show
from attrbayes.plots.centrality import coefficient_outlook_data, plot_coefficient_outlook
from attrbayes.plots.fan import (
    age_group_fan_data,
    fan_chart_data,
    fan_title,
    plot_age_group_fans,
    plot_fan_chart,
    plot_pyramid,
    pyramid_data,
)
from attrbayes.plots.maps import growth_probability, plot_map
from attrbayes.projection.engine import project
from attrbayes.projection.scenarios import SCENARIOS
from attrbayes.projection.tables import (
    milestone_text,
    milestone_years,
    quantile_table,
    resolve_unit,
)
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import SynthConfig, synthesize_panel

# %matplotlib inline

SEED = SynthConfig.seed
TO = 2050
PROJECTION_DRAWS = 100 if QUICK else 1000
ASSUMPTIONS = "synthetic"  # the national assumption set (assumptions/*.toml)
# the full backtest matches benchmarks/backtest.py, so its table compares with RESULTS.md
BACKTEST_ORIGINS = [2011] if QUICK else [2013]
BACKTEST_HORIZONS = [1, 3] if QUICK else [1, 3, 5, 10]
BACKTEST_SAMPLER = SAMPLER if QUICK else SamplerConfig(draws=500, tune=500)
BACKTEST_DRAWS = 100 if QUICK else 500
OUT = setup("nb05", width=160, precision=3)  # a scratch folder, not in the repo


# %% [markdown]
# ## The two fits
#
# The 2022 net-migration model and the private job growth model (industry effect,
# population effect, business attractiveness), both at municipality level.

# %%
synthetic = synthesize_panel(seed=SEED, **PANEL_SIZE)
panel = synthetic.panel
municipal = compute_features(panel, "municipality")
migration = run_fit(prepare_fit(municipal, "migration_2022"), SAMPLER, OUT / "migration_2022")
jobs = run_fit(prepare_fit(municipal, "jobs_2022"), SAMPLER, OUT / "jobs_2022")
for fit in (migration, jobs):
    print(f"{fit.spec.name}: {fit.convergence().summary_line()}")
display(jobs.summary().set_index("term")[["estimate", "lower", "upper", "rhat"]])
print(
    "truth: industry_effect",
    synthetic.parameters["industry_coef"],
    "| pop_growth_lag",
    synthetic.parameters["population_coef"],
)

# %% [markdown]
# ## Projection to 2050
#
# Five attractiveness scenarios (`attrbayes.projection.scenarios`): `neutral`
# (attractiveness 0: structure only), `historical` (each draw's attractiveness of the last
# ten fitted years; with an AR(1) fit the deviation decays), `historical_constant` (the
# book's rule: the ten-year mean held constant), and `high` / `low` (every place at the
# 80th / 20th percentile of the places' ten-year attractiveness). `high` and `low` are
# what-ifs *for each place*: the engine keeps the uniform shift out of the national
# controls, so their sums over places are not a nationally consistent scenario. National
# paths (net immigration, TFR, mortality decline, job growth) come from the assumption set
# and are *not* uncertain within it.

# %%
projection = project(
    migration,
    jobs,
    panel,
    assumptions=ASSUMPTIONS,
    scenarios=SCENARIOS,
    to=TO,
    draws=PROJECTION_DRAWS,
    seed=SEED,
)
projection.save(OUT / "projection.nc")
print(
    f"{len(projection.places)} places, scenarios {projection.scenarios}, "
    f"{projection.ds.sizes['draw']} draws, years {int(projection.ds['year'].min())}-{TO}"
)
nation = quantile_table(projection, level="nation", variables=["population"])
years = milestone_years(nation["year"].unique())
print("national population, median [80 % interval]:")
print(milestone_text(nation, "population", years=years))

# %% [markdown]
# ## Fan charts
#
# Median with 50/80/95 % bands, observed history in black. In the nationally consistent
# scenarios the national fan is narrow: the national paths are assumptions and the places'
# net migration is shifted to sum to national net immigration every year and draw, so the
# uncertainty is mostly about *where* people live, not how many. Groups of places fan out
# much more, the least central class (SSB class 6) among the most; there the scenarios are
# overlaid with their 80 % bands (`high` and `low` as sums of per-place what-ifs).

# %%
unit = resolve_unit(projection, "nation")
national = fan_chart_data(projection, "population", unit, scenarios=["neutral", "historical"])
show(plot_fan_chart(national, title=fan_title("population", unit)))

# %%
periphery = resolve_unit(projection, "centrality_class", "6")
chosen = ["neutral", "historical", "high", "low"]
data = fan_chart_data(projection, "population", periphery, scenarios=chosen)
show(plot_fan_chart(data, title=fan_title("population", periphery), overlay=True))

# %% [markdown]
# ### The centrality coefficient past the fit
#
# The periphery's fan depends most on the centrality coefficient `c[t]`: how much more
# central places gain each year. Past the last fitted year the engine carries it by the
# spec's process (`[time_varying] centrality`), stepped through every year, and stores
# it per draw (`centrality_coefficient`). Fitted years in blue with the yearly OLS
# estimates, projected years in orange; the legend gives P(coefficient < 0) in the last
# year. A random walk's band widens without bound; an AR(1) reverts to its estimated
# level, so its band settles at the level's uncertainty plus the stationary spread.

# %%
show(plot_coefficient_outlook(coefficient_outlook_data(projection, fit=migration)))

# %% [markdown]
# The age structure of the least central class: the 2x2 age-group fans and the pyramid of
# the last projected year against the base year (black outline), with 80 % whiskers.

# %%
show(
    plot_age_group_fans(
        age_group_fan_data(projection, periphery, "historical"),
        title=f"{periphery.label}: population by age group (historical)",
    )
)
show(
    plot_pyramid(
        pyramid_data(projection, periphery, "historical", TO, bin_width=5),
        title=f"{periphery.label}, {TO} (historical)",
    )
)

# %% [markdown]
# ### Which places grow?
#
# Per place, the share of draws in which the population of 2050 exceeds the base year's,
# under the `historical` scenario: a probability, not a point forecast, so it shows where
# the projection is confident and where it is a coin flip.

# %%
p_growth = growth_probability(projection, "historical", TO)
info = municipal.units.set_index("place")
show(
    plot_map(
        p_growth,
        kind="probability",
        names=info["name"],
        counties=info["county"],
        title=f"P(population {TO} > base year), historical scenario",
    )
)

# %% [markdown]
# ## Calibration backtest
#
# For each origin `T`: the panel is cut to what was known on 1 January `T` (population to
# `T`, flows to `T - 1`), both equations are refitted, the engine projects to `T + h`, and
# the projected population of each place is scored against the observed one. National
# paths are the *observed* ones, so the backtest judges the local model, not the national
# guess. The OLS baseline (the book's method: point estimates, no noise) has no intervals;
# it is scored on MAPE, bias and CRPS (which for a point is the absolute error).
#
# How to read the coverage table: `coverage_80` should be near 0.80 for every horizon and
# size class. Lower means the intervals are too narrow (overconfident), typically growing
# with the horizon; higher means too wide. `crps_pct` rewards sharp *and* calibrated
# distributions (lower is better); `bias` is the mean signed error in % (positive:
# projected too high).

# %%
result = backtest(
    panel,
    BACKTEST_ORIGINS,
    BACKTEST_HORIZONS,
    sampler=BACKTEST_SAMPLER,
    draws=BACKTEST_DRAWS,
    seed=SEED,
)
result.save(OUT / "backtest")
for note in result.notes:
    print("note:", note)
coverage = result.summary()
print("coverage table (method x scenario x horizon x size class):")
with pd.option_context("display.max_rows", 500):
    display(coverage)
print("all places:")
display(coverage[coverage["size_class"] == "all"].drop(columns="size_class"))

# %%
overall = coverage[coverage["size_class"] == "all"]
bayes = overall[overall["method"] == "bayes"]
colours = {50: "tab:blue", 80: "tab:orange", 95: "tab:green"}
styles = dict(zip(sorted(overall["scenario"].unique()), ("-", "--", ":", "-."), strict=False))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for level in LEVELS:
    axes[0].axhline(level / 100, color=colours[level], ls=":", lw=1)
    for scenario, rows in bayes.groupby("scenario"):
        axes[0].plot(
            rows["horizon"],
            rows[f"coverage_{level}"],
            marker="o",
            color=colours[level],
            ls=styles[scenario],
            label=f"{level} % ({scenario})",
        )
axes[0].set(
    xlabel="horizon (years)",
    ylabel="empirical coverage",
    ylim=(0, 1.05),
    xticks=BACKTEST_HORIZONS,
    title="Interval coverage (dotted: nominal)",
)
axes[0].legend(fontsize=7)
for (method, scenario), rows in overall.groupby(["method", "scenario"]):
    axes[1].plot(
        rows["horizon"],
        rows["mape"],
        marker="o",
        ls=styles[scenario],
        color="tab:blue" if method == "bayes" else "black",
        label=f"{method}, {scenario}",
    )
axes[1].set(
    xlabel="horizon (years)",
    ylabel="MAPE, %",
    xticks=BACKTEST_HORIZONS,
    title="Error of the median: Bayesian vs the OLS point method",
)
axes[1].legend(fontsize=7)
fig.tight_layout()
show(fig)
print("outputs of this notebook:", OUT)
