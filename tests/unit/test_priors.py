"""Prior sets are validated data with provenance; errors name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrbayes.exceptions import PriorError
from attrbayes.priors import PARAMETERS, available_prior_sets, load_prior_set, priors_dir

WEAK = (priors_dir() / "weakly_informative.toml").read_text(encoding="utf-8")


def test_shipped_sets_are_complete():
    assert {"weakly_informative", "published_2022"} <= set(available_prior_sets())
    for name in ("weakly_informative", "published_2022"):
        priors = load_prior_set(name)
        assert set(priors.priors) == set(PARAMETERS)
        assert priors.provenance["source"]
        assert priors.provenance["scaling"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_priors.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[provenance]", "[origin]"), "provenance"),
        (lambda t: t + '\n[wages]\ndist = "Normal"\n', r"unknown key\(s\) \['wages'\]"),
        (lambda t: t.replace("[nu]", "[nu_old]"), r"unknown key\(s\) \['nu_old'\]"),
        (
            lambda t: t.replace('[ds]\ndist = "Normal"', '[ds]\ndist = "Cauchy"'),
            "key 'ds': unknown dist 'Cauchy'",
        ),
        (
            lambda t: t.replace(
                "kwargs = { mu = 0.0, sigma = 1.0 }", "kwargs = { mu = 0.0, scale = 1.0 }"
            ),
            r"key 'ds': Normal takes \['mu', 'sigma'\], not \['scale'\]",
        ),
        (
            lambda t: t.replace(
                '[sigma_year]\ndist = "HalfNormal"\nkwargs = { sigma = 0.005 }',
                '[sigma_year]\ndist = "HalfNormal"\nkwargs = { sigma = -1.0 }',
            ),
            "key 'sigma_year': HalfNormal needs positive",
        ),
        (lambda t: t + "\n[[broken", "not valid TOML"),
    ],
)
def test_bad_prior_sets_are_refused(tmp_path, edit, message):
    path = _write(tmp_path, edit(WEAK))
    with pytest.raises(PriorError, match=message) as info:
        load_prior_set(path)
    assert "my_priors.toml" in str(info.value)


def test_missing_prior_is_named(tmp_path):
    text = WEAK.replace('[nu]\ndist = "Gamma"\nkwargs = { alpha = 2.0, beta = 0.1 }\n', "")
    with pytest.raises(PriorError, match=r"missing prior\(s\) for \['nu'\]"):
        load_prior_set(_write(tmp_path, text))


def test_unknown_name_lists_the_sets():
    with pytest.raises(PriorError, match=r"available: \[.*weakly_informative"):
        load_prior_set("optimistic")


def test_a_set_without_the_contextual_priors_still_loads(tmp_path):
    """Sets written before contextual terms existed lack their priors: they load, and only
    a spec that needs one is refused, naming it."""
    text = (priors_dir() / "weakly_informative.toml").read_text(encoding="utf-8")
    start = text.index("[vra_t_mean]")
    old = text[:start] + text[text.index("[students]", start) :]
    path = tmp_path / "old.toml"
    path.write_text(old, encoding="utf-8")
    priors = load_prior_set(str(path))
    assert "ds_mean" not in priors.priors
    with pytest.raises(PriorError, match=r"no prior for 'ds_mean'.*\[ds_mean\]"):
        priors["ds_mean"]
