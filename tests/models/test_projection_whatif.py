"""What-if projections: job shocks, custom attractiveness levels and the target solver,
on the small demo-like run (12 places, prior draws)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.data.panel import read_panel
from attrbayes.exceptions import SpecError
from attrbayes.features.vra import CommutingWeights
from attrbayes.projection.engine import (
    NEIGHBOUR_WEIGHT,
    Intervention,
    JobShock,
    Projector,
    project,
    shock_neighbours,
)
from attrbayes.projection.scenarios import CustomScenario, Level, check_scenarios
from attrbayes.projection.targets import (
    MAX_RATE,
    Target,
    TargetSolver,
    placing,
    reach_target,
)
from attrbayes.runs import load_fit

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def runs(small_run_dir):
    return (load_fit(small_run_dir / "migration_2022"), load_fit(small_run_dir / "jobs_2022"),
            read_panel(small_run_dir / "panel"))  # fmt: skip


@pytest.fixture(scope="module")
def projector(runs):
    return Projector(*runs, draws=25, to=2025, chunk=10, pyramid_years=())  # odd: a median draw


@pytest.fixture(scope="module")
def baseline(projector):
    return projector.run("neutral")


def _jobs(projector, place: str, year: int, jobs: float) -> Intervention:
    values = np.zeros((projector.n, len(projector.places)))
    values[:, projector.places.index(place)] = jobs
    return Intervention(jobs={year: values})


def test_a_shock_of_zero_changes_nothing(runs, projector):
    place = projector.places[3]
    plain = project(*runs, draws=24, to=2025, chunk=10, scenarios=["neutral", "high"])
    shocked = project(*runs, draws=24, to=2025, chunk=10, scenarios=["neutral", "high"],
                      job_shocks=[JobShock(place, 2013, 0.0)])  # fmt: skip
    for variable in ("population", "jobs_private", "net_migration_quantiles",
                     "age_group_population"):  # fmt: skip
        np.testing.assert_array_equal(shocked.ds[variable].values, plain.ds[variable].values)
    assert float(np.abs(shocked.ds["shock_population_effect"]).max()) == 0.0
    assert shocked.ds["effect_place"].values[0] == place


def test_a_shock_where_nobody_commutes_moves_only_that_place(projector):
    place = projector.places[5]
    p = projector.places.index(place)
    frame = projector.inputs.weights.to_frame()
    frame.iloc[p, :] = 0.0
    frame.iloc[:, p] = 0.0
    frame.iloc[p, p] = 1.0  # its residents work there, and nobody else does
    frame = frame.div(frame.sum(axis=1), axis=0)  # others' shares there go elsewhere
    weights = CommutingWeights.from_frame(frame, projector.inputs.weights.year)
    isolated = dataclasses.replace(projector.inputs, weights=weights)
    alone = Projector.__new__(Projector)
    alone.__dict__.update({**projector.__dict__, "inputs": isolated})
    base = alone.run("neutral")
    shocked = alone.run("neutral", intervention=_jobs(alone, place, 2013, 300.0),
                        replay=base.controls)  # fmt: skip
    others = [i for i in range(len(alone.places)) if i != p]
    for variable in ("population", "jobs_private", "net_migration"):
        np.testing.assert_array_equal(shocked.values(variable)[:, others],
                                      base.values(variable)[:, others])  # fmt: skip
    jobs_gap = shocked.out["jobs_private"][:, p] - base.out["jobs_private"][:, p]
    t = list(alone.years).index(2013)
    np.testing.assert_allclose(jobs_gap[:, t], 300.0, rtol=1e-4)  # in the year of the shock
    assert np.all(jobs_gap[:, :t] == 0)
    assert np.abs(shocked.out["population"][:, p, -1] - base.out["population"][:, p, -1]).max() > 0


def test_a_shock_reaches_the_commuting_neighbours(projector, baseline):
    place = projector.places[0]
    shocked = projector.run("neutral", intervention=_jobs(projector, place, 2013, 500.0),
                            replay=baseline.controls)  # fmt: skip
    moved = np.abs(shocked.out["population"][:, :, -1] - baseline.out["population"][:, :, -1])
    shares = projector.inputs.weights.column(place)
    neighbours = shock_neighbours(projector.inputs, [place])
    assert neighbours[0] == place
    assert all(shares[projector.places.index(c)] >= NEIGHBOUR_WEIGHT for c in neighbours[1:])
    listed = [shares[projector.places.index(c)] for c in neighbours[1:]]
    assert listed == sorted(listed, reverse=True)
    commuters = [i for i, s in enumerate(shares) if s > 0 and projector.places[i] != place]
    assert moved[:, commuters].max() > 0  # through VRA


def test_job_shocks_are_checked(runs, projector):
    with pytest.raises(SpecError, match="CODE:YEAR"):
        JobShock.parse("0301-2027-+500")
    assert JobShock.parse("0301:2027:-1200") == JobShock("0301", 2027, -1200.0)
    with pytest.raises(SpecError, match="not in the fits"):
        project(*runs, draws=4, to=2015, job_shocks=[JobShock("9999", 2013, 1)])
    with pytest.raises(SpecError, match="projected year"):
        project(*runs, draws=4, to=2015, job_shocks=[JobShock(projector.places[0], 2030, 1)])


def test_custom_levels(runs):
    kwargs = {"draws": 12, "to": 2020, "chunk": 12}
    zero = CustomScenario(Level(rate=0.0), Level(rate=0.0))
    both = project(*runs, scenarios=["neutral", "high", "custom"], custom=zero, **kwargs)
    # a what-if at 0 is neutral where no national population path holds (synthetic set)
    custom, neutral = (both.ds["population"].sel(scenario=s) for s in ("custom", "neutral"))
    np.testing.assert_allclose(custom, neutral, rtol=1e-6)
    at_80 = CustomScenario(Level(percentile=80), Level(percentile=80))
    high = project(*runs, scenarios=["high", "custom"], custom=at_80, **kwargs)
    np.testing.assert_array_equal(high.ds["population"].sel(scenario="custom"),
                                  high.ds["population"].sel(scenario="high"))  # fmt: skip
    up = project(*runs, scenarios=["custom"], custom=CustomScenario(Level(rate=0.01)), **kwargs)
    gain = up.ds["population"].isel(scenario=0) - both.ds["population"].sel(scenario="neutral")
    assert float(gain.isel(year=-1).min()) > 0  # +1 % a year adds people in every place
    assert "residential +1.00 % a year" in up.ds.attrs["custom_scenario"]


def test_custom_levels_are_checked():
    with pytest.raises(SpecError, match="not both"):
        Level(rate=0.01, percentile=50)
    with pytest.raises(SpecError, match="0-100"):
        Level(percentile=120)
    with pytest.raises(SpecError, match="plausible"):
        Level(rate=0.5)
    with pytest.raises(SpecError, match="needs a level"):
        check_scenarios(["custom"])
    with pytest.raises(SpecError, match="needs --scenario custom"):
        check_scenarios(["neutral"], CustomScenario(Level(rate=0.01)))


@pytest.mark.parametrize("lever", ["attractiveness", "jobs"])
def test_a_target_at_the_neutral_median_needs_about_nothing(projector, baseline, lever):
    """(The prior draws of this run give VRA slopes of both signs, so the jobs a draw needs
    may go either way; the attractiveness always adds people.)"""
    place = projector.places[2]
    p, t = projector.places.index(place), 8  # 2018
    neutral = baseline.out["population"][:, p, t].astype(float)
    solver = TargetSolver(projector, Target(place, 2018, float(np.median(neutral))),
                          baseline=baseline)  # fmt: skip
    solution = solver.solve(lever)
    level = solution.level
    solved = np.isfinite(level)
    assert solved.mean() >= 0.5
    if lever == "attractiveness":  # about 0; draws above the target need less, below more
        # (unreachable draws count, at -inf or +inf by the direction they need)
        assert abs(float(np.median(level[~np.isnan(level)]))) < 1e-5
        gap = neutral - solver.value
        clear = solved & (np.abs(gap) > solver.tolerance)
        assert np.all(np.sign(level[clear]) == -np.sign(gap[clear]))
    # and the solved level does reach the target in its draw
    residual, _ = solver.evaluate(lever, np.where(solved, level, 0.0))
    assert np.all(np.abs(residual[solved]) <= solver.tolerance)


def test_hand_case_one_year_of_attractiveness(projector, baseline):
    """One year to the target: the needed rate is the gap over the base population (the
    extra migrants of a year are rate x population on 1 January)."""
    place = projector.places[4]
    p = projector.places.index(place)
    size = baseline.out["population"][:, p, 0].astype(float)
    nxt = baseline.out["population"][:, p, 1].astype(float)
    target = float(np.median(nxt)) + 25.0
    solver = TargetSolver(projector, Target(place, 2011, target), baseline=baseline)
    level = solver.solve("attractiveness").level
    expected = (target - nxt) / size
    inside = np.abs(expected) < MAX_RATE
    assert inside.sum() >= 10
    np.testing.assert_allclose(level[inside], expected[inside], rtol=1e-3, atol=1e-6)
    assert np.all(level[~inside] == np.sign(expected[~inside]) * np.inf)  # beyond the bounds


def test_reach_target_keeps_children(projector):
    place = projector.places[1]
    result = reach_target(projector, Target(place, 2020, None, "0-15"),
                          scenarios=["neutral", "high", "low"])  # fmt: skip
    assert result.value == result.base_value > 0
    summary = result.summary()
    assert list(summary["measure"].str.contains("attractiveness"))[:2] == [True, True]
    probs = result.probabilities.set_index("scenario")["probability"]
    assert set(probs.index) == {"neutral", "high", "low"}
    assert probs["high"] >= probs["low"]
    assert "needed attractiveness" in result.projection.scenarios
    assert "keep the number aged 0-15 at" in result.text()


def test_placing_among_places():
    levels = pd.DataFrame({"recent": [0.0, 0.001, 0.002, 0.003],
                           "best_sustained": [0.001, 0.002, 0.004, 0.005]})  # fmt: skip
    assert placing(np.array([0.0025, 0.0025, np.inf]), levels)["percentile"] == 75.0
    beyond = placing(np.array([0.006, 0.007, 0.008]), levels)
    assert beyond["beyond_any"]
    assert beyond["best_sustained"] == 0.005


def test_cli_target_and_shock(small_run_dir, tmp_path):
    place = str(load_fit(small_run_dir / "migration_2022").design.frame["place"].iloc[0])
    out = tmp_path / "target"
    result = runner.invoke(app, ["target", str(small_run_dir), "--place", place, "--no-decline",
                                 "--year", "2020", "--draws", "12", "--scenario", "neutral",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "residential attractiveness" in result.output
    assert (out / "target.json").is_file() and (out / "target_fan.png").is_file()  # noqa: PT018
    bad = runner.invoke(app, ["target", str(small_run_dir), "--place", place, "--keep",
                              "--population", "10"])  # fmt: skip
    assert bad.exit_code == 1
    assert "exactly one target" in bad.output
    proj = tmp_path / "proj"
    shock = runner.invoke(app, ["project", str(small_run_dir), "--draws", "8", "--to", "2020",
                                "--scenario", "neutral", "--jobs-shock", f"{place}:2013:+400",
                                "--out", str(proj)])  # fmt: skip
    assert shock.exit_code == 0, shock.output
    table = pd.read_csv(proj / "shock_effect.csv", dtype={"place": str})
    assert table["place"].iloc[0] == place
    assert set(table["variable"]) == {"population", "jobs"}
    # the projection records its fits: a target can start from it
    args = ["--population", "1", "--year", "2015", "--draws", "6", "--scenario", "neutral"]
    again = runner.invoke(app, ["target", str(proj), "--place", place, *args])
    assert again.exit_code == 0, again.output
