"""National assumptions tied to SSB's 2024 projection: the new assumption keys (a national
population path, job growth from employment rates), SSB's county totals summed to the
nation, and the shipped set regenerated from the raw files."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.exceptions import DataError, SpecError
from attrbayes.projection.assumptions import assumptions_dir, load_assumptions, parse_assumptions
from attrbayes.projection.ssb_national import (
    PROJECTION_FILE,
    national_targets,
    read_county_projection,
    ssb_assumptions,
)

BASE = """[provenance]
source = "test"
[main]
net_immigration_rate = 0.003
tfr = 1.5
mortality_decline = 0.01
private_job_growth = 0.008
public_job_growth = 0.005
industry_convergence_years = 15
"""


def _parse(extra: str = "", **replace: str):
    text = BASE
    for key, value in replace.items():
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} =") else line
                         for line in text.splitlines()) + "\n"  # fmt: skip
    return parse_assumptions(text + extra, name="t", where="t.toml")["main"]


def test_national_population_path_and_employment_rules_are_read():
    alt = _parse("national_population = { 2024 = 5550203, 2050 = 6114899 }\n",
                 private_job_growth='"employment_rates"',
                 public_job_growth='"employment_rates"')  # fmt: skip
    assert alt.span("national_population") == (2024, 2050)
    assert alt.path("national_population", np.array([2037]))[0] == pytest.approx(
        5550203 + (6114899 - 5550203) / 2
    )
    assert alt.rule("private_job_growth") == alt.rule("public_job_growth") == "employment_rates"
    with pytest.raises(SpecError, match="is the rule 'employment_rates', not a path"):
        alt.path("private_job_growth", np.array([2030]))
    plain = _parse()
    assert plain.span("national_population") is None
    assert plain.rule("private_job_growth") is None


@pytest.mark.parametrize(
    ("extra", "replace", "message"),
    [
        ("", {"private_job_growth": '"employment"'},
         r"t.toml, \[main\], key 'private_job_growth': unknown rule 'employment'.*rates"),
        ("", {"public_job_growth": '"EMPLOYMENT_RATES"'}, "key 'public_job_growth': unknown rule"),
        ("", {"tfr": '"employment_rates"'}, r"key 'tfr': unknown rule 'employment_rates'"),
        ("", {"net_immigration_rate": '"ssb"'}, "key 'net_immigration_rate': unknown rule"),
        ("national_population = { 2024 = -5, 2050 = 6114899 }\n", {},
         "key 'national_population': must be positive"),
        ("national_population = { 2024 = 0, 2050 = 6114899 }\n", {},
         "key 'national_population': must be positive"),
        ("national_population = 5550203\n", {}, "key 'national_population': give persons by year"),
        ("national_population = { 2024 = nan }\n", {}, "must be finite"),
        ("national_population = { 2024 = \"many\" }\n", {}, "key 'national_population': expected"),
        ("national_populaton = { 2024 = 1 }\n", {}, r"unknown key\(s\) \['national_populaton'\]"),
    ],
)  # fmt: skip
def test_bad_keys_are_errors_naming_file_and_key(extra, replace, message):
    with pytest.raises(SpecError, match=message):
        _parse(extra, **replace)


def test_the_shipped_ssb_set_loads():
    ssb = load_assumptions("norway_2024_ssb")
    assert sorted(ssb.alternatives) == ["high", "low", "main"]
    for alt in ssb.alternatives.values():
        assert alt.span("national_population") == (2024, 2050)
        assert len(alt.paths["national_population"]) == 27
        assert alt.rule("private_job_growth") == "employment_rates"
    assert "14288" in ssb.provenance["source"]
    assert ssb.provenance["vintage"] == "2024"
    assert "from-ssb" in ssb.provenance["command"]
    main = ssb["main"].path("national_population", np.array([2050]))[0]
    assert main == pytest.approx(6_114_899)


def test_county_totals_are_summed_per_alternative(tmp_path):
    csv = tmp_path / "wide.csv"
    csv.write_text(
        "Tid,A_Hoved (MMMM),A_Høy (HHMH),A_Lav (LLML),B - Bé_Hoved (MMMM),B - Bé_Høy (HHMH),"
        "B - Bé_Lav (LLML)\n2024,10,10,10,5,5,5\n2025,11,12,9,6,7,5\n", encoding="utf-8"
    )  # fmt: skip
    long = read_county_projection(csv)
    assert set(long["county"]) == {"A", "B - Bé"}
    assert len(long) == 12
    with pytest.raises(DataError, match="has \\[2\\] counties per year, expected 15"):
        national_targets(csv)
    csv.write_text("Tid,A (MMMM)\n2024,10\n", encoding="utf-8")
    with pytest.raises(DataError, match="is not 'County_Label \\(CODE\\)'"):
        read_county_projection(csv)


def test_ssb_reader_on_the_real_file(shared_file):
    path = shared_file(PROJECTION_FILE)
    long = read_county_projection(path)
    targets = national_targets(path)
    assert sorted(targets) == ["HHMH", "LLML", "MMMM"]
    assert long["county"].nunique() == 15
    for code, path_ in targets.items():
        assert sorted(path_) == list(range(2024, 2051))
        counties = long[(long["code"] == code) & (long["year"] == 2024)]["persons"]
        assert path_[2024] == counties.sum() == 5_550_203  # SSB's 1 January 2024
    assert targets["MMMM"][2050] == pytest.approx(6.11e6, rel=2e-3)
    assert targets["LLML"][2050] < targets["MMMM"][2050] < targets["HHMH"][2050]


def test_the_shipped_set_is_what_the_command_writes(shared_raw, tmp_path):
    projection = shared_raw / PROJECTION_FILE
    shipped = (assumptions_dir() / "norway_2024_ssb.toml").read_text(encoding="utf-8")
    result = ssb_assumptions(projection)
    assert result.text == shipped
    # the national run follows SSB's totals and its immigration reads as SSB's levels
    runs = result.components
    main = runs[runs["alternative"] == "main"].set_index("year")
    assert main.loc[2049, "population_next"] == pytest.approx(6_114_899, rel=1e-9)
    assert 0.002 < main["rate"].loc[2030:].mean() < 0.005
    assert 45_000 < main.loc[2024, "births"] < 60_000

    out = tmp_path / "set.toml"
    args = ["assumptions", "from-ssb", "--projection", str(projection), "--out", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert out.read_text(encoding="utf-8") == shipped
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1
    assert "pass --force" in again.output
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0
