"""Model specs are validated data; every error names the file and key."""

from __future__ import annotations

import pytest

from attrbayes.config import available_specs, check_level, load_spec, parse_spec, parse_years
from attrbayes.exceptions import SpecError


def test_shipped_specs_load():
    names = available_specs()
    for required in (
        "migration_jobs",
        "migration_2019",
        "migration_2019_jobcent",
        "migration_2022",
        "migration_2022_students",
    ):
        assert required in names
    spec = load_spec("migration_2022")
    assert spec.terms == ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")
    assert spec.centrality == "prefer_jobs"  # the full index stands in on real panels
    assert spec.level == "region"
    assert "DS" in spec.source_text


def test_shipped_specs_carry_the_coefficient_as_an_ar1():
    """The default process of the centrality coefficient (docs/centrality_outlook.md);
    the named variants keep theirs. The schema's own default stays the random walk, so
    that a spec saved in a fit before the AR(1) keeps its meaning."""
    variants = {"migration_2022_rw": "random_walk", "migration_2019_rw": "random_walk",
                "migration_2022_yeardev": "hierarchical", "migration_2022_pooled": "constant",
                "jobs_centrality": "constant"}  # fmt: skip
    for name in available_specs():
        spec = load_spec(name)
        if spec.has_centrality:
            assert spec.time_varying.centrality == variants.get(name, "ar1"), name
    assert load_spec("migration_2022_immigration").time_varying.immigration
    assert not load_spec("migration_2022").time_varying.immigration
    saved = 'kind = "migration"\nterms = ["vra_t", "centrality"]\n'
    assert parse_spec(saved, name="old", where="x").time_varying.centrality == "random_walk"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('terms = ["vra_t"]\ncolour = "red"\n', r"key 'colour'.*allowed keys"),
        ('terms = ["vra_t", "wages"]\n', r"unknown term\(s\) \['wages'\]"),
        ('terms = ["vra_t"]\ncentrality = "half"\n', r"key 'centrality'"),
        ('terms = ["vra_t"]\nschema_version = 9\n', "schema_version 9 is not supported"),
        ('terms = ["vra_t"]\nlevel = "parish"\n', r"key 'level'"),
        ("terms = [\n", "not valid TOML"),
        ('name = "x"\nterms = ["vra_t"]\n', "'name' is taken from the file name"),
    ],
)
def test_bad_specs_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad_spec.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    assert "bad_spec.toml" in str(info.value)


def test_unknown_spec_lists_the_available_ones():
    with pytest.raises(SpecError, match=r"available: \[.*migration_2022"):
        load_spec("migration_1999")


def test_parse_years_and_levels():
    assert parse_years("2003:2021") == (2003, 2021)
    assert parse_years(None) is None
    with pytest.raises(SpecError, match="like 2003:2021"):
        parse_years("2003-2021")
    with pytest.raises(SpecError, match="after the last"):
        parse_years("2021:2003")
    with pytest.raises(SpecError, match="level must be one of"):
        check_level("parish")
