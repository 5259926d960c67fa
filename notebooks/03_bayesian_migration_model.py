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
# # 3. The Bayesian net-migration model: priors, fit, diagnostics, checks
#
# The hierarchical refit of the 2022 equation (docs/models.md, "The Bayesian net-migration model"):
# Student-t noise shrinking with population, year, region and place effects, and a
# centrality coefficient `c[t]` that varies as an AR(1) around an estimated level. The
# notebook walks the workflow a methodologist would audit:
#
# 1. the **prior set** and a **prior predictive** check;
# 2. the **fit** with nutpie and the **diagnostics gate** (R-hat, ESS, divergences,
#    E-BFMI) with trace, rank and energy plots;
# 3. **posterior predictive checks** (interval coverage, test statistics, PIT);
# 4. **LOO** against the pooled (OLS-like) spec on the same observations;
# 5. the **OLS-vs-posterior table** and the **time-varying centrality** plot, both beside
#    the synthetic truth.
#
# **Quick mode** (`ATTRBAYES_NOTEBOOK_QUICK=1`, what CI runs) samples 2 chains x 100 draws
# on a 40-place panel: enough to run every step, *not* enough for inference; the gate is
# expected to fail there. The full run uses 4 chains x 1000 draws on the default panel.

# %% tags=["parameters"]
import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
from IPython.display import display

from attrbayes.config import load_spec
from attrbayes.diagnostics.checks import compare_fits, posterior_predictive_check
from attrbayes.diagnostics.convergence import BFMI_MIN, ESS_MIN, RHAT_MAX
from attrbayes.features.design import compute_features
from attrbayes.notebook import PANEL_SIZE, QUICK, SAMPLER, setup, show
from attrbayes.plots.centrality import centrality_path_data, plot_centrality_path
from attrbayes.priors import load_prior_set
from attrbayes.reporting.comparison import ols_posterior_table
from attrbayes.results import FitResult
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import SynthConfig, synthesize_panel

# %matplotlib inline

SEED = SynthConfig.seed
SPEC = "migration_2022"
ALTERNATIVE = "migration_2022_pooled"  # for LOO: the same equation without hierarchy
PRIORS = "weakly_informative"
PRIOR_DRAWS = 100 if QUICK else 500
PPC_DRAWS = 200 if QUICK else 500
OUT = setup("nb03", width=160, precision=4)  # a scratch folder, not in the repo


def show_arviz(plot_collection) -> None:
    """Display the matplotlib figure behind an ArviZ 1.x PlotCollection."""
    show(plot_collection.viz["figure"].item())


# %% [markdown]
# ## Data and truth

