"""Pieces of the R-style printout, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from attrbayes.models.lm_text import _decimals, format_pvalue, stars


@pytest.mark.parametrize(
    ("p", "mark"), [(0.0005, "***"), (0.005, "**"), (0.03, "*"), (0.07, "."), (0.2, " ")]
)
def test_stars(p, mark):
    assert stars(p) == mark


def test_pvalues_follow_r():
    assert format_pvalue(1e-20) == "< 2e-16"
    assert format_pvalue(1e-20, floor=2.2e-16) == "< 2.2e-16"
    assert format_pvalue(6.72e-6) == "6.72e-06"
    assert format_pvalue(0.09472) == "0.0947"


def test_decimals_give_four_significant_digits_to_the_smallest():
    assert _decimals(np.array([0.136, 0.0009])) == 7
    assert _decimals(np.array([12.5, 3.25])) == 3
    assert _decimals(np.array([0.0, np.nan])) == 4
