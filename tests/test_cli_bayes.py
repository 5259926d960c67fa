"""The Bayesian commands end to end: fit, attractiveness, compare, loo."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bayes")
    panel = root / "panel"
    made = runner.invoke(
        app, ["data", "synth", "--out", str(panel), "--places", "25", "--years", "2000:2009"]
    )
    assert made.exit_code == 0, made.output
    common = ["--data", str(panel), "--level", "municipality", "--chains", "2", "--draws",
              "100", "--tune", "150"]  # fmt: skip
    hier = runner.invoke(
        app, ["fit", "--spec", "migration_2022", "--out", str(root / "h"), *common]
    )
    assert hier.exit_code == 0, hier.output
    pooled = runner.invoke(
        app,
        ["fit", "--spec", "migration_2022_pooled", "--sampler", "pymc", "--out",
         str(root / "p"), *common],
    )  # fmt: skip
    assert pooled.exit_code == 0, pooled.output
    return {"panel": panel, "hier": root / "h", "pooled": root / "p", "output": hier.output}


def test_fit_writes_the_run(runs):
    assert (runs["hier"] / "fit.nc").is_file()
    summary = pd.read_csv(runs["hier"] / "summary.csv")
    assert summary["term"].iloc[0] == "intercept"
    assert "diagnostics gate" in runs["output"]
    assert "vra_t" in runs["output"]


def test_fit_refuses_to_overwrite_and_dry_run_is_fast(runs):
    again = runner.invoke(
        app, ["fit", "--data", str(runs["panel"]), "--spec", "migration_2022",
              "--out", str(runs["hier"])],
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already exists" in again.output
    dry = runner.invoke(
        app, ["fit", "--data", str(runs["panel"]), "--spec", "migration_2022_rw", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "free parameters" in dry.output
    bad = runner.invoke(
        app, ["fit", "--data", str(runs["panel"]), "--spec", "migration_2022", "--priors",
              "optimistic", "--dry-run"],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "no prior set named 'optimistic'" in bad.output


def test_attractiveness_command(runs, tmp_path):
    csv = tmp_path / "att.csv"
    result = runner.invoke(
        app, ["attractiveness", str(runs["hier"]), "--years", "2005:2009", "--top", "3",
              "--csv", str(csv)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Residential attractiveness (% of population) 2005-2009" in result.output
    assert "P(top 3)" in result.output
    table = pd.read_csv(csv, dtype={"place": str})
    assert len(table) == 25
    assert table["place"].str.fullmatch(r"\d{4}").all()
    assert {"pct_lower_95", "persons_median", "rank_median", "p_top_3"} <= set(table.columns)


def test_compare_command(runs):
    result = runner.invoke(app, ["compare", str(runs["hier"])])
    assert result.exit_code == 0, result.output
    assert "ols_estimate" in result.output
    assert "posterior_median" in result.output
    assert (runs["hier"] / "centrality_path.png").is_file()
    assert "Pearson r with OLS" in result.output
    assert (runs["hier"] / "attractiveness_scatter.png").is_file()


def test_diagnose_command(runs):
    result = runner.invoke(app, ["diagnose", str(runs["hier"]), "--draws", "100"])
    assert result.exit_code == 0, result.output
    assert "diagnostics gate" in result.output
    assert "coverage" in result.output
    assert "p_value" in result.output


def test_loo_command(runs):
    result = runner.invoke(app, ["loo", str(runs["hier"]), str(runs["pooled"])])
    assert result.exit_code == 0, result.output
    assert "elpd" in result.output
    missing = runner.invoke(app, ["loo", str(runs["hier"])])
    assert missing.exit_code == 1
    assert "at least two fits" in missing.output


def test_strict_turns_a_failed_gate_into_exit_code_3(runs, tmp_path):
    result = runner.invoke(
        app,
        ["fit", "--data", str(runs["panel"]), "--spec", "migration_2022_pooled", "--level",
         "municipality", "--sampler", "pymc", "--chains", "1", "--draws", "30", "--tune", "30",
         "--out", str(tmp_path / "strict"), "--strict"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "diagnostics gate FAILED" in result.output
    assert (tmp_path / "strict" / "fit.nc").is_file()  # the draws are kept for inspection


def test_jobs_fit_attractiveness_and_compare(runs, tmp_path):
    out = tmp_path / "jobs"
    args = ["fit", "--data", str(runs["panel"]), "--spec", "jobs_2022", "--out", str(out),
            "--chains", "2", "--draws", "100", "--tune", "150"]  # fmt: skip
    fitted = runner.invoke(app, args)
    assert fitted.exit_code == 0, fitted.output
    assert "priors jobs_weakly_informative" in fitted.output
    summary = pd.read_csv(out / "summary.csv").set_index("term")
    assert {"industry_effect", "pop_growth_lag", "sigma_place"} <= set(summary.index)
    att = runner.invoke(app, ["attractiveness", str(out), "--top", "3"])
    assert att.exit_code == 0, att.output
    assert "Business attractiveness (% of private jobs)" in att.output
    compared = runner.invoke(app, ["compare", str(out)])
    assert compared.exit_code == 0, compared.output
    assert "industry_effect" in compared.output
    assert "r with pop_growth_lag" in compared.output
    both = runner.invoke(app, ["compare", str(runs["hier"]), "--jobs", str(out)])
    assert both.exit_code == 0, both.output
    assert "Business attractiveness, posterior median vs OLS point" in both.output
    assert (out / "business_scatter.png").is_file()
    wrong = runner.invoke(app, [*args[:5], "--priors", "weakly_informative", "--dry-run"])
    assert wrong.exit_code == 1
    assert "is for the migration model" in wrong.output