# %%
synthetic = synthesize_panel(seed=SEED, **PANEL_SIZE)
municipal = compute_features(synthetic.panel, "municipality")
params = synthetic.parameters
truth = pd.Series(
    {"intercept": params["intercept_pooled"]}
    | {k: params[k] for k in ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")},
    name="truth",
    dtype=float,
)
print(SAMPLER.describe())

# %% [markdown]
# ## The spec and the prior set
#
# Specs and priors are data (TOML), not code. The default prior set is weakly informative
# with scales set from the units of the data (rates: 0.01 = 1 % of population a year); the
# alternative `published_2022` is centred on the book's estimates. Both are listed with
# what each parameter means, so a reviewer can check every prior in one table.

# %%
spec = load_spec(SPEC)
print(spec.source_text)
weak, published = load_prior_set(PRIORS), load_prior_set("published_2022")
priors = pd.DataFrame(weak.table(), columns=["parameter", PRIORS, "meaning"]).set_index("parameter")
priors.insert(1, "published_2022", pd.Series({k: p for k, p, _ in published.table()}))
print(weak.provenance.get("scaling", ""))
display(priors)

# %% [markdown]
# `prepare_fit` validates data, spec and priors before anything is sampled and chooses the
# graph's **geometry** from the data: a place's effect is sampled centred where its own
# data pin it down (large places) and non-centred elsewhere; the centrality coefficient's
# yearly values and the year effects are centred when many places inform every year.

# %%
prepared = prepare_fit(municipal, SPEC, level="municipality", priors=PRIORS)
print(prepared.describe())
geometry = prepared.model.geometry
print(
    f"centred steps: {geometry['steps_centred']}, centred year effects: "
    f"{geometry['year_effects_centred']}, places centred: "
    f"{len(geometry['places_centred'])} of {municipal.frame['place'].nunique()}"
)

# %% [markdown]
# ## Prior predictive check
#
# Data simulated from the priors alone should cover the observed data without being
# absurd: net migration rates of a few percent a year, not of 100 %. Per prior draw we
# compute the spread and the tails of the simulated rates and set the observed values
# among them. (The package has no prior-predictive helper; PyMC is called on the graph
# `prepare_fit` built.)

# %%
with prepared.model.build():
    prior = pm.sample_prior_predictive(draws=PRIOR_DRAWS, random_seed=SEED)
simulated = prior["prior_predictive"]["y"].stack(sample=("chain", "draw")).transpose("sample", ...)
simulated = simulated.to_numpy()
y = prepared.model.design.y
stats = {
    "sd": (simulated.std(axis=1), y.std()),
    "q05": (np.quantile(simulated, 0.05, axis=1), np.quantile(y, 0.05)),
    "q95": (np.quantile(simulated, 0.95, axis=1), np.quantile(y, 0.95)),
    "max |y|": (np.abs(simulated).max(axis=1), np.abs(y).max()),
}
display(
    pd.DataFrame(
        {
            name: {
                "observed": obs,
                "prior 5 %": np.quantile(sim, 0.05),
                "prior median": np.median(sim),
                "prior 95 %": np.quantile(sim, 0.95),
                "share of prior draws below observed": np.mean(sim < obs),
            }
            for name, (sim, obs) in stats.items()
        }
    ).T
)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(np.log10(stats["sd"][0]), bins=30, color="0.6", label="prior predictive draws")
ax.axvline(np.log10(y.std()), color="tab:red", lw=2, label="observed")
ax.set(
    xlabel="log10 sd of simulated NM (rate per year)",
    ylabel="prior draws",
    title="Prior predictive: spread of net migration rates",
)
ax.legend(fontsize=8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Fit with nutpie
#
# `run_fit` samples and saves `fit.nc` (NetCDF with the design, spec and prior TOML, sampler
# settings, seed, timings and package versions) and `summary.csv` into the output folder.
# The summary layout is shared with OLS: `term, estimate` (posterior median)`, sd, lower,
# upper` (95 % equal-tailed), plus R-hat and bulk / tail ESS.

# %%
fit = run_fit(prepared, SAMPLER, OUT / SPEC)
print({k: round(v, 1) for k, v in fit.timings.items()}, "seconds")
summary = fit.summary()
print(summary.to_string(index=False))

# %% [markdown]
# ## Diagnostics gate
#
# The gate applies current thresholds to **every** scalar of the posterior (not just the
# coefficients): R-hat <= 1.01, bulk and tail ESS >= 400, no divergent transitions and
# E-BFMI >= 0.3 in every chain. When it fails it lists the worst parameters. In quick mode
# it fails by construction (200 draws cannot give an ESS of 400).

# %%
report = fit.convergence()
print(report.message())
print(f"\nthresholds: R-hat <= {RHAT_MAX}, ESS >= {ESS_MIN:.0f}, E-BFMI >= {BFMI_MIN}")
print("divergences:", report.divergences, "| E-BFMI per chain:", np.round(report.bfmi, 2))
display(report.table.describe().T)

# %% [markdown]
# **Trace and marginal plots** of the coefficients and scale parameters: the chains should
# overlap (hairy caterpillars, same densities). **Rank plot** (ArviZ's fractional-rank
# Delta-ECDF) of the summary parameter with the highest R-hat: each chain's ranks should
# stay inside the envelope. **Energy**: the marginal energy and energy-transition
# distributions should look alike; E-BFMI per chain below 0.3 signals a sampler that
# cannot move between levels of the hierarchy's scales.

# %%
coefficients = ["vra_t", "vra_t1", "vra_t2", "centrality", "ds"]
scales = ["sigma_year", "sigma_group", "sigma_place", "centrality_sigma", "nu"]
show_arviz(az.plot_trace_dist(fit.tree, var_names=coefficients + scales))

# %%
scalars = summary.set_index("term")["rhat"]
worst = str(scalars.idxmax())
print(f"rank plot of {worst} (R-hat {scalars.max():.3f})")
show_arviz(az.plot_rank(fit.tree, var_names=worst))
show_arviz(az.plot_energy(fit.tree))

# %% [markdown]
# ## Posterior predictive checks
#
# Replicated data from the posterior, compared with what was observed:
#
# * **coverage**: the share of observations inside their 50/80/95 % predictive intervals
#   should be near nominal (too high: the noise is overestimated; too low: underestimated
#   or tails too light);
# * **test statistics** with Bayesian p-values (near 0 or 1 flags misfit);
# * **PIT** (probability integral transform: the share of replicates below each
#   observation) should be uniform; a U shape means overconfident predictions;
# * **coverage by size**: the noise model makes small places noisier; if it scales wrongly,
#   coverage differs between small and large places.

# %%
ppc = posterior_predictive_check(fit, max_draws=PPC_DRAWS)
display(ppc.coverage)
display(ppc.statistics)

# %%
replicates = ppc.replicates.transpose("draw", "obs").to_numpy()
pit = (replicates < ppc.observed[None, :]).mean(axis=0)
lo, hi = np.quantile(replicates, [0.1, 0.9], axis=0)
inside = (ppc.observed >= lo) & (ppc.observed <= hi)
size = pd.qcut(fit.design.frame["population"], 3, labels=["small", "middle", "large"])
print("80 % coverage by size tercile:")
display(pd.Series(inside).groupby(size.to_numpy(), observed=True).mean().rename("coverage_80"))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
bins = np.linspace(np.quantile(ppc.observed, 0.005), np.quantile(ppc.observed, 0.995), 50)
for row in replicates[:: max(1, len(replicates) // 30)]:
    axes[0].hist(row, bins=bins, histtype="step", color="tab:blue", alpha=0.15, density=True)
axes[0].hist(ppc.observed, bins=bins, histtype="step", color="black", lw=2, density=True)
axes[0].set(title="Observed (black) vs replicated NM", xlabel="NM (rate per year)")
axes[1].hist(pit, bins=20, color="0.6", density=True)
axes[1].axhline(1, color="tab:red", lw=1)
axes[1].set(title="PIT of the observations (uniform = calibrated)", xlabel="PIT")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## LOO: does the hierarchy earn its complexity?
#
# PSIS-LOO compares the expected log predictive density of the hierarchical spec with the
# pooled spec (one constant centrality coefficient, no effects, normal noise: the Bayesian
# twin of pooled OLS) on exactly the same observations (`compare_fits` refuses otherwise).
# `elpd_diff` is in log-density units with its standard error `dse`; a difference of many
# `dse` is decisive. The count of observations with a high Pareto k says whether the PSIS
# approximation can be trusted (the threshold depends on the number of draws).

# %%
pooled = run_fit(prepare_fit(municipal, ALTERNATIVE, level="municipality"), SAMPLER)
loo = compare_fits({SPEC: fit, ALTERNATIVE: pooled})
display(loo.table)
print("observations with a high Pareto k:", loo.pareto_k_bad)

# %% [markdown]
# ## OLS vs posterior vs truth
#
# `ols_posterior_table` refits OLS on the fit's own design, so both use the same rows. For
# the time-varying centrality coefficient the posterior row is its mean over the years
# (what a pooled OLS estimates). The published values come along because `migration_2022`
# is one of the book's versions. The intervals can differ in both directions: the
# posterior's are narrower where the size-dependent noise lets large, precise places count
# for more than OLS's equal weights, and wider where OLS ignores that a place's years are
# not independent (its persistent attractiveness). Where the hierarchy absorbs place
# effects that OLS leaves in the residuals, the posterior should sit closer to the truth.

# %%
comparison = ols_posterior_table(fit).set_index("term")
comparison["truth"] = truth.reindex(comparison.index)
display(comparison)

# %% [markdown]
# ## The time-varying centrality coefficient
#
# The posterior band of `c[t]` (50 % dark, 95 % light) over the year-by-year OLS estimates
# with their 95 % confidence intervals, and the simulated truth in red. The AR(1) pools
# neighbouring years: the band should track the truth more smoothly than the noisy yearly
# OLS points.

# %%
path = centrality_path_data(fit)
display(path)
fig = plot_centrality_path(path)
true_path = synthetic.truth["years"].set_index("year")["centrality"].loc[path["year"]]
fig.axes[0].plot(true_path.index, true_path, color="tab:red", lw=2, label="truth")
fig.axes[0].legend(loc="best", fontsize=8)
show(fig)

# %% [markdown]
# ## Provenance of a saved fit
#
# Loading re-checks the schema, the spec and prior TOML and the SHA-256 of the design: an
# altered file is refused. A reviewer can see exactly how a fit was produced.

# %%
loaded = FitResult.load(OUT / SPEC / "fit.nc")
attrs = loaded.tree.attrs
for key in ("spec_name", "prior_name", "sampler", "seed", "data_hash", "package_versions"):
    print(f"{key}: {attrs[key]}")
print("outputs of this notebook:", OUT)
