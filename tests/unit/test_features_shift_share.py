"""Shift-share industry effect (MODEL.md 4)."""

import numpy as np
import pandas as pd
import pytest

from attrbayes.exceptions import DataError
from attrbayes.features import industry_effect, industry_effect_array

# Two places, two industries, 2000 -> 2001:
#                 ind1       ind2
#   place A    50 -> 60   50 -> 50
#   place B     0 ->  0  100 -> 90
#   national   50 -> 60  150 -> 140     total 200 -> 200
# g1 = 0.2, g2 = -10/150 = -1/15, G = 0
# A: shares .5, .5 -> .5 * (.2 - 0) + .5 * (-1/15 - 0) = .1 - 1/30 = 1/15
# B: shares 0, 1   -> -1/15
JOBS = np.array(
    [
        [[50.0, 60.0], [50.0, 50.0]],
        [[0.0, 0.0], [100.0, 90.0]],
    ]
)


def _table(jobs: np.ndarray, industries=("retail", "health")) -> pd.DataFrame:
    rows = [
        (place, 2000 + t, industry, jobs[p, k, t])
        for p, place in enumerate(["A", "B"])
        for k, industry in enumerate(industries)
        for t in range(jobs.shape[2])
    ]
    return pd.DataFrame(rows, columns=["place", "year", "industry", "jobs"])


def test_industry_effect_array_two_by_two():
    effect = industry_effect_array(JOBS)
    assert effect.shape == (2, 2)
    assert np.isnan(effect[:, 0]).all()
    np.testing.assert_allclose(effect[:, 1], [1 / 15, -1 / 15], atol=1e-12)


def test_industry_with_zero_national_base_contributes_zero():
    # Add ind3 with no jobs anywhere in 2000 and 10 in A in 2001: total 200 -> 210, G = .05.
    # A: .5 * (.2 - .05) + .5 * (-1/15 - .05) + 0 = .075 - .0583333 = 1/60
    # B: 1 * (-1/15 - .05) = -7/60
    jobs = np.concatenate([JOBS, np.array([[[0.0, 10.0]], [[0.0, 0.0]]])], axis=1)
    effect = industry_effect_array(jobs)
    np.testing.assert_allclose(effect[:, 1], [1 / 60, -7 / 60], atol=1e-12)


def test_place_with_zero_private_jobs_is_nan_at_array_level():
    jobs = JOBS.copy()
    jobs[1, :, 0] = 0.0
    effect = industry_effect_array(jobs)
    assert np.isnan(effect[1, 1])
    assert np.isfinite(effect[0, 1])


def test_industry_effect_table():
    out = industry_effect(_table(JOBS))
    assert list(out.columns) == ["place", "year", "industry_effect"]
    eff = out.set_index(["place", "year"])["industry_effect"]
    assert np.isnan(eff[("A", 2000)])
    assert eff[("A", 2001)] == pytest.approx(1 / 15)
    assert eff[("B", 2001)] == pytest.approx(-1 / 15)


def test_industry_effect_table_absent_rows_are_zero_jobs():
    # Place B has no ind1 rows at all: same result as explicit zeros.
    table = _table(JOBS)
    table = table[~((table["place"] == "B") & (table["industry"] == "retail"))]
    eff = industry_effect(table).set_index(["place", "year"])["industry_effect"]
    assert eff[("B", 2001)] == pytest.approx(-1 / 15)


def test_industry_effect_table_errors_name_place_year():
    table = _table(JOBS)
    missing = table[~((table["place"] == "B") & (table["year"] == 2001))]
    with pytest.raises(DataError, match=r"no rows for \(place, year\) = \[\('B', 2001\)\]"):
        industry_effect(missing)
    zero = table.copy()
    zero.loc[(zero["place"] == "B") & (zero["year"] == 2000), "jobs"] = 0.0
    with pytest.raises(DataError, match=r"0 private jobs.*\('B', 2001\)"):
        industry_effect(zero)
    dup = pd.concat([table, table.head(1)], ignore_index=True)
    with pytest.raises(DataError, match="duplicated"):
        industry_effect(dup)
