"""The command line, end to end on small synthetic panels."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.projection.result import ProjectionResult

runner = CliRunner()


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "panel"
    result = runner.invoke(
        app, ["data", "synth", "--out", str(path), "--places", "30", "--years", "2000:2009"]
    )
    assert result.exit_code == 0, result.output
    return path


def test_synth_writes_a_valid_panel_and_refuses_to_overwrite(panel_dir):
    assert (panel_dir / "manifest.toml").is_file()
    assert (panel_dir / "truth" / "attractiveness.parquet").is_file()
    again = runner.invoke(app, ["data", "synth", "--out", str(panel_dir), "--places", "30"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    checked = runner.invoke(app, ["data", "validate", str(panel_dir)])
    assert checked.exit_code == 0, checked.output
    assert "valid" in checked.output
    assert "30 places" in checked.output


def test_ols_prints_r_style_and_writes_csv(panel_dir, tmp_path):
    csv = tmp_path / "coef.csv"
    args = ["ols", "--data", str(panel_dir), "--spec", "migration_2022", "--level",
            "municipality", "--by-year", "--years", "2004:2009", "--csv", str(csv)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Coefficients:" in out
    assert "Residual standard error" in out
    assert "years=2004-2009" in out
    assert "Year-by-year fits" in out
    assert "Point residential attractiveness (% of population), top and bottom" in out
    table = pd.read_csv(csv)
    assert list(table.columns) == ["year", "term", "estimate", "std_error", "t", "p", "r2_adj", "n"]
    assert sorted(table["year"].unique()) == list(range(2004, 2010))
    assert set(table["term"]) == {"intercept", "vra_t", "vra_t1", "vra_t2", "centrality", "ds"}


def test_ols_periods_and_subpopulations(panel_dir, tmp_path):
    csv = tmp_path / "periods.csv"
    args = ["ols", "--data", str(panel_dir), "--spec", "migration_jobs", "--periods",
            "2003:2005,2006:2009", "--subpopulations", "--csv", str(csv)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Sub-period fits" in result.output
    assert "Sub-populations" in result.output
    assert "total 60+" in result.output
    table = pd.read_csv(csv)
    assert sorted(table["period"].unique()) == ["2003-2005", "2006-2009"]


def test_ols_pooled_csv_has_no_year_column(panel_dir, tmp_path):
    csv = tmp_path / "pooled.csv"
    result = runner.invoke(
        app, ["ols", "--data", str(panel_dir), "--spec", "migration_jobs", "--csv", str(csv)]
    )
    assert result.exit_code == 0, result.output
    assert "level=region" in result.output  # the spec's default level
    assert list(pd.read_csv(csv).columns) == [
        "term",
        "estimate",
        "std_error",
        "t",
        "p",
        "r2_adj",
        "n",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--spec", "migration_1999"], "no model spec named 'migration_1999'"),
        (["--spec", "migration_jobs", "--years", "1990:2000"], "no year in 1990-2000"),
        (["--spec", "migration_jobs", "--level", "parish"], "level must be one of"),
        (["--spec", "migration_jobs", "--se", "magic"], "cov_type must be"),
    ],
)
def test_ols_errors_are_clear(panel_dir, extra, message):
    result = runner.invoke(app, ["ols", "--data", str(panel_dir), *extra])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_missing_panel_is_reported(tmp_path):
    result = runner.invoke(app, ["ols", "--data", str(tmp_path), "--spec", "migration_jobs"])
    assert result.exit_code == 1
    assert "no panel manifest" in result.output


@pytest.mark.slow
def test_demo_runs_on_the_default_panel(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--quick"])
    assert result.exit_code == 0, result.output
    for name in ("migration_jobs", "migration_2019", "migration_2019_jobcent", "migration_2022"):
        assert f"{name} (region level)" in result.output
    assert "published_2022" in result.output
    coef = pd.read_csv(tmp_path / "demo" / "ols_coefficients.csv")
    assert set(coef["spec"]) == {
        "migration_jobs", "migration_2019", "migration_2019_jobcent", "migration_2022"
    }  # fmt: skip
    assert (tmp_path / "demo" / "panel" / "manifest.toml").is_file()
    assert "OLS vs posterior vs truth" in result.output
    assert "diagnostics gate" in result.output
    assert (tmp_path / "demo" / "migration_2022" / "fit.nc").is_file()
    assert (tmp_path / "demo" / "migration_2022" / "centrality_path.png").is_file()
    assert (tmp_path / "demo" / "jobs_2022" / "fit.nc").is_file()
    assert "Population by centrality class" in result.output
    for chart in ("fan_nation.png", "fan_class6.png", "fan_0301.png"):
        assert (tmp_path / "demo" / "projection" / chart).stat().st_size > 10_000
    html = (tmp_path / "demo" / "report" / "0301.html").read_text(encoding="utf-8")
    assert 'lang="nb"' in html
    assert (tmp_path / "demo" / "report" / "0301.xlsx").is_file()
    # the demo directory is what `attrbayes project` reads without further options
    again = runner.invoke(app, ["project", str(tmp_path / "demo"), "--out",
                                str(tmp_path / "proj"), "--draws", "20", "--to", "2026",
                                "--scenario", "neutral", "--scenario", "high",
                                "--pyramid-years", "2025,2026", "--pyramids", "0301"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "Projecting to 2026" in again.output
    assert "neutral: draws 1-10 of 20" in again.output  # two chunks, side by side
    assert "neutral: draws 11-20 of 20" in again.output
    table = pd.read_csv(tmp_path / "proj" / "population.csv", dtype={"place": str})
    assert set(table["scenario"]) == {"neutral", "high"}
    assert set(table["year"]) == {2023, 2024, 2025, 2026}
    saved = ProjectionResult.load(tmp_path / "proj" / "projection.nc")
    assert list(saved.ds["pyramid_year"].values) == [2025, 2026]
    assert list(saved.ds["pyramid_place"].values) == ["0301"]
    assert "births" not in saved.ds
    assert "births_quantiles" in saved.ds
    # per-draw pyramids of 0301 give any age grouping; other places have 1 and 5 years
    fan = runner.invoke(app, ["fan", str(tmp_path / "proj"), "--place", "0301", "--out",
                              str(tmp_path / "f.png"), "--pyramid", "2026", "--five-year",
                              "--variable", "births"])  # fmt: skip
    assert fan.exit_code == 0, fan.output
    assert (tmp_path / "f_pyramid_2026_high.png").stat().st_size > 10_000
    bad_years = runner.invoke(app, ["project", str(tmp_path / "demo"), "--out",
                                    str(tmp_path / "p3"), "--draws", "5", "--to", "2026",
                                    "--pyramid-years", "2030"])  # fmt: skip
    assert bad_years.exit_code == 1
    assert "pyramid years [2030] are outside 2023-2026" in bad_years.output
    assert not (tmp_path / "p3" / "projection.nc").exists()
    bad = runner.invoke(app, ["project", str(tmp_path / "demo" / "migration_2022"),
                              "--out", str(tmp_path / "p2")])  # fmt: skip
    assert bad.exit_code == 1
    assert "give the jobs run (--jobs) and the panel (--data)" in bad.output
    # maps: a tile chart of attractiveness, a choropleth of P(growth) on a tiny boundary file
    tiles = runner.invoke(app, ["map", str(tmp_path / "demo" / "migration_2022"),
                                "--out", str(tmp_path / "att.png")])  # fmt: skip
    assert tiles.exit_code == 0, tiles.output
    assert (tmp_path / "att.png").stat().st_size > 10_000
    square = [[[10, 60], [11, 60], [11, 61], [10, 61], [10, 60]]]
    geojson = tmp_path / "b.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kommunenummer": "0301"},
         "geometry": {"type": "Polygon", "coordinates": square}}]}))  # fmt: skip
    chosen = runner.invoke(app, ["map", str(tmp_path / "demo" / "projection"), "--value",
                                 "probability", "--boundaries", str(geojson), "--out",
                                 str(tmp_path / "p.png")])  # fmt: skip
    assert chosen.exit_code == 0, chosen.output
    assert "have no polygon" in chosen.output
    wrong = runner.invoke(app, ["map", str(tmp_path / "demo" / "projection"), "--value",
                                "attractiveness", "--out", str(tmp_path / "w.png")])  # fmt: skip
    assert wrong.exit_code == 1
    assert "needs a fit" in wrong.output


def test_build_real_and_replicate(shared_raw, tmp_path):
    out = tmp_path / "real"
    result = runner.invoke(app, ["data", "build-real", "--raw", str(shared_raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "356 places, 85 regions, years 2003-2026" in result.output
    assert "population 1 Jan 2016, Oslo 0301: 658,390" in result.output
    assert (out / "BUILD_REPORT.md").read_text().startswith("# Real panel, 2020 structure")
    again = runner.invoke(app, ["data", "build-real", "--raw", str(shared_raw), "--out", str(out)])
    assert again.exit_code == 1
    assert "already exists" in again.output
    csv = tmp_path / "replication.csv"
    rep = runner.invoke(app, ["replicate", "--data", str(out), "--csv", str(csv)])
    assert rep.exit_code == 0, rep.output
    assert "Years fitted at region level: 2006-2022 without 2017-2019" in rep.output
    assert "Not refitted: migration_2019_jobcent" in rep.output  # the job-only index is not public
    table = pd.read_csv(csv)
    ds = table[(table["spec"] == "migration_2022") & (table["term"] == "ds")].iloc[0]
    assert ds["region_estimate"] < 0  # DS from the assembled employment schedule
    assert set(table["spec"]) == {"migration_jobs", "migration_2019", "migration_2019_jobcent",
                                  "migration_2022"}  # fmt: skip
    assert {"published", "region_estimate", "municipality_estimate"} <= set(table.columns)


def test_build_real_names_a_missing_raw_folder(tmp_path):
    result = runner.invoke(
        app, ["data", "build-real", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "raw data folder not found" in result.output


@pytest.mark.slow
def test_demo_real_runs_on_the_shared_raw_files(shared_raw, tmp_path):
    out = tmp_path / "demo-real"
    args = ["demo", "--real", str(shared_raw), "--out", str(out), "--quick"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "The published OLS versions refitted on the real panel" in result.output
    assert "top and bottom 10 municipalities" in result.output
    assert (out / "panel" / "BUILD_REPORT.md").is_file()
    assert (out / "replication.csv").is_file()
    assert (out / "migration_2022" / "fit.nc").is_file()
    assert (out / "migration_2022" / "centrality_path.png").is_file()
    assert "2006-2022 without 2017-2019" in " ".join(result.output.split())
