"""Demographic supply (MODEL.md 2.3), migration and population rates (2, 4), centrality (2.2)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.constants import AGES, DS_AGE_MAX, DS_AGE_MIN, SEXES
from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.features import (
    demographic_supply,
    ds_absolute,
    group_centrality,
    lagged_population_growth,
    net_migration_rate,
    relative_population_growth,
    scaled_centrality,
    students_share,
)

A = len(AGES)

# -- demographic supply -------------------------------------------------------------------
#
# Employment rates e (all other ages 0):
#   female: e15 = 0.2, e16 = 0.4, e74 = 0.1
#   male:   e14 = 0.1, e15 = 0.3, e16 = 0.3, e74 = 0.5
# Death probabilities q (all other ages 0): female q16 = 0.5 (2000 only), male q74 = 0.2.
# Population of place 0101 (all other cells 0):
#   female: 14: 100, 15: 50, 16: 10, 74: 20
#   male:   13: 500 (outside 14-74), 14: 20, 15: 40, 74: 5, 80: 1000 (outside)
#
# DS_abs = sum_{s, a=14..74} pop (e[a+1] - e[a]) - pop q e[a]
#   female 14: 100 * (0.2 - 0)         = 20
#   female 15:  50 * (0.4 - 0.2)       = 10
#   female 16:  10 * (0 - 0.4) - 10 * 0.5 * 0.4 = -4 - 2 = -6
#   female 74:  20 * (0 - 0.1)         = -2          -> female 22
#   male   14:  20 * (0.3 - 0.1)       = 4
#   male   15:  40 * (0.3 - 0.3)       = 0
#   male   74:   5 * (0 - 0.5) - 5 * 0.2 * 0.5 = -2.5 - 0.5 = -3  -> male 1
#   total 23.  (male 13 would add 500 * (0.1 - 0) = 50 if it were included.)
# Place 0202: female 14: 10 -> 10 * 0.2 = 2.
# Jobs: 0101 1000, 0202 100 -> ds_share 0.023, 0.02; national 25 / 1100.


def _employment_rates() -> pd.DataFrame:
    rows = [
        ("female", 15, 0.2),
        ("female", 16, 0.4),
        ("female", 74, 0.1),
        ("male", 14, 0.1),
        ("male", 15, 0.3),
        ("male", 16, 0.3),
        ("male", 74, 0.5),
    ]
    return pd.DataFrame(rows, columns=["sex", "age", "employment_rate"])


def _mortality(years=(2000,), female_q16=(0.5,)) -> pd.DataFrame:
    rows = []
    for year, fq in zip(years, female_q16, strict=True):
        for sex in SEXES:
            for age in AGES:
                q = 0.0
                if sex == "female" and age == 16:
                    q = fq
                if sex == "male" and age == 74:
                    q = 0.2
                rows.append((year, sex, age, q))
    return pd.DataFrame(rows, columns=["year", "sex", "age", "death_probability"])


def _population(years=(2001,)) -> pd.DataFrame:
    cells = {
        "0101": [
            ("female", 14, 100),
            ("female", 15, 50),
            ("female", 16, 10),
            ("female", 74, 20),
            ("male", 13, 500),
            ("male", 14, 20),
            ("male", 15, 40),
            ("male", 74, 5),
            ("male", 80, 1000),
        ],
        "0202": [("female", 14, 10)],
    }
    rows = [
        (place, year, sex, age, float(n))
        for year in years
        for place, cs in cells.items()
        for sex, age, n in cs
    ]
    return pd.DataFrame(rows, columns=["place", "year", "sex", "age", "population"])


def _jobs(years=(2001,)) -> pd.DataFrame:
    rows = [(p, y, n) for y in years for p, n in (("0101", 1000.0), ("0202", 100.0))]
    return pd.DataFrame(rows, columns=["place", "year", "jobs"])


def _arrays():
    e = np.zeros((2, A))
    for sex, age, rate in _employment_rates().itertuples(index=False):
        e[SEXES.index(sex), age] = rate
    q = np.zeros((2, A))
    q[0, 16], q[1, 74] = 0.5, 0.2
    pop = np.zeros((2, A))
    for _, _, sex, age, n in _population().query("place == '0101'").itertuples(index=False):
        pop[SEXES.index(sex), age] = n
    return pop, e, q


def test_ds_absolute_toy_pyramid():
    pop, e, q = _arrays()
    assert ds_absolute(pop, e, q) == pytest.approx(23.0)


def test_ds_absolute_age_range_and_broadcasting():
    assert (DS_AGE_MIN, DS_AGE_MAX) == (14, 74)
    pop, e, q = _arrays()
    # Leading axes: (Y=2, S, A) death probabilities with q16 female = 0 in the second.
    q2 = np.stack([q, q])
    q2[1, 0, 16] = 0.0
    out = ds_absolute(np.stack([pop, pop]), e, q2)
    # Without the female death term (-2) DS_abs is 25.
    np.testing.assert_allclose(out, [23.0, 25.0])
    # A person aged 75 contributes nothing even where employment changes after 75.
    e75 = e.copy()
    e75[:, 76] = 1.0
    pop75 = np.zeros((2, A))
    pop75[0, 75] = 1000.0
    assert ds_absolute(pop75, e75, q) == 0.0


def test_ds_absolute_bad_shape():
    with pytest.raises(DataError, match="106 ages"):
        ds_absolute(np.zeros((2, 100)), np.zeros((2, A)), np.zeros((2, A)))


def test_demographic_supply_hand_computed():
    out = demographic_supply(_population(), _employment_rates(), _mortality(), _jobs())
    assert list(out.columns) == ["place", "year", "ds_abs", "ds_share", "ds"]
    out = out.set_index("place")
    assert out.loc["0101", "ds_abs"] == pytest.approx(23.0)
    assert out.loc["0202", "ds_abs"] == pytest.approx(2.0)
    assert out.loc["0101", "ds_share"] == pytest.approx(0.023)
    assert out.loc["0202", "ds_share"] == pytest.approx(0.02)
    national = 25.0 / 1100.0
    assert out.loc["0101", "ds"] == pytest.approx(0.023 - national)
    assert out.loc["0202", "ds"] == pytest.approx(0.02 - national)


def test_demographic_supply_nearest_mortality_year_and_inner_join():
    # Mortality for 2000 (female q16 = 0.5) and 2003 (q16 = 0): 2001 uses 2000, 2002 uses
    # 2003 (1 year away against 2). Population 2001-2002; jobs 2002-2003 only, so only
    # 2002 is returned.
    mortality = _mortality(years=(2000, 2003), female_q16=(0.5, 0.0))
    out = demographic_supply(
        _population(years=(2001, 2002)), _employment_rates(), mortality, _jobs((2002, 2003))
    )
    assert out["year"].tolist() == [2002, 2002]
    assert out.set_index("place").loc["0101", "ds_abs"] == pytest.approx(25.0)
    out = demographic_supply(
        _population(years=(2001, 2002)),
        _employment_rates(),
        mortality,
        _jobs((2001, 2002)),
    )
    assert out.set_index(["place", "year"])["ds_abs"].to_dict() == pytest.approx(
        {("0101", 2001): 23.0, ("0101", 2002): 25.0, ("0202", 2001): 2.0, ("0202", 2002): 2.0}
    )


def test_demographic_supply_zero_jobs_names_place_year():
    jobs = _jobs()
    jobs.loc[jobs["place"] == "0202", "jobs"] = 0.0
    with pytest.raises(DataError, match=r"0 jobs.*\('0202', 2001\)"):
        demographic_supply(_population(), _employment_rates(), _mortality(), jobs)


def test_demographic_supply_incomplete_mortality():
    mortality = _mortality()
    mortality = mortality[~((mortality["sex"] == "male") & (mortality["age"] == 40))]
    with pytest.raises(DataError, match=r"mortality.*\(2000, 'male'\)"):
        demographic_supply(_population(), _employment_rates(), mortality, _jobs())


def test_demographic_supply_missing_sex_in_employment_rates():
    rates = _employment_rates().query("sex == 'female'")
    with pytest.raises(DataError, match=r"employment_rates.*\['male'\]"):
        demographic_supply(_population(), rates, _mortality(), _jobs())


# -- demographic supply with one schedule per year -----------------------------------------
#
# Schedules for 2000 (the rates above) and 2002 (the same, but female e16 = 0). With the
# 2002 schedule place 0101 changes only at female ages 15 and 16:
#   female 15: 50 * (0 - 0.2) = -10 (was 10); female 16: 10 * (0 - 0) - 10 * 0.5 * 0 = 0
#   (was -6) -> DS_abs = 23 - 20 + 6 = 9. Place 0202 (female 14 only) keeps 2.
# Population 2001 lies 1 year from both schedules: the tie goes to the earlier (2000);
# 2002 uses 2002 and 2003 the nearest, 2002. Mortality 2000 for every year.


def _yearly_rates() -> pd.DataFrame:
    first = _employment_rates().assign(year=2000)
    second = _employment_rates().assign(year=2002)
    second.loc[(second["sex"] == "female") & (second["age"] == 16), "employment_rate"] = 0.0
    return pd.concat([first, second], ignore_index=True)


def test_demographic_supply_uses_the_schedule_of_the_nearest_year():
    years = (2001, 2002, 2003)
    out = demographic_supply(_population(years), _yearly_rates(), _mortality(), _jobs(years))
    ds_abs = out.set_index(["place", "year"])["ds_abs"]
    assert ds_abs.to_dict() == pytest.approx(
        {("0101", 2001): 23.0, ("0101", 2002): 9.0, ("0101", 2003): 9.0,
         ("0202", 2001): 2.0, ("0202", 2002): 2.0, ("0202", 2003): 2.0}
    )  # fmt: skip
    ds = out.set_index(["place", "year"])["ds"]
    assert ds[("0101", 2002)] == pytest.approx(9.0 / 1000 - 11.0 / 1100)


def test_demographic_supply_year_schedules_each_need_both_sexes():
    rates = _yearly_rates()
    rates = rates[~((rates["year"] == 2002) & (rates["sex"] == "male"))]
    with pytest.raises(DataError, match=r"employment_rates.*\(2002, \['male'\]\)"):
        demographic_supply(_population(), rates, _mortality(), _jobs())
    doubled = pd.concat([_yearly_rates(), _yearly_rates().iloc[:1]], ignore_index=True)
    with pytest.raises(DataError, match=r"employment_rates.*duplicated.*\(2000, 'female', 15\)"):
        demographic_supply(_population(), doubled, _mortality(), _jobs())


@settings(max_examples=40, deadline=None)
@given(
    rates=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    rate_years=st.lists(st.integers(1995, 2010), min_size=1, max_size=3, unique=True),
)
def test_year_schedules_equal_the_fixed_schedule_of_the_nearest_year(rates, rate_years):
    """DS with a year column equals DS with the nearest year's schedule alone, year by year."""
    tables = []
    for i, year in enumerate(sorted(rate_years)):
        table = _employment_rates()
        table["employment_rate"] = (table["employment_rate"] * rates[i % 3]).clip(0, 1)
        tables.append(table.assign(year=year))
    yearly = pd.concat(tables, ignore_index=True)
    years = (2001, 2002)
    got = demographic_supply(_population(years), yearly, _mortality(), _jobs(years))
    for year in years:
        near = min(rate_years, key=lambda y: (abs(y - year), y))
        fixed = yearly[yearly["year"] == near].drop(columns="year")
        want = demographic_supply(_population((year,)), fixed, _mortality(), _jobs((year,)))
        np.testing.assert_allclose(
            got[got["year"] == year][["ds_abs", "ds"]].to_numpy(),
            want[["ds_abs", "ds"]].to_numpy(),
        )


