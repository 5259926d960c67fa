"""The projection engine on a small synthetic panel with tiny real fits: accounting
identities per draw, the national controls, scenarios, determinism and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from attrbayes.config import SamplerConfig
from attrbayes.exceptions import SpecError
from attrbayes.projection.assumptions import load_assumptions, parse_assumptions
from attrbayes.projection.engine import Projector, project
from attrbayes.projection.scenarios import attractiveness_path
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import synthesize_panel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic():
    return synthesize_panel(n_places=30, first_year=2000, last_year=2012, seed=9)


@pytest.fixture(scope="module")
def fits(synthetic):
    config = SamplerConfig.tiny(seed=3)
    mig = run_fit(prepare_fit(synthetic.panel, "migration_2022", level="municipality"), config)
    jobs = run_fit(prepare_fit(synthetic.panel, "jobs_2022"), config)
    return mig, jobs


@pytest.fixture(scope="module")
def projection(fits, synthetic):
    mig, jobs = fits
    places = sorted(mig.design.frame["place"].unique())
    return project(mig, jobs, synthetic.panel, draws=60, to=2030, chunk=25,
                   pyramid_years=[2012, 2020, 2030], pyramid_places=places,
                   flow_draws=True)  # fmt: skip


def test_population_balances_every_draw(projection):
    ds = projection.ds
    pop = ds["population"].astype(float)
    flows = (ds["births"] - ds["deaths"] + ds["net_migration"]).astype(float)
    residual = (pop.shift(year=-1) - pop - flows).isel(year=slice(0, -1))
    # stocks are kept as whole persons: each year's balance holds to their rounding
    assert float(abs(residual).max()) <= 1.0 + 1e-5 * float(pop.max())
    assert (pop >= 0).all()


def test_base_year_is_the_observed_population(projection, synthetic):
    totals = synthetic.panel.population_totals()[2012]
    base = projection.ds["population"].sel(year=2012).isel(scenario=0, draw=0)
    np.testing.assert_allclose(base.to_numpy(), totals.reindex(projection.places), rtol=1e-6)
    # the observed history runs through the base year, where the fans start from it
    history = projection.ds["history_population"]
    assert int(history["history_year"][-1]) == 2012
    np.testing.assert_allclose(history.sel(history_year=2012), base, rtol=1e-6)


def test_domestic_migration_sums_to_national_immigration(projection):
    ds = projection.ds.sel(scenario="neutral")
    rates = load_assumptions("synthetic")["main"].path("net_immigration_rate", ds["year"].values)
    national = ds["net_migration"].sum("place").isel(year=slice(0, -1))
    expected = ds["population"].sum("place").isel(year=slice(0, -1)) * rates[:-1]
    # exact up to the leavers a cohort cannot lose (they stay: no negative cohorts), which
    # a tiny place meets in a rare draw
    off = np.abs(national / expected - 1).to_numpy()
    assert np.median(off) < 1e-5
    assert (off > 1e-3).mean() < 0.01
    assert off.max() < 1e-2


def test_national_private_jobs_follow_the_assumption(projection):
    jobs = projection.ds["jobs_private"].sel(scenario="neutral").sum("place")
    growth = (jobs.shift(year=-1) / jobs - 1).sel(year=slice(2013, 2028))
    assert float(abs(growth - 0.008).max()) < 1e-4


def test_age_groups_and_pyramids_add_up(projection):
    ds = projection.ds
    groups = ds["age_group_population"]
    young, working, old = (groups.sel(age_group=g) for g in ("0-15", "16-66", "67+"))
    np.testing.assert_allclose(young + working + old, ds["population"], rtol=1e-5)
    assert (groups.sel(age_group="80+") <= old + 1e-3).all()
    pyramid = ds["pyramid"].sum(["sex", "age"]).rename(pyramid_year="year", pyramid_place="place")
    # population is kept in whole persons, pyramids (per draw, chosen places) unrounded
    population = ds["population"].sel(year=pyramid["year"])
    np.testing.assert_allclose(pyramid, population, rtol=1e-6, atol=0.51)


def test_stored_pyramid_quantiles_are_those_of_the_summed_draws(projection):
    """Every place's and group's pyramid quantiles are the quantiles of its per-draw
    pyramids (summed over its places first); the base year's are the observed pyramid."""
    ds = projection.ds
    county = str(ds["county"].values[0])
    members = [str(p) for p in ds["place"].values[ds["county"].values.astype(str) == county]]
    per_draw = ds["pyramid"].sel(pyramid_place=members).sum("pyramid_place").astype(float)
    stored = ds["pyramid_quantiles"].sel(unit=f"county:{county}")
    for band, prob in (("median", 0.5), ("lower_80", 0.1), ("upper_95", 0.975)):
        expected = per_draw.quantile(prob, "draw").drop_vars("quantile")
        np.testing.assert_allclose(stored.sel(band=band), expected, rtol=2e-6, atol=1e-3)
    five = ds["pyramid_quantiles_5"].sel(unit="nation", band="median", age_band=20)
    nation = ds["pyramid"].sel(age=slice(20, 24)).sum(["pyramid_place", "age"]).astype(float)
    np.testing.assert_allclose(five, nation.median("draw"), rtol=2e-6)
    base = stored.sel(pyramid_year=2012)  # the observed pyramid: no spread
    np.testing.assert_array_equal(base.sel(band="lower_95"), base.sel(band="upper_95"))


