"""National job growth by industry in projections (MODEL.md 5) and the industry effect it
gives each place: hand-computed cases, properties, the fallback, [industry] validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attrbayes.data.panel import Panel
from attrbayes.exceptions import ProjectionError, SpecError
from attrbayes.features.design import compute_features
from attrbayes.features.shift_share import industry_effect, industry_effect_array
from attrbayes.projection.assumptions import load_assumptions, parse_assumptions
from attrbayes.projection.industry import (
    NO_JOBS_INDUSTRY_NOTE,
    IndustryHistory,
    carry_forward,
    industry_effect_path,
    industry_history,
)
from attrbayes.projection.inputs import build_inputs
from attrbayes.synthetic import SyntheticPanel

INDUSTRIES3 = ("oil_gas", "construction", "health")


def assumption_text(
    *,
    private: str = "0.0",
    convergence: int = 15,
    industry: str | None = "cap = 0.02\naverage_years = 10\n"
    "[industry.rate]\nconstruction = -0.01\n[industry.shift]\nhealth = 0.005\n",
) -> str:
    text = '[provenance]\nsource = "test"\n'
    if industry is not None:
        text += f'[industry]\nsource = "test corrections"\n{industry}\n'
    return text + (
        "[main]\nnet_immigration_rate = 0.002\ntfr = 1.5\nmortality_decline = 0.01\n"
        f"private_job_growth = {private}\npublic_job_growth = 0.005\n"
        f"industry_convergence_years = {convergence}\n"
    )


def alternative(**kwargs: object):
    return parse_assumptions(assumption_text(**kwargs), name="t", where="t.toml")["main"]


def toy_history() -> IndustryHistory:
    """2 places x 3 industries x 2010-2012. Nationally oil and gas grows 10 % a year,
    construction 0 %, health 1 %."""
    a = np.array([[100, 110, 121], [50, 50, 50], [50, 50.5, 51.005]])
    b = np.array([[0, 0, 0], [50, 50, 50], [150, 151.5, 153.015]])
    local = np.stack([a, b]).astype(float)
    return IndustryHistory(INDUSTRIES3, (2010, 2011, 2012), local.sum(axis=0), local)


def toy_inputs(history: IndustryHistory | None, last_jobs: int = 2012, effect=None):
    """The three things industry_effect_path reads from ProjectionInputs."""
    return SimpleNamespace(
        history_private=pd.DataFrame(columns=list(range(2005, last_jobs + 1))),
        industry=history,
        industry_effect=np.array([0.004, -0.002]) if effect is None else effect,
    )


def test_hand_computed_path():
    path = industry_effect_path(toy_inputs(toy_history()), alternative(), 2030)
    assert path.method == "national_industry_growth"
    assert path.years.tolist() == list(range(2013, 2031))
    assert path.effect.shape == (18, 2)
    # decade average over the two years the table has (compound): 10 %, 0 %, 1 %
    np.testing.assert_allclose(path.average.to_numpy(), [0.10, 0.0, 0.01], atol=1e-12)
    assert path.average_window == (2010, 2012)
    assert "2 years, fewer than the 10 asked" in path.notes[0]
    # oil and gas capped at +2 %, construction set to -1 %, health 1 % + 0.5 %
    np.testing.assert_allclose(path.start.to_numpy(), [0.02, -0.01, 0.015], atol=1e-12)
    # 2013: 14/15 of the way from the start rates (common rate 0)
    g = np.array([0.02, -0.01, 0.015]) * 14 / 15
    np.testing.assert_allclose(path.national_rates.loc[2013].to_numpy(), g, atol=1e-15)
    s_a = np.array([121, 50, 51.005]) / 222.005
    s_b = np.array([0, 50, 153.015]) / 203.015
    nation = np.array([121, 100, 204.02]) / 425.02
    expected = [s_a @ g - nation @ g, s_b @ g - nation @ g]
    np.testing.assert_allclose(path.at(2013), expected, rtol=1e-12)
    # 2014: jobs of 2013 carried forward at g (the shares drift), rates 13/15 of the start
    g2 = np.array([0.02, -0.01, 0.015]) * 13 / 15
    a13 = np.array([121, 50, 51.005]) * (1 + g)
    b13 = np.array([0, 50, 153.015]) * (1 + g)
    n13 = np.array([121, 100, 204.02]) * (1 + g)
    expected2 = [a13 / a13.sum() @ g2 - n13 / n13.sum() @ g2,
                 b13 / b13.sum() @ g2 - n13 / n13.sum() @ g2]  # fmt: skip
    np.testing.assert_allclose(path.at(2014), expected2, rtol=1e-12)
    # 15 years after 2012 every industry grows at the common rate: no effect any more
    np.testing.assert_allclose(path.national_rates.loc[2027].to_numpy(), 0.0, atol=1e-15)
    np.testing.assert_allclose(path.effect[path.years >= 2027], 0.0, atol=1e-14)
    assert np.abs(path.at(2026)).min() > 1e-5
    with pytest.raises(ProjectionError, match="2013-2030, not 2031"):
        path.at(2031)


def test_common_rate_is_the_national_private_job_growth():
    path = industry_effect_path(toy_inputs(toy_history()), alternative(private="0.008"), 2030)
    np.testing.assert_allclose(path.national_rates.loc[2027:].to_numpy(), 0.008, atol=1e-15)
    np.testing.assert_allclose(
        path.national_rates.loc[2013].to_numpy(),
        np.array([0.02, -0.01, 0.015]) * 14 / 15 + 0.008 / 15, atol=1e-15,
    )  # fmt: skip
    # the common rate only moves the shares: the first year's effect does not contain it
    zero = industry_effect_path(toy_inputs(toy_history()), alternative(), 2030)
    np.testing.assert_allclose(path.at(2013), zero.at(2013), rtol=1e-12)


def test_employment_rates_rule_converges_to_the_observed_national_growth():
    alt = alternative(private='"employment_rates"')
    path = industry_effect_path(toy_inputs(toy_history()), alt, 2030)
    observed = (425.02 / 400) ** 0.5 - 1
    np.testing.assert_allclose(path.common_rate.to_numpy(), observed, rtol=1e-12)
    assert any("observed national private job growth 2010-2012" in n for n in path.notes)


def test_effect_is_zero_when_all_industries_grow_alike():
    local = np.random.default_rng(3).uniform(1, 100, (4, 3, 1)) * 1.03 ** np.arange(6)
    history = IndustryHistory(INDUSTRIES3, tuple(range(2010, 2016)), local.sum(axis=0), local)
    path = industry_effect_path(toy_inputs(history, last_jobs=2015), alternative(industry=(
        "cap = 0.02\naverage_years = 10\n")), 2040)  # fmt: skip
    np.testing.assert_allclose(path.start.to_numpy(), 0.02)  # 3 % capped at 2 %
    np.testing.assert_allclose(path.effect, 0.0, atol=1e-14)


def test_observed_years_after_the_last_jobs_year_and_shorter_industry_history():
    history = toy_history()
    # jobs end before the industry table: the observed effect fills the gap
    early = industry_effect_path(toy_inputs(history, last_jobs=2011), alternative(), 2015)
    observed = industry_effect_array(history.local, history.national)
    np.testing.assert_allclose(early.at(2012), observed[:, 2])
    # industry table ends before the jobs: carried forward from 2012, said so
    late = industry_effect_path(toy_inputs(history, last_jobs=2014), alternative(), 2020)
    full = industry_effect_path(toy_inputs(history), alternative(), 2020)
    np.testing.assert_allclose(late.effect, full.effect[2:])
    assert any("jobs by industry end in 2012, before the jobs (2014)" in n for n in late.notes)


def test_fallback_equals_the_old_fade_exactly():
    effect = np.array([0.0123, -0.0047, 0.0])
    for history, alt in ((None, alternative()), (toy_history(), alternative(industry=None))):
        inputs = toy_inputs(history, last_jobs=2020, effect=effect)
        path = industry_effect_path(inputs, alt, 2050)
        assert path.method == "fade"
        assert path.years.tolist() == list(range(2021, 2051))
        for year in path.years:  # the engine's former arithmetic
            fade = max(0.0, 1 - (year - 2020) / alt.scalars["industry_convergence_years"])
            assert np.array_equal(path.at(year), effect * fade)
    assert any("no [industry] table" in n for n in path.notes)


@settings(max_examples=40, deadline=None)
@given(
    jobs=arrays(float, (3, 4, 3), elements=st.just(0.0) | st.floats(0.01, 1000)),
    rates=arrays(float, (5, 4), elements=st.floats(-0.02, 0.02)),
)
def test_projected_shares_sum_to_one_and_the_effect_nets_out(jobs, rates):
    jobs[:, :, -1] += 1.0  # every place has jobs in the last year
    history = IndustryHistory(("a", "b", "c", "d"), (1, 2, 3), jobs.sum(axis=0), jobs)
    local, national = carry_forward(history, rates)
    ahead = local[:, :, 2:]  # the last observed year and the five carried forward
    np.testing.assert_allclose((ahead / ahead.sum(axis=1, keepdims=True)).sum(axis=1), 1.0)
    assert (local >= 0).all()
    np.testing.assert_allclose(local.sum(axis=0), national, rtol=1e-12)
    effect = industry_effect_array(local, national)
    # over all places, job-weighted local effects sum to 0 (sum_k J_k (g_k - G) = 0)
    weighted = (effect[:, 3:] * local.sum(axis=1)[:, 2:-1]).sum(axis=0)
    np.testing.assert_allclose(weighted, 0.0, atol=1e-9 * national.sum(axis=0).max())


def test_the_effect_of_some_places_against_a_larger_nation():
    jobs = np.random.default_rng(5).uniform(1, 50, (5, 4, 6))
    some = industry_effect_array(jobs[:3], jobs.sum(axis=0))
    np.testing.assert_allclose(some[:, 1:], industry_effect_array(jobs)[:3, 1:])
    assert np.isnan(some[:, 0]).all()


def test_build_inputs_with_and_without_jobs_by_industry(small_synthetic: SyntheticPanel):
    panel = small_synthetic.panel
    places = sorted(panel.place_codes)
    features = compute_features(panel, "municipality")
    inputs = build_inputs(panel, features.frame, places)
    assert inputs.industry is not None
    assert NO_JOBS_INDUSTRY_NOTE not in inputs.notes
    table = panel.tables["jobs_industry"]
    assert inputs.industry.local.shape == (len(places), table["industry"].nunique(), 11)
    np.testing.assert_array_equal(inputs.industry.local, industry_history(table, places).local)
    np.testing.assert_allclose(inputs.industry.local.sum(axis=0), inputs.industry.national)
    alt = load_assumptions("synthetic")["main"]
    path = industry_effect_path(inputs, alt, 2030)
    assert path.method == "national_industry_growth"
    assert path.years[0] == 2011
    assert path.effect.shape == (20, len(places))
    assert np.isfinite(path.effect).all()

    tables = {k: v for k, v in panel.tables.items() if k != "jobs_industry"}
    tables["industry_effect"] = industry_effect(table).dropna()
    without = Panel.from_tables(panel.manifest, tables)
    old = build_inputs(without, compute_features(without, "municipality").frame, places)
    assert old.industry is None
    assert NO_JOBS_INDUSTRY_NOTE in old.notes
    np.testing.assert_array_equal(old.industry_effect, inputs.industry_effect)
    fade = industry_effect_path(old, alt, 2030)
    assert fade.method == "fade"
    assert np.array_equal(fade.at(2011), old.industry_effect * (1 - 1 / 15))


@pytest.mark.parametrize(
    ("industry", "key", "match"),
    [
        ("cap = 0.02\naverage_years = 10\nspeed = 1\n", "[industry]", "unknown key"),
        ("average_years = 10\n", "[industry]", r"missing \['cap'\]"),
        ("cap = 0\naverage_years = 10\n", "key 'cap'", r"number in \(0, 1\)"),
        ("cap = 0.02\naverage_years = 0\n", "key 'average_years'", "whole number"),
        ("cap = 0.02\naverage_years = 10\n[industry.rate]\nmining = 0.01\n",
         "key 'rate.mining'", "unknown industry"),
        ("cap = 0.02\naverage_years = 10\n[industry.rate]\noil_gas = -0.03\n",
         "key 'rate.oil_gas'", "beyond the cap"),
        ("cap = 0.02\naverage_years = 10\n[industry.shift]\nhealth = 'a lot'\n",
         "key 'shift.health'", "finite number"),
        ("cap = 0.02\naverage_years = 10\n[industry.rate]\nhealth = 0.01\n"
         "[industry.shift]\nhealth = 0.01\n", "[industry]", "both 'rate' and 'shift'"),
    ],
)  # fmt: skip
def test_bad_industry_tables_name_file_and_key(tmp_path: Path, industry, key, match):
    path = tmp_path / "bad_set.toml"
    path.write_text(assumption_text(industry=industry), encoding="utf-8")
    with pytest.raises(SpecError, match=match) as err:
        load_assumptions(path)
    assert str(path) in str(err.value)
    assert key in str(err.value)


def test_shipped_sets_carry_the_model_corrections():
    for name in ("synthetic", "norway_2024"):
        industry = load_assumptions(name)["main"].industry
        assert industry is not None
        assert industry.cap == 0.02
        assert industry.average_years == 10
        expected = {"oil_gas": -0.02, "oil_platforms": -0.02, "construction": 0.005,
                    "kindergarten_education": 0.005}  # fmt: skip
        assert industry.rate == expected