# -- net migration ------------------------------------------------------------------------


def _population_totals(values: dict[str, list[float]], first_year: int) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame(
        list(values.values()),
        index=pd.Index(list(values), name="place"),
        columns=pd.Index(range(first_year, first_year + n), name="year"),
    )


def test_net_migration_rate_hand_computed():
    # 1 Jan 2001 populations 1000 and 500; net migration during 2001 +50 and -10;
    # national net immigration rate 2001 = 1 %.
    # nm_raw = 50/1000 = 0.05 and -10/500 = -0.02; nm = 0.04 and -0.03.
    components = pd.DataFrame(
        {
            "place": ["0202", "0101"],
            "year": [2001, 2001],
            "births": [5.0, 10.0],
            "net_migration": [-10.0, 50.0],
        }
    )
    totals = _population_totals({"0101": [900.0, 1000.0], "0202": [500.0, 500.0]}, 2000)
    immigration = pd.DataFrame({"year": [2000, 2001], "net_immigration_rate": [0.0, 0.01]})
    out = net_migration_rate(components, totals, immigration)
    assert list(out.columns) == [
        "place",
        "year",
        "net_migration",
        "population",
        "nm_raw",
        "national_rate",
        "nm",
    ]
    assert out["place"].tolist() == ["0101", "0202"]
    np.testing.assert_allclose(out["population"], [1000.0, 500.0])
    np.testing.assert_allclose(out["nm_raw"], [0.05, -0.02])
    np.testing.assert_allclose(out["national_rate"], [0.01, 0.01])
    np.testing.assert_allclose(out["nm"], [0.04, -0.03])