def test_scenarios_order_places_and_share_random_numbers(projection, fits):
    pop = projection.ds["population"].sel(year=2030).median("draw")
    assert (pop.sel(scenario="high") >= pop.sel(scenario="low")).all()
    # historical minus neutral follows the places' posterior residential attractiveness
    att = fits[0].attractiveness().set_index("place")["pct_median"].reindex(projection.places)
    gap = (pop.sel(scenario="historical") / pop.sel(scenario="neutral")).to_numpy()
    assert np.corrcoef(gap, att.to_numpy())[0, 1] > 0.5
    # with time-varying attractiveness the last deviation decays: not the book's constant
    assert not np.allclose(pop.sel(scenario="historical"), pop.sel(scenario="historical_constant"))


def test_the_same_seed_gives_the_same_projection_whatever_the_threads(fits, synthetic):
    mig, jobs = fits
    common = {"draws": 20, "to": 2016, "chunk": 10, "scenarios": ["historical"]}
    one_run = project(mig, jobs, synthetic.panel, workers=1, **common).ds
    two_run = project(mig, jobs, synthetic.panel, workers=2, **common).ds
    # the per-draw stocks, and the quantiles of the flows and pyramids (blocks of cells
    # summarised on one thread or side by side)
    for name in ("population", "net_migration_quantiles", "pyramid_quantiles"):
        np.testing.assert_array_equal(one_run[name], two_run[name])
    one = one_run["population"]
    quiet = project(mig, jobs, synthetic.panel, workers=1, noise=False, **common)
    # process noise widens the spread (summed over places: one place's 20 draws are noisy)
    spread = {k: float(v.std("draw").sel(year=2016).sum())
              for k, v in (("quiet", quiet.ds["population"]), ("noisy", one))}  # fmt: skip
    assert spread["quiet"] < spread["noisy"]


def test_few_draws_split_into_two_chunks_whatever_the_machine(fits, synthetic):
    """Fewer draws than two chunks hold run as two halves side by side (a report's 100
    target draws no longer run on one core), and the split, so the numbers, do not
    depend on the number of workers."""
    mig, jobs = fits
    runs = [Projector(mig, jobs, synthetic.panel, draws=21, to=2016, workers=w).run("neutral")
            for w in (1, 2)]  # fmt: skip
    assert sorted(runs[0].controls) == [0, 11]
    np.testing.assert_array_equal(runs[0].out["population"], runs[1].out["population"])
    # more draws than a chunk holds: chunks of equal size (7, 7, 7, not 8, 8, 5)
    run = Projector(mig, jobs, synthetic.panel, draws=21, to=2016, chunk=8).run("neutral")
    assert sorted(run.controls) == [0, 7, 14]


