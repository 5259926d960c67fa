"""The national employment schedule (attrbayes.data.employment): hand-computed small cases,
and the builder on the real raw files of ../shared/data/raw (published rates reproduced)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrbayes.constants import SEXES
from attrbayes.data.employment import (
    SOURCE_FILES,
    EmploymentSources,
    Target,
    build_schedule,
    calibrate,
    finest,
    group_rate,
    parse_group,
    read_sources,
    schedule_from_groups,
    yearly,
)
from attrbayes.data.real import RAW_FILES, BuildReport, RawData
from attrbayes.exceptions import DataError

A = 106
LONG = ["year", "sex", "lo", "hi", "rate"]


# ---------------------------------------------------------------------------------------
# hand-computed small cases
# ---------------------------------------------------------------------------------------
def test_parse_group_and_finest():
    assert parse_group("15-74") == (15, 74)
    assert parse_group(" 60 ") == (60, 60)
    assert parse_group("67+") is None
    assert parse_group("74-15") is None
    assert finest([(15, 74), (15, 19), (20, 24), (15, 19)]) == [(15, 19), (20, 24)]


def test_two_groups_become_a_line_through_their_mid_points():
    # equal weights, anchors 0.4 at 22 and 0.6 at 27: e(a) = 0.4 + 0.04 (a - 22), and each
    # group's mean is the value at its mid-point, so the anchors need no rescaling
    e = schedule_from_groups([((20, 24), 0.4), ((25, 29), 0.6)])
    assert e[20] == pytest.approx(0.32)
    assert e[24] == pytest.approx(0.48)
    assert e[25] == pytest.approx(0.52)
    assert e[29] == pytest.approx(0.68)
    assert e[19] == 0
    assert e[30] == 0
    assert e[20:25].mean() == pytest.approx(0.4)
    # a jump allowed at 25: each side has one anchor and is flat
    flat = schedule_from_groups([((20, 24), 0.4), ((25, 29), 0.6)], breaks=(25,))
    np.testing.assert_allclose(flat[20:25], 0.4)
    np.testing.assert_allclose(flat[25:30], 0.6)


def test_group_means_are_kept_under_population_weights_and_own_anchors():
    weights = np.zeros(A)
    weights[20:30] = np.arange(1, 11)  # older ages weigh more
    groups = [((20, 24), 0.4), ((25, 29), 0.6)]
    # the second group's profile from two single ages (relative values 1 and 0.5)
    e = schedule_from_groups(groups, weights, anchors=[(26.0, 1.0, 1), (28.0, 0.5, 1)])
    for (lo, hi), rate in groups:
        w = weights[lo : hi + 1]
        assert (e[lo : hi + 1] * w).sum() / w.sum() == pytest.approx(rate)
    assert e[26] / e[28] == pytest.approx(2.0)  # the profile between the anchors is kept
    with pytest.raises(DataError, match="overlap"):
        schedule_from_groups([((20, 29), 0.4), ((25, 34), 0.6)])


def test_yearly_is_linear_between_points_and_flat_beyond():
    got = yearly({2005: 0.5, 2007: 0.7}, range(2003, 2011))
    assert got == pytest.approx(
        {2003: 0.5, 2004: 0.5, 2005: 0.5, 2006: 0.6, 2007: 0.7, 2008: 0.7, 2009: 0.7, 2010: 0.7}
    )


def _flat_shape(rate: float = 0.5) -> np.ndarray:
    shape = np.zeros((2, A))
    shape[:, 15:75] = rate
    return shape


def test_calibration_meets_its_targets_and_changes_nothing_when_met():
    weights = np.ones((2, A))
    shape = _flat_shape()
    same, c = calibrate(shape, weights, [Target((0, 1), (15, 74), 0.5, "x", True)])
    np.testing.assert_allclose(c, 1.0)
    np.testing.assert_allclose(same, shape)
    targets = [
        Target((0,), (15, 24), 0.3, "x", True),
        Target((1,), (15, 74), 0.7, "x", True),
        Target((0, 1), (55, 64), 0.45, "x", True),
    ]
    rates, _ = calibrate(shape, weights, targets)
    for t in targets:
        assert group_rate(rates, weights, t.group, t.sexes) == pytest.approx(t.rate)
    assert (rates[:, :15] == 0).all()
    assert (rates[:, 75:] == 0).all()


def _long(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=LONG)


def _tiny_sources() -> EmploymentSources:
    """Participation 15-44: 0.8 and 45-74: 0.7 (both sexes alike) in 2010; AKU employment
    15-74: 0.6 in 2010 and 0.66 in 2012. Nothing else."""
    part = [(2010, s, lo, hi, r) for s in SEXES
            for lo, hi, r in ((15, 44, 0.8), (45, 74, 0.7), (15, 74, 0.75))]  # fmt: skip
    aku = [(y, s, 15, 74, r) for s in SEXES for y, r in ((2010, 0.6), (2012, 0.66))]
    empty = _long([])
    return EmploymentSources(empty, _long(aku), empty, _long(part), empty)


def _uniform_population(years: range) -> pd.DataFrame:
    rows = [(y, s, a, 1000.0) for y in years for s in SEXES for a in range(A)]
    return pd.DataFrame(rows, columns=["year", "sex", "age", "population"])


def test_tiny_schedule_by_hand():
    # ratio employed/labour force 15-74 = 0.6 / 0.75 = 0.8: group rates 0.64 and 0.56,
    # anchored at 29.5 and 59.5; equal-sized groups, uniform population: the line
    # e(a) = 0.64 - 0.08 (a - 29.5) / 30 keeps both means, and 2010 (0.6) needs no factor
    report = BuildReport("2020", "tiny")
    out = build_schedule(_tiny_sources(), _uniform_population(range(2009, 2014)),
                         range(2009, 2014), report)  # fmt: skip
    assert list(out.columns) == ["year", "sex", "age", "employment_rate"]
    assert len(out) == 5 * 2 * A
    e = {y: g.pivot(index="sex", columns="age", values="employment_rate").to_numpy()
         for y, g in out.groupby("year")}  # fmt: skip
    assert e[2010][0, 15] == pytest.approx(0.64 + 0.08 * 14.5 / 30)
    assert e[2010][1, 74] == pytest.approx(0.64 - 0.08 * 44.5 / 30)
    assert e[2010][0, 14] == 0
    assert e[2010][0, 75] == 0
    w = np.ones((2, A))
    expected = {2009: 0.6, 2010: 0.6, 2011: 0.63, 2012: 0.66, 2013: 0.66}
    for year, rate in expected.items():
        for s in range(2):
            assert group_rate(e[year], w, (15, 74), [s]) == pytest.approx(rate)
    np.testing.assert_allclose(e[2013], e[2012])  # flat beyond the last year
    assert any("reproduces" in n for n in report.notes) or report.checks
    key = "employment schedule: AKU 2010-2012 reproduced, max abs error (pp)"
    assert report.checks[key] < 1e-9


def _raw_copy(tmp_path: Path, shared_raw: Path) -> Path:
    root = tmp_path / "raw"
    for key in SOURCE_FILES:
        target = root / RAW_FILES[key][0]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_raw / RAW_FILES[key][0], target)
    return root


def test_reading_errors_name_the_file_and_the_column(tmp_path, shared_raw):
    root = _raw_copy(tmp_path, shared_raw)
    file = root / RAW_FILES["employment_aku"][0]
    frame = pd.read_csv(file)
    frame.drop(columns="employed_pct_of_population").to_csv(file, index=False)
    with pytest.raises(DataError, match=r"aku_employment_rate_by_sex.*employed_pct_of_population"):
        read_sources(RawData(root))
    frame.assign(age_group=frame["age_group"].replace("15-24", "15 to 24")).to_csv(
        file, index=False
    )
    with pytest.raises(DataError, match=r"aku_employment_rate_by_sex.*'age_group'.*15 to 24"):
        read_sources(RawData(root))
    (root / RAW_FILES["employment_eurostat"][0]).unlink()
    with pytest.raises(DataError, match=r"eurostat_lfsa_ergan.*not found"):
        read_sources(RawData(root))


# ---------------------------------------------------------------------------------------
# the real raw files
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_schedule(shared_raw):
    raw = RawData(shared_raw)
    pop = raw.csv("population", {"municip", "year", "sex", "age", "pop_jan1"}, codes=("municip",))
    national = pop.groupby(["year", "sex", "age"], as_index=False)["pop_jan1"].sum()
    national = national.rename(columns={"pop_jan1": "population"})
    report = BuildReport("2020", str(shared_raw))
    out = build_schedule(read_sources(raw), national, range(2003, 2027), report)
    return out, national, read_sources(raw), report


def _rate(out, national, year, sexes, lo, hi) -> float:
    """The schedule's rate of ages lo-hi weighted with the nearest year's population."""
    pop_year = min(set(national["year"]), key=lambda y: (abs(y - year), y))
    w = national[(national["year"] == pop_year) & national["sex"].isin(sexes)
                 & national["age"].between(lo, hi)]  # fmt: skip
    e = out[(out["year"] == year)].set_index(["sex", "age"])["employment_rate"]
    values = e.reindex(pd.MultiIndex.from_frame(w[["sex", "age"]])).to_numpy()
    return float((values * w["population"].to_numpy()).sum() / w["population"].sum())


def test_real_schedule_is_a_rate_and_zero_outside_working_ages(real_schedule):
    out = real_schedule[0]
    assert sorted(set(out["year"])) == list(range(2003, 2027))
    assert out.groupby("year").size().eq(2 * A).all()
    assert out["employment_rate"].between(0, 1).all()
    outside = out[(out["age"] < 15) | (out["age"] > 74)]
    assert (outside["employment_rate"] == 0).all()
    inside = out[out["age"].between(15, 74)]
    assert (inside["employment_rate"] > 0).all()


TOL = 0.001  # 0.1 percentage point


def test_real_schedule_reproduces_every_published_broad_rate(real_schedule):
    out, national, sources, _ = real_schedule
    aku = sources.aku[sources.aku["sex"].isin(SEXES)]
    assert len(aku) == 2 * (7 * 3 + 2)
    for r in aku.itertuples(index=False):
        assert _rate(out, national, r.year, [r.sex], r.lo, r.hi) == pytest.approx(r.rate, abs=TOL)
    for r in sources.eurostat.itertuples(index=False):
        assert _rate(out, national, r.year, SEXES, r.lo, r.hi) == pytest.approx(r.rate, abs=TOL)
    # the register's rates are for both sexes: 16-74 in 2003-2004, 15-74 in 2005-2006
    reg = sources.register
    totals = reg[reg["hi"].eq(74) & reg["lo"].le(16)]
    assert sorted(totals["lo"]) == [15, 15, 16, 16]
    for r in totals.itertuples(index=False):
        assert _rate(out, national, r.year, SEXES, r.lo, r.hi) == pytest.approx(r.rate, abs=TOL)


def test_real_schedule_interpolates_between_years_and_is_flat_beyond(real_schedule):
    out, national, sources, report = real_schedule
    aku = sources.aku.set_index(["year", "sex", "lo", "hi"])["rate"]
    # 15-74 male: 2018 lies between 2017 and 2019; after 2020 it stays at 2020's
    mid = (aku[(2017, "male", 15, 74)] + aku[(2019, "male", 15, 74)]) / 2
    assert _rate(out, national, 2018, ["male"], 15, 74) == pytest.approx(mid, abs=TOL)
    for year in (2021, 2026):
        assert _rate(out, national, year, ["male"], 15, 74) == pytest.approx(
            aku[(2020, "male", 15, 74)], abs=TOL
        )
    # 25-66 female after 2017 stays at 2017's; Eurostat 55-64 after 2024 at 2024's
    assert _rate(out, national, 2022, ["female"], 25, 66) == pytest.approx(
        aku[(2017, "female", 25, 66)], abs=TOL
    )
    last = sources.eurostat.set_index("year")["rate"][2024]
    assert _rate(out, national, 2026, SEXES, 55, 64) == pytest.approx(last, abs=TOL)
    assert any("15-74 male 2014 reproduces AKU 70.9 % within 0.1 pp" in n for n in report.notes)
    assert all(v < 1e-6 for k, v in report.checks.items() if "reproduced" in k)


# ---------------------------------------------------------------------------------------
# the panel contract and the projection's constant rates
# ---------------------------------------------------------------------------------------
def _with_yearly_rates(panel, factor_last: float = 0.5) -> dict[str, pd.DataFrame]:
    """The panel's tables with one schedule per year: the fixed one, halved in the last."""
    fixed = panel.tables["employment_rates"]
    years = list(panel.manifest.years)
    yearly = pd.concat(
        [fixed.assign(year=y, employment_rate=fixed["employment_rate"]
                      * (factor_last if y == years[-1] else 1.0)) for y in years],
        ignore_index=True,
    )  # fmt: skip
    return {**panel.tables, "employment_rates": yearly}