def test_net_migration_rate_missing_immigration_year():
    components = pd.DataFrame(
        {"place": ["0101", "0101"], "year": [2000, 2001], "net_migration": [1.0, 2.0]}
    )
    totals = _population_totals({"0101": [900.0, 1000.0]}, 2000)
    immigration = pd.DataFrame({"year": [2000], "net_immigration_rate": [0.0]})
    with pytest.raises(DataError, match=r"immigration table.*\[2001\]"):
        net_migration_rate(components, totals, immigration)


def test_net_migration_rate_missing_population():
    components = pd.DataFrame({"place": ["0303"], "year": [2001], "net_migration": [1.0]})
    totals = _population_totals({"0101": [900.0, 1000.0]}, 2000)
    immigration = pd.DataFrame({"year": [2001], "net_immigration_rate": [0.0]})
    with pytest.raises(DataError, match=r"\('0303', 2001\)"):
        net_migration_rate(components, totals, immigration)


# -- population growth --------------------------------------------------------------------
#
#            2000  2001  2002  2003  2004
#   0101      100   110   121   121   121    growth  .10   .10   0    0
#   0202      100    90    81    81    81    growth -.10  -.10   0    0
#   national  200   200   202   202   202    growth   0   .01    0    0
# relative:  0101: 2001 .10, 2002 .09, 2003 0, 2004 0
#            0202: 2001 -.10, 2002 -.11, 2003 0, 2004 0
# lag mean of 3 (years t, t-1, t-2): 0101 2003 = (.10 + .09 + 0)/3 = .19/3, 2004 = .09/3
#                                    0202 2003 = -.21/3, 2004 = -.11/3

