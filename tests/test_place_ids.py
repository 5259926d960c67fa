"""Place ids beyond Norway's 4-digit codes (issue 20): a panel declares its code scheme,
and the synthetic panel keeps valid Norwegian ids for every size it accepts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attrbayes.config import SamplerConfig
from attrbayes.data.panel import Panel, read_panel
from attrbayes.data.schema import TABLES
from attrbayes.exceptions import DataError
from attrbayes.runs import prepare_fit
from attrbayes.synthetic import MAX_PLACES, SynthConfig, _geography, synthesize_panel


@pytest.mark.parametrize("n", [12, 356, 800, 900, 1000, 2500, 5000, MAX_PLACES])
def test_synthetic_ids_are_4_digit_codes_for_every_size(n):
    geo = _geography(SynthConfig(n_places=n), np.random.default_rng(1))
    assert len(geo) == n
    assert geo["place"].is_unique
    assert geo["place"].str.fullmatch(r"\d{4}").all()
    assert (geo["place"] == "0301").sum() == 1  # the capital
    assert geo["place"].str[:2].eq(geo["county"]).all()  # a county's two digits lead


def test_more_places_than_the_ids_allow_is_a_clear_error():
    with pytest.raises(DataError, match=f"n_places must be between 12 and {MAX_PLACES}"):
        SynthConfig(n_places=MAX_PLACES + 1).validate()


def _with_ids(panel: Panel, ids: dict[str, str], scheme: str) -> Panel:
    """``panel`` with its place ids replaced (in every code column) and ``scheme`` declared."""
    tables = {}
    for name, df in panel.tables.items():
        df = df.copy()
        for column in (c.name for c in TABLES[name].columns if c.kind == "code"):
            if column in df:
                df[column] = df[column].map(ids)
        tables[name] = df
    return Panel.from_tables(dataclasses.replace(panel.manifest, code_scheme=scheme), tables)


def test_a_panel_of_other_ids_loads_and_fits(tmp_path, small_synthetic):
    codes = small_synthetic.panel.place_codes
    ids = {c: f"SE-{1000 + i} Kommun {i}" for i, c in enumerate(codes)}  # spaces inside
    panel = _with_ids(small_synthetic.panel, ids, "any")
    panel.write(tmp_path / "sweden")
    back = read_panel(tmp_path / "sweden")
    assert back.manifest.code_scheme == "any"
    assert sorted(back.place_codes) == sorted(ids.values())
    prepared = prepare_fit(back, "migration_2022", level="municipality")
    fit = prepared.model.fit(SamplerConfig(chains=1, draws=30, tune=30, seed=2))
    assert set(fit.design.frame["place"]) == set(ids.values())
    assert np.isfinite(fit.posterior["vra_t"]).all()
    assert sorted(fit.attractiveness()["place"]) == sorted(ids.values())


def test_norwegian_panels_keep_the_4_digit_check_and_say_how_to_declare_others(small_synthetic):
    ids = {c: f"X{c}" for c in small_synthetic.panel.place_codes}
    with pytest.raises(DataError, match=r"4-character digit strings.*code_scheme = \"any\""):
        _with_ids(small_synthetic.panel, ids, "norway")


@pytest.mark.parametrize("bad", ["", " SE-1", "SE-1 "])
def test_other_ids_must_be_non_empty_without_surrounding_spaces(small_synthetic, bad):
    first = small_synthetic.panel.place_codes[0]
    ids = {c: (bad if c == first else f"id-{c}") for c in small_synthetic.panel.place_codes}
    with pytest.raises(DataError, match="non-empty text without leading or trailing spaces"):
        _with_ids(small_synthetic.panel, ids, "any")


def test_an_unknown_code_scheme_is_refused(tmp_path, small_synthetic):
    small_synthetic.panel.write(tmp_path / "p")
    manifest = tmp_path / "p" / "manifest.toml"
    text = manifest.read_text().replace('code_scheme = "norway"', 'code_scheme = "iso"')
    manifest.write_text(text)
    with pytest.raises(DataError, match="code_scheme 'iso' is not one of"):
        read_panel(tmp_path / "p")


def test_the_default_panel_is_unchanged_by_the_larger_sizes():
    """The county split only grows where a county would need more than 99 numbers."""
    places = synthesize_panel(n_places=356, first_year=2000, last_year=2004).panel.places
    assert places["county"].nunique() == 11