def test_chunks_side_by_side_use_one_blas_thread_each(fits, synthetic, monkeypatch):
    """BLAS's own threads on top of two chunk workers contended for the cores (a 1,000-draw
    projection took 10.3 s instead of 8.2 s on two cores): while chunks run side by side
    BLAS has one thread, and afterwards its setting is back."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    mig, jobs = fits
    seen: dict[int, list[int]] = {}
    original = Projector._run_chunk

    def spy(self, scenario, idx, *args):
        seen[idx.start] = blas_threads()
        return original(self, scenario, idx, *args)

    monkeypatch.setattr(Projector, "_run_chunk", spy)
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        Projector(mig, jobs, synthetic.panel, draws=4, to=2016, workers=2).run("neutral")
        assert blas_threads() == before
    assert before
    assert all(n == 2 for n in before)
    assert sorted(seen) == [0, 2]
    assert all(n == [1] * len(before) for n in seen.values())


def test_runs_write_into_the_scenarios_stacked_arrays(fits, synthetic):
    """project() hands each run its scenario's slice of the result's arrays, so the runs
    are not copied into the result: a run given ``into`` fills those arrays, and the same
    numbers as a run with arrays of its own."""
    mig, jobs = fits
    projector = Projector(mig, jobs, synthetic.panel, draws=6, to=2016)
    stacks = projector.stacked_outputs(2, ("population", "age_groups"))
    run = projector.run("neutral", into={k: v[1] for k, v in stacks.items()})
    assert np.shares_memory(run.out["population"], stacks["population"])
    assert np.isnan(stacks["population"][0]).all()
    assert not np.isnan(stacks["population"][1]).any()
    own = projector.run("neutral")
    for key in ("population", "age_groups", "jobs_private"):
        np.testing.assert_array_equal(run.out[key], own.out[key])


def test_uncertainty_grows_with_the_horizon(projection):
    pop = projection.ds["population"].sel(scenario="historical")
    spread = (pop.quantile(0.9, "draw") - pop.quantile(0.1, "draw")).sum("place")
    assert float(spread.sel(year=2012)) == 0
    assert float(spread.sel(year=2030)) > float(spread.sel(year=2020)) > 0


def test_decaying_attractiveness_with_an_ar_fit():
    latent = np.ones((2, 3, 12))
    ar = np.zeros_like(latent)
    ar[..., -1] = 0.5
    path = attractiveness_path("historical", latent, np.array([1, 2]), ar=ar,
                               phi=np.array([0.5, 0.0]))  # fmt: skip
    persistent = (latent - ar)[..., -10:].mean(axis=2)
    np.testing.assert_allclose(path[0, :, 0], persistent[0] + 0.25)
    np.testing.assert_allclose(path[0, :, 1], persistent[0] + 0.125)
    np.testing.assert_allclose(path[1, :, 0], persistent[1])


def test_refusals(fits, synthetic):
    mig, jobs = fits
    with pytest.raises(SpecError, match="must be after the base year 2012"):
        project(mig, jobs, synthetic.panel, to=2012)
    with pytest.raises(SpecError, match="unknown scenario"):
        project(mig, jobs, synthetic.panel, scenarios=["rosy"])
    with pytest.raises(SpecError, match="a migration fit and a jobs fit"):
        project(jobs, mig, synthetic.panel)
    with pytest.raises(SpecError, match="no alternative 'medium'"):
        project(mig, jobs, synthetic.panel, alternative="medium")
    with pytest.raises(SpecError, match=r"missing \['tfr'\]"):
        parse_assumptions('[provenance]\nsource = "x"\n[main]\nnet_immigration_rate = 0.1\n'
                          'mortality_decline = 0.01\nprivate_job_growth = 0.01\n'
                          'public_job_growth = 0.01\nindustry_convergence_years = 15\n',
                          name="x", where="x.toml")  # fmt: skip


def _noise_equation(**overrides):
    from types import SimpleNamespace

    n = 40_000
    values = {
        "fitted_years": np.array([2019, 2020]),
        "nu": None,
        "noise_floor": np.full(n, 0.01),
        "noise_kind": "constant",
        "noise_scale": np.zeros(n),
        "noise_exponent": np.full(n, 0.5),
        "phi": np.full(n, 0.9),
        "ar_sigma": np.full(n, 0.02),
    }
    return SimpleNamespace(**{**values, **overrides})


def test_future_attractiveness_innovations_grow_towards_the_stationary_spread():
    """Hand check: the AR part starts at 0 in the last fitted year (its known value is the
    scenario's), so one step later it has sd sigma sqrt(1 - phi^2), after two steps
    sigma sqrt(1 - phi^4), and the stationary sd sigma far out; the independent noise
    adds its own variance. Without an AR part only the independent noise is left."""
    from attrbayes.projection.engine import _Noise

    size = np.full((40_000, 1), 5_000.0)
    noise = _Noise(_noise_equation(), slice(0, 40_000), np.random.default_rng(1))
    first = noise.draw(size, 2021)
    assert first.mean() == pytest.approx(0.0, abs=5e-4)
    assert first.std() == pytest.approx(np.sqrt(0.01**2 + 0.02**2 * (1 - 0.81)), rel=0.03)
    far = noise.draw(size, 2060)
    assert far.std() == pytest.approx(np.sqrt(0.01**2 + 0.02**2), rel=0.03)
    gap = _Noise(_noise_equation(), slice(0, 40_000), np.random.default_rng(2)).draw(size, 2022)
    assert gap.std() == pytest.approx(np.sqrt(0.01**2 + 0.02**2 * (1 - 0.9**4)), rel=0.03)
    independent = _Noise(_noise_equation(ar_sigma=None), slice(0, 40_000),
                         np.random.default_rng(3)).draw(size, 2021)  # fmt: skip
    assert independent.std() == pytest.approx(0.01, rel=0.03)


def test_local_ratios_are_drawn_from_their_gamma_posteriors(synthetic):
    from attrbayes.features.design import compute_features
    from attrbayes.projection.inputs import RATIO_PRIOR, build_inputs

    places = sorted(synthetic.panel.places["place"])
    inputs = build_inputs(synthetic.panel, compute_features(synthetic.panel, "municipality").frame,
                          places)  # fmt: skip
    draws = inputs.ratio_draws("births", 20_000, np.random.default_rng(5))
    shape, rate = inputs.fertility_posterior.T
    np.testing.assert_allclose(draws.mean(axis=0), inputs.fertility_ratio, rtol=0.02)
    np.testing.assert_allclose(draws.std(axis=0), np.sqrt(shape) / rate, rtol=0.05)
    assert (shape >= RATIO_PRIOR).all()


def test_death_probabilities_decline_year_by_year_from_the_last_observed():
    """q of the last observed year (2012), lowered by 1 % in 2013 and 2 % in 2014."""
    from types import SimpleNamespace

    from attrbayes.projection.engine import death_probabilities

    alt = parse_assumptions(
        '[provenance]\nsource = "x"\n[main]\nnet_immigration_rate = 0.0\ntfr = 1.5\n'
        "mortality_decline = { 2013 = 0.01, 2014 = 0.02 }\nprivate_job_growth = 0.0\n"
        "public_job_growth = 0.0\nindustry_convergence_years = 15\n", name="x", where="x",
    )["main"]  # fmt: skip
    inputs = SimpleNamespace(death_prob=np.array([[0.1, 0.8]]), death_prob_year=2012)
    np.testing.assert_allclose(death_probabilities(inputs, alt, 2012), [[0.1, 0.8]])
    np.testing.assert_allclose(death_probabilities(inputs, alt, 2014),
                               [[0.1 * 0.99 * 0.98, 0.8 * 0.99 * 0.98]])  # fmt: skip


def _path_equation(kind: str = "random_walk", *, n: int = 2, slope: float = 0.0,
                   last: float = 1.0, level: float = 1.0, sigma: float = 0.0,
                   phi: float = 0.0):  # fmt: skip
    """A fitted coefficient ending (2016) at ``last`` plus the immigration link's share."""
    from types import SimpleNamespace

    years = np.array([2015, 2016])
    end = last + slope * (0.01 - 0.006)
    return SimpleNamespace(
        intercept=np.zeros(n), path=np.tile([0.5, end], (n, 1)),
        path_immigration=np.full(n, slope), immigration_mean=0.006, immigration_last=0.01,
        fitted_years=years, path_kind=kind, path_level=np.full(n, level),
        path_sigma=np.full(n, sigma), path_phi=np.full(n, phi), sigma_year=np.zeros(n),
    )  # fmt: skip


def test_centrality_coefficient_follows_projected_immigration():
    """A fit linking the coefficient to national immigration: the last fitted value
    1.0 + 2 * (0.01 - 0.006) = 1.008 holds the link's share; in a later year with
    immigration 0.002 the walk (sd 0 here) stays at 1.0 and the link adds 2 * (0.002 -
    0.006). Without a link the coefficient stays at its last value."""
    from attrbayes.projection.engine import _Paths

    def rate(year: int) -> float:
        return 0.002

    paths = _Paths(_path_equation(slope=2.0), slice(0, 2), np.random.default_rng(0), rate)
    np.testing.assert_allclose(paths.step(2016)[0], 1.008)  # fitted year: as fitted
    np.testing.assert_allclose(paths.step(2015)[0], 0.5)
    np.testing.assert_allclose(paths.step(2017)[0], 1.0 + 2.0 * (0.002 - 0.006))
    plain = _Paths(_path_equation(), slice(0, 2), np.random.default_rng(0), rate)
    np.testing.assert_allclose(plain.step(2017)[0], 1.0)


@pytest.mark.parametrize(
    ("kind", "mean", "variance"),
    [
        # ten steps of sd 0.5 from 1.0
        ("random_walk", 1.0, 10 * 0.5**2),
        # back towards 2.0 by 0.8^10; stationary variance 0.5^2 reached up to 0.8^20
        ("ar1", 2.0 + 0.8**10 * (1.0 - 2.0), 0.5**2 * (1 - 0.8**20)),
        ("hierarchical", 2.0, 0.5**2),
        ("constant", 2.0, 0.0),
    ],
)
def test_the_process_steps_through_the_gap_years(kind, mean, variance):
    """Fitted to 2016 and asked for 2026: ten steps of the process, not one. Hand-computed
    moments of each kind (last fitted value 1.0, level 2.0, sd 0.5, persistence 0.8)."""
    from attrbayes.projection.engine import _Paths

    n = 40_000
    eq = _path_equation(kind, n=n, last=1.0, level=2.0, sigma=0.5, phi=0.8)
    paths = _Paths(eq, slice(0, n), np.random.default_rng(7), lambda year: 0.0)
    coef = paths.step(2026)[0]
    assert coef.mean() == pytest.approx(mean, abs=0.03)
    assert coef.var() == pytest.approx(variance, rel=0.03, abs=1e-12)
    assert sorted(paths.history) == list(range(2017, 2027))  # every gap year is kept
    quiet = _Paths(eq, slice(0, n), np.random.default_rng(7), lambda year: 0.0,
                   innovations=False).step(2026)[0]  # fmt: skip
    np.testing.assert_allclose(quiet, mean, rtol=1e-12)  # the expected path


def test_gap_years_take_their_own_immigration():
    """The link uses each year's rate: observed in the gap, assumed after it."""
    from attrbayes.projection.engine import _Paths

    rates = {2017: 0.010, 2018: 0.002}
    paths = _Paths(_path_equation(slope=2.0), slice(0, 2), np.random.default_rng(0),
                   rates.__getitem__)  # fmt: skip
    paths.step(2018)
    np.testing.assert_allclose(paths.history[2017], 1.0 + 2.0 * (0.010 - 0.006))
    np.testing.assert_allclose(paths.history[2018], 1.0 + 2.0 * (0.002 - 0.006))


def test_migration_profile_is_zero_without_migration():
    """Cohorts that only die (the open group 105+ keeping its own survivors) have no
    net migration at any age, the age below the open group included."""
    import pandas as pd

    from attrbayes.constants import MAX_AGE
    from attrbayes.projection.inputs import migration_profile

    ages = np.arange(MAX_AGE + 1)
    q = np.clip(0.001 * np.exp(0.08 * ages), 0, 0.6)
    start = np.full(MAX_AGE + 1, 1000.0)
    survive = start * (1 - q)
    nxt = np.concatenate([[1000.0], survive[:-1]])
    nxt[-1] += survive[-1]
    rows = [{"place": "0301", "year": y, "sex": s, "age": a, "population": v}
            for y, values in ((2000, start), (2001, nxt)) for s in ("female", "male")
            for a, v in zip(ages, values, strict=True)]  # fmt: skip
    mortality = pd.DataFrame([{"year": 2000, "sex": s, "age": a, "death_probability": q[a]}
                              for s in ("female", "male") for a in ages])  # fmt: skip
    profile = migration_profile(pd.DataFrame(rows), mortality, ["0301"], [2000])
    np.testing.assert_allclose(profile, 0.0, atol=1e-12)


def test_mobility_schedule_puts_extra_migrants_on_the_ages_that_move():
    """Two places with 100 people in every cell and no deaths (the open group dies out):
    place A gains k = 10, 0, 20 movers at each age 20-29 (both sexes) in three years,
    B none. Only ages 20-29 move with A's total, so they carry the whole schedule: slope
    (1 / 100) / (20 / 21,200) = 10.6, which is also its population-weighted mean of 1."""
    import pandas as pd

    from attrbayes.constants import MAX_AGE
    from attrbayes.projection.inputs import mobility_schedule

    ages = np.arange(MAX_AGE + 1)
    rows = []
    for year, extra in ((2000, 10), (2002, 0), (2004, 20)):
        for place in ("A", "B"):
            moved = np.where((ages >= 21) & (ages <= 30) & (place == "A"), extra, 0.0)
            for y, values in ((year, np.full(len(ages), 100.0)), (year + 1, 100.0 + moved)):
                rows += [{"place": place, "year": y, "sex": s, "age": a, "population": v}
                         for s in ("female", "male")
                         for a, v in zip(ages, values, strict=True)]  # fmt: skip
    q = np.where(ages == MAX_AGE, 1.0, 0.0)
    mortality = pd.DataFrame([{"year": y, "sex": s, "age": a, "death_probability": q[a]}
                              for y in (2000, 2002, 2004) for s in ("female", "male")
                              for a in ages])  # fmt: skip
    schedule = mobility_schedule(pd.DataFrame(rows), mortality, ["A", "B"], [2000, 2002, 2004])
    expected = np.where((ages >= 20) & (ages <= 29), 10.6, 0.0)
    np.testing.assert_allclose(schedule, np.stack([expected, expected]), atol=1e-9)


def test_fan_quantiles_survive_the_storage(fits, synthetic, tmp_path):
    """The fans read from a saved projection (stocks as whole persons per draw, flows as
    quantiles of every place and group, compressed, opened lazily) are those of the
    engine's own draws within Monte Carlo error (in fact within a person)."""
    from attrbayes.plots.fan import fan_chart_data
    from attrbayes.projection import tables as pt
    from attrbayes.projection.result import ProjectionResult

    mig, jobs = fits
    options = {"draws": 40, "to": 2020, "chunk": 20}
    run = Projector(mig, jobs, synthetic.panel, **options).run("neutral")
    draws = {key: run.values(key) for key in ("population", "births", "net_migration")}
    path = project(mig, jobs, synthetic.panel, scenarios=["neutral"], **options).save(
        tmp_path / "projection.nc"
    )  # fmt: skip
    saved = ProjectionResult.load(path)
    place = saved.places[3]
    county = str(saved.ds["county"].values[0])
    unit = pt.resolve_unit(saved, "county", county)
    members = [saved.places.index(p) for p in unit.members]
    for variable, level, code, values in (
        ("population", "place", place, draws["population"][:, 3]),
        ("births", "county", county, draws["births"][:, members].sum(axis=1)),
        ("net_migration", "nation", None, draws["net_migration"].sum(axis=1)),
    ):
        fan = fan_chart_data(saved, variable, pt.resolve_unit(saved, level, code))
        fan = fan[fan["series"] == "projection"].set_index("year")
        years = fan.index.to_numpy() - saved.ds["year"].values[0]
        for band, prob in (("median", 0.5), ("lower_80", 0.1), ("upper_95", 0.975)):
            engine = np.quantile(values[:, years].astype(float), prob, axis=0)
            gap = np.abs(fan[band].to_numpy() - engine)
            assert (gap <= 1.0).all(), (variable, band)  # whole persons, float32
    # one place reads without the rest: its values are not in memory until asked for
    assert not saved.ds["population"].variable._in_memory
    # whole persons are stored as integers and read back as float32, unchanged
    import h5py

    with h5py.File(path) as raw:
        assert raw["population"].dtype == np.int32
        assert raw["age_group_population"].dtype == np.int32
    assert saved.ds["population"].dtype == np.float32
    np.testing.assert_array_equal(saved.ds["population"].isel(scenario=0).values,
                                  np.round(draws["population"]))  # fmt: skip


def test_features_given_by_the_caller_give_the_same_projection(fits, synthetic):
    """A caller that has the panel's municipality features (the demo, a checked run
    folder) passes them on; the projection is the one that computes them itself."""
    from attrbayes.features.design import compute_features

    mig, jobs = fits
    options = {"scenarios": ["historical"], "draws": 6, "to": 2016}
    features = compute_features(synthetic.panel, "municipality")
    given = project(mig, jobs, synthetic.panel, features=features, **options)
    own = project(mig, jobs, synthetic.panel, **options)
    for name in ("population", "jobs_private", "net_migration_quantiles"):
        np.testing.assert_array_equal(given.ds[name].values, own.ds[name].values)