GROWTH = {"0101": [100.0, 110.0, 121.0, 121.0, 121.0], "0202": [100.0, 90.0, 81.0, 81.0, 81.0]}


def test_relative_population_growth_hand_computed():
    rel = relative_population_growth(_population_totals(GROWTH, 2000))
    assert list(rel.columns) == [2000, 2001, 2002, 2003, 2004]
    assert rel[2000].isna().all()
    np.testing.assert_allclose(rel.loc["0101", 2001:], [0.10, 0.09, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rel.loc["0202", 2001:], [-0.10, -0.11, 0.0, 0.0], atol=1e-12)


def test_lagged_population_growth_hand_computed():
    out = lagged_population_growth(_population_totals(GROWTH, 2000))
    assert list(out.columns) == ["place", "year", "pop_growth_lag"]
    lag = out.set_index(["place", "year"])["pop_growth_lag"]
    for year in (2000, 2001, 2002):
        assert np.isnan(lag[("0101", year)])
    assert lag[("0101", 2003)] == pytest.approx(0.19 / 3)
    assert lag[("0101", 2004)] == pytest.approx(0.09 / 3)
    assert lag[("0202", 2003)] == pytest.approx(-0.21 / 3)
    assert lag[("0202", 2004)] == pytest.approx(-0.11 / 3)
    lag2 = lagged_population_growth(_population_totals(GROWTH, 2000), window=2)
    lag2 = lag2.set_index(["place", "year"])["pop_growth_lag"]
    assert np.isnan(lag2[("0101", 2001)])
    assert lag2[("0101", 2002)] == pytest.approx(0.095)


def test_relative_population_growth_errors():
    totals = _population_totals(GROWTH, 2000)
    totals.loc["0202", 2002] = np.nan
    with pytest.raises(DataError, match=r"\('0202', 2002\)"):
        relative_population_growth(totals)
    gap = _population_totals(GROWTH, 2000).drop(columns=2001)
    with pytest.raises(DataError, match="not consecutive"):
        relative_population_growth(gap)
    zero = _population_totals(GROWTH, 2000)
    zero.loc["0101", 2003] = 0.0
    with pytest.raises(DataError, match=r"population is 0.*\('0101', 2004\)"):
        relative_population_growth(zero)


# -- students -----------------------------------------------------------------------------


def test_students_share():
    places = pd.DataFrame({"place": ["0101", "0202"], "students_share": [0.1, 0.02]})
    s = students_share(places)
    assert s.to_dict() == {"0101": 0.1, "0202": 0.02}
    with pytest.raises(MissingTableError, match=r"no 'students_share' column.*'students' term"):
        students_share(places.drop(columns="students_share"))


# -- centrality ---------------------------------------------------------------------------
# index 1000, 500, 600 -> /1000: 1.0, 0.5, 0.6, mean 0.7 -> 0.3, -0.2, -0.1
# groups R1 = {0101 (pop 100), 0202 (pop 300)}, R2 = {0303 (pop 50)}:
#   R1 = (100*1000 + 300*500) / 400 = 625, R2 = 600


CENTRALITY = pd.Series({"0101": 1000.0, "0202": 500.0, "0303": 600.0}, name="centrality")
POP = pd.Series({"0303": 50.0, "0101": 100.0, "0202": 300.0})
REGIONS = {"0101": "R1", "0202": "R1", "0303": "R2"}


def test_scaled_centrality_hand_computed():
    c = scaled_centrality(CENTRALITY)
    np.testing.assert_allclose(c.loc[["0101", "0202", "0303"]], [0.3, -0.2, -0.1], atol=1e-12)
    assert c.name == "centrality"


def test_group_centrality_hand_computed():
    g = group_centrality(CENTRALITY, POP, REGIONS)
    assert g.to_dict() == pytest.approx({"R1": 625.0, "R2": 600.0})
    # then scaled over the regions: 0.625, 0.6 -> mean 0.6125
    np.testing.assert_allclose(scaled_centrality(g), [0.0125, -0.0125], atol=1e-12)


def test_group_centrality_errors_name_places():
    with pytest.raises(DataError, match=r"population lacks \['0303'\]"):
        group_centrality(CENTRALITY, POP.drop("0303"), REGIONS)
    with pytest.raises(DataError, match=r"no group.*\['0303'\]"):
        group_centrality(CENTRALITY, POP, {"0101": "R1", "0202": "R1"})
    with pytest.raises(DataError, match=r"\['0202'\]"):
        scaled_centrality(CENTRALITY.where(CENTRALITY.index != "0202"))