def test_panel_accepts_a_schedule_per_year_and_checks_its_key(small_synthetic):
    from attrbayes.data.panel import Panel

    panel = small_synthetic.panel
    tables = _with_yearly_rates(panel)
    out = Panel.from_tables(panel.manifest, tables).tables["employment_rates"]
    assert list(out.columns) == ["year", "sex", "age", "employment_rate"]
    assert len(out) == len(panel.tables["employment_rates"]) * len(panel.manifest.years)
    # the old form without a year stays valid (the synthetic panel itself)
    assert "year" not in panel.tables["employment_rates"].columns
    doubled = pd.concat([tables["employment_rates"], tables["employment_rates"].iloc[:1]])
    with pytest.raises(DataError, match=r"key \['year', 'sex', 'age'\] must be unique"):
        Panel.from_tables(panel.manifest, {**tables, "employment_rates": doubled})
    rates = tables["employment_rates"]
    late = rates[rates["year"] == panel.manifest.last_year].assign(year=lambda d: d["year"] + 1)
    with pytest.raises(DataError, match=r"employment_rates.parquet, column 'year': years outside"):
        Panel.from_tables(panel.manifest, {**tables, "employment_rates": late})


def test_projection_holds_the_last_years_schedule(small_synthetic):
    from attrbayes.data.panel import Panel
    from attrbayes.features.design import compute_features
    from attrbayes.projection.inputs import build_inputs

    panel = small_synthetic.panel
    yearly = Panel.from_tables(panel.manifest, _with_yearly_rates(panel, factor_last=0.5))
    places = sorted(panel.place_codes)
    features = compute_features(panel, "municipality").frame
    fixed = build_inputs(panel, features, places).employment
    last = build_inputs(yearly, features, places).employment
    assert fixed is not None
    assert last is not None
    np.testing.assert_allclose(last, 0.5 * fixed)
