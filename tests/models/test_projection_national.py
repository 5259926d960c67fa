"""The engine's national control (a national population path met per draw) and national
job growth from employment rates, on a small synthetic panel with prior-draw fits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from attrbayes.config import SamplerConfig
from attrbayes.constants import MAX_AGE
from attrbayes.exceptions import SpecError
from attrbayes.features.design import compute_features
from attrbayes.projection.assumptions import load_assumptions, parse_assumptions
from attrbayes.projection.engine import _check_job_rules, _NationalJobs, project
from attrbayes.projection.inputs import build_inputs
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import synthesize_panel

BASE, TO = 2010, 2024
CONTROLLED = ["neutral", "historical", "historical_constant"]


def _set(tmp_path, name: str, extra: str = "", jobs: str = "0.008") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        '[provenance]\nsource = "test"\n[main]\n'
        "net_immigration_rate = { 2010 = 0.005, 2024 = 0.002 }\ntfr = 1.6\n"
        f"mortality_decline = 0.01\nprivate_job_growth = {jobs}\npublic_job_growth = {jobs}\n"
        f"industry_convergence_years = 15\n{extra}",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(scope="module")
def synthetic():
    return synthesize_panel(n_places=12, first_year=2000, last_year=BASE, seed=11)


@pytest.fixture(scope="module")
def fits(synthetic):
    config = SamplerConfig(sampler="prior", chains=2, draws=40, seed=5)
    mig = run_fit(prepare_fit(synthetic.panel, "migration_2022", level="municipality"), config)
    jobs = run_fit(prepare_fit(synthetic.panel, "jobs_2022"), config)
    return mig, jobs


@pytest.fixture(scope="module")
def target(synthetic):
    n0 = float(synthetic.panel.population_totals()[BASE].sum())
    return {2012: n0 * 1.01, 2020: n0 * 1.08, TO: n0 * 1.05}  # up, then down


def _last_schedule(panel):
    """The employment rates by sex and age held constant: the last year's, where the
    table has years."""
    rates = panel.tables["employment_rates"]
    if "year" in rates.columns:
        rates = rates[rates["year"] == rates["year"].max()].drop(columns="year")
    return rates[["sex", "age", "employment_rate"]]


def _national(ds):
    return ds["population"].astype(float).sum("place")


def test_the_nation_meets_the_path_in_every_draw(fits, synthetic, target, tmp_path):
    mig, jobs = fits
    path = "{ " + ", ".join(f"{y} = {v!r}" for y, v in target.items()) + " }"
    name = _set(tmp_path, "controlled", f"national_population = {path}\n")
    ds = project(
        mig, jobs, synthetic.panel, assumptions=name, draws=30, to=TO, chunk=15, flow_draws=True
    ).ds
    assert ds.attrs["national_control"] == 1
    alt = load_assumptions(name)["main"]
    years = np.arange(2012, TO + 1)
    goal = alt.path("national_population", years)
    nation = _national(ds).sel(year=years)
    half_a_person_each = 0.5 * ds.sizes["place"]  # stocks are stored in whole persons
    for scenario in CONTROLLED:
        off = np.abs(nation.sel(scenario=scenario) - goal)
        assert float(off.max()) <= half_a_person_each, scenario
    # before the path, national net immigration is the assumed rate (up to the leavers a
    # cohort cannot lose, which stay there as before)
    rate = ds["national_net_immigration_rate"].sel(scenario="neutral")
    assumed = alt.path("net_immigration_rate", np.array([BASE]))[0]
    np.testing.assert_allclose(rate.sel(year=BASE), assumed, rtol=1e-3)
    # the stored rate is the realised one, per draw
    flows = ds["net_migration"].astype(float).sum("place") / _national(ds)
    np.testing.assert_allclose(rate.isel(year=slice(0, -1)),
                               flows.sel(scenario="neutral").isel(year=slice(0, -1)),
                               rtol=1e-4, atol=1e-7)  # fmt: skip
    assert bool(rate.isel(year=-1).isnull().all())
    # high and low are per-place what-ifs: not held to the national path
    for scenario in ("high", "low"):
        assert float(np.abs(nation.sel(scenario=scenario) / goal - 1).max()) > 1e-4
    # accounting still holds per place and draw
    pop = ds["population"].astype(float)
    change = (pop.shift(year=-1) - pop).isel(year=slice(0, -1))
    flow = (ds["births"] - ds["deaths"] + ds["net_migration"]).astype(float)
    assert float(np.abs(change - flow.isel(year=slice(0, -1))).max()) < 1e-3 * float(pop.max())
    assert bool((pop >= 0).all())


def test_a_path_equal_to_the_free_run_changes_nothing(fits, synthetic, tmp_path):
    """One draw: the uncontrolled run's national totals as the target give the same
    projection (births and deaths computed before the migrants, same random numbers)."""
    mig, jobs = fits
    common = {"draws": 1, "to": TO, "scenarios": CONTROLLED, "noise": True, "flow_draws": True}
    free = project(mig, jobs, synthetic.panel, assumptions=_set(tmp_path, "free"), **common).ds
    assert free.attrs["national_control"] == 0
    totals = _national(free).sel(scenario="neutral").isel(draw=0)
    pairs = zip(totals["year"].values, totals.values, strict=True)
    path = "{ " + ", ".join(f"{int(y)} = {float(v)!r}" for y, v in pairs) + " }"
    same = _set(tmp_path, "same", f"national_population = {path}\n")
    steered = project(mig, jobs, synthetic.panel, assumptions=same, **common).ds
    for variable in ("population", "births", "deaths", "net_migration", "jobs_private"):
        a = free[variable].sel(scenario="neutral").astype(float)
        b = steered[variable].sel(scenario="neutral").astype(float)
        # the target is the stored totals (whole persons per place): the control makes up
        # at most half a person per place a year, shared out over the places
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=0.5 * free.sizes["place"],
                                   err_msg=variable)  # fmt: skip


def test_job_growth_from_employment_rates_in_the_projection(fits, synthetic, tmp_path):
    mig, jobs = fits
    name = _set(tmp_path, "jobs", jobs='"employment_rates"')
    years = list(range(BASE, 2016))
    ds = project(mig, jobs, synthetic.panel, assumptions=name, draws=10, to=2015,
                 scenarios=["neutral"], pyramid_years=years,
                 pyramid_places=sorted(mig.design.frame["place"].unique())).ds  # fmt: skip
    assert ds.attrs["public_job_growth"] == "employment_rates"
    rates = _last_schedule(synthetic.panel).set_index(["sex", "age"])
    e = rates["employment_rate"].to_xarray().reindex(age=np.arange(MAX_AGE + 1)).fillna(0.0)
    employed = (ds["pyramid"].astype(float) * e).sum(["pyramid_place", "sex", "age"])
    employed = employed.sel(scenario="neutral").rename(pyramid_year="year")
    public = ds["jobs_public"].sel(scenario="neutral").astype(float).sum("place")
    for year in range(BASE + 1, 2016):
        expected = employed.sel(year=year) / employed.sel(year=year - 1)
        got = public.sel(year=year) / public.sel(year=year - 1)
        # public jobs are stored in whole persons per place (the pyramid unrounded)
        np.testing.assert_allclose(got, expected, rtol=ds.sizes["place"] / float(public.min()))
    # the observed years' employed persons come from the panel's population table
    features = compute_features(synthetic.panel, "municipality")
    inputs = build_inputs(synthetic.panel, features.frame, sorted(synthetic.panel.place_codes))
    pop = synthetic.panel.tables["population"].merge(
        _last_schedule(synthetic.panel), on=["sex", "age"], how="left"
    )
    by_hand = (pop["population"] * pop["employment_rate"].fillna(0.0)).groupby(pop["year"]).sum()
    assert inputs.national_employed is not None
    for year, value in by_hand.items():
        assert inputs.national_employed[int(year)] == pytest.approx(value, rel=1e-9)


def _alternative(jobs: str):
    text = (
        '[provenance]\nsource = "t"\n[main]\nnet_immigration_rate = 0.0\ntfr = 1.5\n'
        f"mortality_decline = 0.0\nprivate_job_growth = {jobs}\npublic_job_growth = 0.01\n"
        "industry_convergence_years = 15\n"
    )
    return parse_assumptions(text, name="t", where="t.toml")["main"]


def test_employment_rate_growth_by_hand():
    """Two sexes, ages 0..105; rates 0.5 (women 30) and 0.8 (men 40)."""
    employment = np.zeros((2, MAX_AGE + 1))
    employment[0, 30], employment[1, 40] = 0.5, 0.8
    inputs = SimpleNamespace(employment=employment, base_year=2020,
                             national_employed={2018: 100.0, 2019: 104.0})  # fmt: skip
    jobs = _NationalJobs(inputs, _alternative('"employment_rates"'), d=2)
    # observed years: 104 / 100 - 1
    np.testing.assert_allclose(jobs.growth("private_job_growth", 2019), 0.04)
    # public stays on its path
    assert jobs.growth("public_job_growth", 2019) == pytest.approx(0.01)
    pop = np.zeros((2, 3, 2, MAX_AGE + 1), dtype=np.float32)  # draws, places, sexes, ages
    pop[:, 0, 0, 30] = 100.0  # 50 employed women in place 0
    pop[:, 2, 1, 40] = 100.0  # 80 employed men in place 2
    pop[:, 1, 1, 70] = 1000.0  # nobody employed at 70
    jobs.observe(2020, (pop * employment).sum(axis=(2, 3)))  # employed persons by place
    np.testing.assert_allclose(jobs.growth("private_job_growth", 2020), 130.0 / 104.0 - 1)
    pop[1, 2, 1, 40] = 150.0  # draw 1: 40 more men employed by 2021
    jobs.observe(2021, (pop * employment).sum(axis=(2, 3)))
    growth = jobs.growth("private_job_growth", 2021)
    assert growth.shape == (2, 1)
    np.testing.assert_allclose(growth[:, 0], [0.0, 170.0 / 130.0 - 1])


def test_employment_rules_need_employment_rates():
    alt = _alternative('"employment_rates"')
    history = SimpleNamespace(columns=[2018, 2019])
    inputs = SimpleNamespace(employment=None, national_employed=None, base_year=2020,
                             history_private=history)  # fmt: skip
    with pytest.raises(SpecError, match="no employment_rates table"):
        _check_job_rules(inputs, alt, "norway_2024_ssb", "main")
    _check_job_rules(inputs, _alternative("0.01"), "plain", "main")  # numbers: no need
