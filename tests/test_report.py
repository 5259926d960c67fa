"""The place report (``attrbayes report``): number formatting, texts, self-containment,
key figures against the fit's own tables, the gate banner, ``--all``, the workbook, the
shared computations against the single-place functions, and the CLI's refusals.

The run is small and its draws come from the prior (``SamplerConfig(sampler="prior")``):
the report must be right for any draws, and prior draws fail the diagnostics gate (no
sampler statistics), which is what the banner tests need.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from attrbayes.attractiveness import attractiveness_table, rank_table
from attrbayes.cli import app
from attrbayes.decomposition import decompose
from attrbayes.exceptions import DataError
from attrbayes.features.design import level_data
from attrbayes.plots.attractiveness import (
    attractiveness_path_data,
    plot_attractiveness_paths,
    plot_rank,
    rank_plot_data,
)
from attrbayes.reporting import numbers as nf
from attrbayes.reporting import report as rp

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLACE = "0301"
TARGET_DRAWS = 30  # "what must happen" over few draws: the tests check wiring, not values


# -- number formatting (hand-written cases) --------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kwargs", "nb", "en"),
    [
        (0.4, {"decimals": 1, "signed": True}, "+0,4", "+0.4"),
        (-0.43, {"decimals": 1, "signed": True}, "\u22120,4", "-0.4"),
        (-0.04, {"decimals": 1, "signed": True}, "0,0", "0.0"),  # no sign on zero
        (12345, {}, "12\u202f345", "12,345"),
        (-1234567.891, {"decimals": 2}, "\u22121\u202f234\u202f567,89", "-1,234,567.89"),
        (999.96, {"decimals": 1}, "1\u202f000,0", "1,000.0"),
        (5, {"signed": True}, "+5", "+5"),
        (0, {"signed": True}, "0", "0"),
    ],
)
def test_format_number(value, kwargs, nb, en):
    assert nf.format_number(value, "nb", **kwargs) == nb
    assert nf.format_number(value, "en", **kwargs) == en


def test_format_percent_probability_rank_and_count():
    assert nf.format_percent(0.4, "nb") == "+0,4\u00a0%"
    assert nf.format_percent(0.4, "en") == "+0.4\u00a0%"
    assert nf.format_percent(-1.25, "nb", decimals=2) == "\u22121,25\u00a0%"
    assert nf.format_percent(float("nan"), "nb") == nf.MISSING
    assert nf.format_probability(0.618, "nb") == "62\u00a0%"
    assert nf.format_probability(0.0, "en") == "<1\u00a0%"
    assert nf.format_probability(1.0, "en") == ">99\u00a0%"
    assert nf.format_probability(0.996, "nb") == ">99\u00a0%"
    assert nf.format_rank(23.0, "nb") == "23"
    assert nf.format_rank(23.5, "en") == "24"
    assert nf.format_rank(1234, "nb") == "1\u202f234"
    assert nf.format_count(-5.26, "nb", signed=True) == "\u22125,3"
    assert nf.format_count(1234.4, "en", signed=True) == "+1,234"
    assert nf.format_tick(0.25, "nb") == "0,25"
    assert nf.format_tick(-2.0, "nb") == "\u22122"
    assert nf.format_tick(1500.0, "en") == "1,500"
    assert nf.round_to(12345.0) == 12300
    assert nf.round_to(987.6) == 988
    with pytest.raises(ValueError, match="unknown language"):
        nf.format_number(1, "de")


def test_texts_have_the_same_keys_in_both_languages():
    nb, en = rp.load_texts("nb"), rp.load_texts("en")
    assert rp.text_keys(nb) == rp.text_keys(en)
    assert rp.text_keys(nb)  # not empty
    # every placeholder of a text is the same in both languages
    fields = re.compile(r"\{(\w+)\}")
    t_nb, t_en = rp.texts_for("nb"), rp.texts_for("en")
    for key in rp.text_keys(nb):
        assert set(fields.findall(t_nb(key))) == set(fields.findall(t_en(key))), key


def test_unknown_places_get_near_matches():
    names = {"0301": "Oslo", "1103": "Stavanger", "4601": "Bergen", "5001": "Trondheim"}
    assert rp.resolve_report_place("bergen", names) == "4601"
    assert rp.resolve_report_place("301", names) == "0301"
    with pytest.raises(DataError, match=r"did you mean 4601 \(Bergen\)"):
        rp.resolve_report_place("Bergn", names)
    with pytest.raises(DataError, match=r"did you mean 0301 \(Oslo\)"):
        rp.resolve_report_place("0310", names)


# -- a small fitted run --------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(small_run_dir) -> Path:
    return small_run_dir


@pytest.fixture(scope="module")
def builder(run_dir) -> rp.ReportBuilder:
    b = rp.ReportBuilder(rp.load_sources(run_dir), dpi=60, target_draws=TARGET_DRAWS)
    b.prepare()
    return b


@pytest.fixture(scope="module")
def reports(builder) -> dict[str, rp.PlaceReport]:
    return {lang: builder.build(PLACE, lang=lang) for lang in ("nb", "en")}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster") and value:
                self.refs.append((tag, name, value))
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))


def _parse(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def _visible(text: str) -> str:
    """The report's text without tags, entities decoded."""
    body = re.sub(r"<style.*?</style>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


slow = pytest.mark.slow


@slow
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_report_is_self_contained(reports, lang):
    text = reports[lang].html
    assert "http://" not in text
    assert "https://" not in text
    links = _parse(text)
    assert links.images, "the report has charts"
    for tag, name, value in links.refs:
        assert not value.startswith("//"), (tag, name, value)
        assert value.startswith(("data:", "#")), (tag, name, value)
    for src in links.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png[:8] == PNG_SIGNATURE
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            image.verify()
            assert image.size[0] > 100
            assert image.size[1] > 100
    assert "@import" not in text
    assert "url(" not in text
    assert "<script" not in text


def _expected_sentence(fit, years, lang: str) -> str:
    """The residential key-figure sentence built by hand from the fit's own tables."""
    att = attractiveness_table(fit, years=years).set_index("place").loc[PLACE]
    ranks = rank_table(fit, years=years).set_index("place").loc[PLACE]
    n = fit.design.frame["place"].nunique()

    small = max(abs(att["pct_median"]), abs(att["pct_lower_80"]), abs(att["pct_upper_80"])) < 0.1
    digits = 2 if small else 1

    def pct(v: float) -> str:
        text = f"{v:+.{digits}f}"
        text = text[1:] if float(text) == 0 else text
        if lang == "nb":
            text = text.replace("-", "\u2212").replace(".", ",")
        return text + "\u00a0%"

    def rank(v: float) -> str:
        return str(int(np.floor(v + 0.5)))

    first, last = years
    dash = "\u2013" if lang == "nb" else "-"
    if lang == "en":
        return (
            f"Residential attractiveness {first}{dash}{last}: {pct(att['pct_median'])} of "
            f"population per year (80 % interval {pct(att['pct_lower_80'])} to "
            f"{pct(att['pct_upper_80'])}), rank {rank(ranks['rank_median'])} of {n} "
            f"({rank(ranks['rank_lower_80'])} to {rank(ranks['rank_upper_80'])})."
        )
    return (
        f"Bostedsattraktivitet {first}{dash}{last}: {pct(att['pct_median'])} av folketallet "
        f"per år (80 %-intervall {pct(att['pct_lower_80'])} til {pct(att['pct_upper_80'])}), "
        f"rangering {rank(ranks['rank_median'])} av {n} ({rank(ranks['rank_lower_80'])} til "
        f"{rank(ranks['rank_upper_80'])})."
    )


@slow
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_key_figure_sentence_has_the_fits_numbers(builder, reports, lang):
    fit = builder.sources.migration
    first, last = fit.design.years
    years = (max(first, last - 9), last)
    assert builder.periods["residential"] == years
    expected = _expected_sentence(fit, years, lang)
    assert expected in _visible(reports[lang].html)


@slow
def test_projection_key_figures_match_the_projection(builder, reports):
    proj = builder.sources.projection
    pop = proj.ds["population"].sel(scenario="historical", place=PLACE)
    last = int(pop["year"][-1])
    median = float(pop.sel(year=last).median("draw"))
    growth = float((pop.sel(year=last) > pop.isel(year=0)).mean())
    text = _visible(reports["en"].html)
    shown = f"{nf.round_to(median):,.0f}"
    assert f"Historical scenario: {shown} inhabitants in {last}" in text
    assert f"{nf.format_probability(growth)} to {last}" in text


@slow
def test_method_section_says_how_the_centrality_coefficient_is_carried(builder, reports):
    proj = builder.sources.projection
    process = proj.ds.attrs["centrality_process"]
    last = proj.ds.attrs["centrality_last_fitted_year"]
    table = proj.centrality_table().set_index("year")
    end = int(table.index.max())
    en = _visible(reports["en"].html)
    assert f"was fitted to {last}; after that it is carried forward as" in en
    wording = {"random_walk": "a random walk", "ar1": "a mean-reverting AR(1) process"}
    assert wording[process] in en
    assert f"In {end} it is {table.loc[end, 'median']:.3f}" in en
    nb = _visible(reports["nb"].html)
    assert f"er tilpasset til {last}" in nb
    assert f"I {end} er den {nf.format_number(table.loc[end, 'median'], 'nb', decimals=3)}" in nb


@slow
def test_norwegian_report_uses_decimal_commas(reports):
    nb, en = _visible(reports["nb"].html), _visible(reports["en"].html)
    assert re.search(r"\d,\d\u00a0%", nb)
    assert not re.search(r"\d\.\d\u00a0%", nb)
    assert re.search(r"\d\.\d\u00a0%", en)
    assert "\u2212" in nb or "+" in nb
    assert '<html lang="nb">' in reports["nb"].html
    assert '<html lang="en">' in reports["en"].html


@slow
def test_banner_appears_iff_the_gate_failed(run_dir, builder, reports):
    assert builder.gate_failed  # prior draws: no sampler statistics
    assert 'id="gate-warning"' in reports["en"].html
    assert "did not pass its convergence checks" in reports["en"].html
    passing = rp.ReportBuilder(builder.sources, dpi=40)
    passing.__dict__["gates"] = {k: dataclasses.replace(g, problems=[])
                                 for k, g in builder.gates.items()}  # fmt: skip
    passing.__dict__["target_setup"] = builder.target_setup
    assert not passing.gate_failed
    text = passing.build(PLACE, lang="en").html
    assert 'id="gate-warning"' not in text
    assert "passed (" in text


@slow
def test_report_without_projection_says_so(builder):
    sources = dataclasses.replace(builder.sources, projection=None, projection_path=None)
    bare = rp.ReportBuilder(sources, dpi=40)
    bare.__dict__["gates"] = builder.gates
    bare.__dict__["decomposers"] = builder.decomposers
    report = bare.build(PLACE, lang="en")
    assert 'id="projection"' not in report.html
    assert "This run has no projection" in report.html
    assert "scenarios" not in report.tables
    book = load_workbook(io.BytesIO(report.xlsx_bytes()))
    assert not any(name.startswith("Proj.") for name in book.sheetnames)
    # "what must happen" needs the projection's settings: left out, with one sentence
    assert 'id="targets"' not in report.html
    assert 'href="#targets"' not in report.html
    assert "targets" not in report.tables
    for lang in ("en", "nb"):
        t = rp.texts_for(lang)
        text = _visible(report.html if lang == "en" else bare.build(PLACE, lang=lang).html)
        assert t("targets.missing_no_projection") in text


@slow
def test_workbook_has_the_expected_sheets(builder, reports):
    for lang in ("en", "nb"):
        t = rp.texts_for(lang)
        book = load_workbook(io.BytesIO(reports[lang].xlsx_bytes()))
        expected = [
            t("tables.sheet_attractiveness"),
            t("tables.sheet_attractiveness_years"),
            t("tables.sheet_population_decomposition"),
            t("tables.sheet_jobs_decomposition"),
            t("tables.sheet_scenarios"),
            t("tables.sheet_targets"),
            t("tables.sheet_target_probabilities"),
        ]
        expected += [t("tables.sheet_projection", scenario=t.scenario(s))[:31]
                     for s in builder.scenarios]  # fmt: skip
        assert book.sheetnames == expected
        att = book[t("tables.sheet_attractiveness")]
        assert att.max_row == 3  # header, residential, business
        median = att.cell(row=2, column=3).value
        table = attractiveness_table(builder.sources.migration,
                                     years=builder.periods["residential"])  # fmt: skip
        assert median == pytest.approx(table.set_index("place").loc[PLACE, "pct_median"])
        fmt = att.cell(row=2, column=3).number_format
        assert ("#,##0" in fmt) == (lang == "en")


# -- what must happen ------------------------------------------------------------------------
def _section(page: str) -> str:
    """The visible text of the report's "what must happen" section."""
    match = re.search(r'<section id="targets">(.*?)</section>', page, flags=re.S)
    assert match, "the report has the section"
    return re.sub(r"[ \t\r\n]+", " ", _visible(match.group(1))).strip()  # keeps nbsp


@slow
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_what_must_happen_section_in_both_languages(builder, reports, lang):
    t = rp.texts_for(lang)
    report = reports[lang]
    year = builder.comparison_year
    proj = builder.sources.projection
    assert year == min(2040, int(proj.ds["year"][-1]))  # the fixture ends in 2030
    assert 'href="#targets"' in report.html
    text = _section(report.html)
    assert text.startswith(t("targets.title"))
    for key in ("no_decline", "children"):
        assert t(f"targets.title_{key}", year=year) in text
    cells = re.findall(r"<td>(.*?)</td>", report.html.split('<section id="targets">')[1])
    assert cells
    assert nf.MISSING not in cells
    assert not re.search(r"\b(nan|inf)\b", text, flags=re.I)
    levels = report.tables["targets"]
    assert set(levels["target"]) == {"no_decline", "children"}
    assert len(levels) == 8  # two targets, four measures
    assert np.isfinite(levels["value"]).all()
    assert (levels["share_solved"].between(0, 1)).all()
    rate = levels[levels["measure"] == "attractiveness"].set_index("target")
    persons = levels[levels["measure"] == "persons_per_year"].set_index("target")
    for key in ("no_decline", "children"):
        row = rate.loc[key]
        assert np.isfinite(row[["median", "lower_80", "upper_80"]].astype(float)).all(), key
        assert row["lower_80"] <= row["median"] <= row["upper_80"]
        digits = rp.pct_decimals(row["median"], row["lower_80"], row["upper_80"])
        assert t.pct(row["median"], digits) in text, key
        assert t.count(abs(persons.loc[key, "median"])) in text, key
        assert np.sign(persons.loc[key, "median"]) == np.sign(row["median"])
    # the base year's numbers, and the probabilities from the projection's own draws
    ds = proj.ds.sel(place=PLACE)
    base_year = int(ds["year"][0])
    values = {"no_decline": ds["population"], "children": ds["age_group_population"].sel(
        age_group="0-15")}  # fmt: skip
    chances = report.tables["target_probabilities"].set_index(["target", "scenario"])
    for key, da in values.items():
        base = float(da.sel(year=base_year).isel(scenario=0, draw=0))
        assert rate.loc[key, "value"] == pytest.approx(base)
        for s in builder.scenarios:
            draws = da.sel(scenario=s, year=year).to_numpy()
            assert chances.loc[(key, s), "probability"] == pytest.approx(
                float((draws >= base - 1e-6).mean())
            )
            item = t("targets.probability_item", p=t.prob(chances.loc[(key, s), "probability"]),
                     scenario=t.scenario(s).lower())  # fmt: skip
            assert item in text


@slow
def test_what_must_happen_can_be_left_out(builder):
    off = rp.ReportBuilder(builder.sources, dpi=40, target_draws=0)
    for name in ("gates", "decomposers", "attractiveness", "attractiveness_by_year"):
        off.__dict__[name] = getattr(builder, name)
    report = off.build(PLACE, lang="nb")
    assert 'id="targets"' not in report.html
    assert rp.texts_for("nb")("targets.missing_off") in _visible(report.html)
    assert 'id="projection"' in report.html  # the rest stays
    with pytest.raises(DataError, match="--target-draws"):
        rp.ReportBuilder(builder.sources, target_draws=-1)


@slow
def test_shared_runs_give_the_same_levels_as_a_fresh_solve(builder):
    from attrbayes.projection.targets import Target, reach_target

    setup = builder.target_setup
    target = Target(PLACE, setup.year, None, "0-15")
    shared = reach_target(setup.projector, target, scenarios=("neutral",),
                          runs={"neutral": setup.baseline}, sustained=setup.sustained)  # fmt: skip
    fresh = reach_target(setup.projector, target, scenarios=("neutral",))
    pd.testing.assert_frame_equal(shared.draws, fresh.draws)
    pd.testing.assert_frame_equal(shared.probabilities, fresh.probabilities)
    assert shared.residential_place == fresh.residential_place


@slow
def test_placing_words(builder):
    place = rp._PlaceBuild(builder, PLACE, rp.texts_for("en"), None, dt.date(2026, 1, 1))
    best = {"best_sustained": 0.011}
    words = {
        (42.0, False): "that is higher than 42\u00a0% of the municipalities",
        (0.2, False): "no municipality has had less over its last ten years",
        (99.8, False): "higher than every municipality has had over its last ten years",
        (100.0, True): "no municipality has sustained that for ten years (the highest "
        "ten-year mean is +1.1\u00a0% a year)",
    }
    for (pct, beyond), expected in words.items():
        text = place._placing({"percentile": pct, "beyond_any": beyond, **best}, "residential")
        assert expected in text, (pct, text)


@slow
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_scenario_text_states_what_the_fans_show(builder, reports, lang):
    t = rp.texts_for(lang)
    text = re.sub(r"[ \t\r\n]+", " ", _visible(reports[lang].html))
    assert "90 %" not in t("how.scenarios")
    assert "together cover" not in text
    assert "dekker til sammen" not in text
    assert t("how.scenarios") in text
    proj = builder.sources.projection
    year = builder.comparison_year
    pop = proj.ds["population"].sel(place=PLACE, year=year)
    median = {s: float(np.quantile(pop.sel(scenario=s).to_numpy(), 0.5)) for s in ("high", "low")}
    lower, upper = np.quantile(pop.sel(scenario="neutral").to_numpy(), [0.1, 0.9])
    spread, width = abs(median["high"] - median["low"]), float(upper - lower)
    number = lambda v: t.number(nf.round_to(float(v)))  # noqa: E731
    expected = t("spread.sentence", place=builder.names[PLACE], year=year, spread=number(spread),
                 high=number(median["high"]), low=number(median["low"]), width=number(width),
                 lower=number(lower), upper=number(upper))  # fmt: skip
    expected += " " + t("spread.band_wider" if width > spread else "spread.band_narrower")
    assert expected in text
    paragraph = re.search(r'<p id="scenario-spread">(.*?)</p>', reports[lang].html, flags=re.S)
    assert paragraph
    assert html.unescape(paragraph.group(1)) == expected


# -- shared computations agree with the single-place functions ------------------------------
@slow
def test_shared_decompositions_equal_decompose(builder, run_dir):
    from attrbayes.data.panel import read_panel

    panel = read_panel(run_dir / "panel")
    for kind, decomposer in builder.decomposers.items():
        fit = decomposer.fit
        jobs = level_data(panel, "municipality").tables["jobs"] if kind == "business" else None
        for code in (PLACE, builder.places[-1]):
            ours = decomposer.decompose(code)
            theirs = decompose(fit, code, decomposer.years, jobs=jobs)
            pd.testing.assert_frame_equal(ours.table, theirs.table)
            assert ours.notes == theirs.notes
            assert ours.actual == pytest.approx(theirs.actual)


@slow
def test_attractiveness_by_year_equals_the_table(builder):
    fit = builder.sources.jobs
    ours = rp.attractiveness_by_year(fit).set_index(["place", "year"]).sort_index()
    theirs = attractiveness_table(fit, by="year").set_index(["place", "year"]).sort_index()
    for column in ours.columns:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-10, err_msg=column)


@slow
def test_attractiveness_plot_data(builder):
    by_year = builder.attractiveness_by_year["residential"]
    path = attractiveness_path_data(by_year, PLACE)
    assert list(path["year"]) == sorted(path["year"])
    assert (path["lower_95"] <= path["lower_80"]).all()
    assert (path["lower_50"] <= path["median"]).all()
    assert (path["median"] <= path["upper_50"]).all()
    ranked = rank_plot_data(builder.attractiveness["residential"], PLACE)
    assert ranked["highlight"].sum() == 1
    assert list(ranked["position"]) == list(range(1, len(ranked) + 1))
    assert ranked["median"].is_monotonic_decreasing
    fig = plot_attractiveness_paths([("a", path), ("b", path)], period=(2005, 2010))
    assert len(fig.axes) == 2
    fig = plot_rank([("a", ranked)])
    assert len(fig.axes) == 1
    with pytest.raises(DataError, match="not in the attractiveness table"):
        rank_plot_data(builder.attractiveness["residential"], "9999")


@slow
def test_reference_lines_per_place(builder, tmp_path):
    ref = tmp_path / "ssb.csv"
    ref.write_text(f"place;year;value;label\n{PLACE};2015;40000;SSB MMM\n"
                   f"{PLACE};2030;41000;SSB MMM\n9999;2030;1;other\n", "utf-8")  # fmt: skip
    frame = rp.read_place_reference(ref)
    assert set(frame["place"]) == {PLACE, "9999"}
    with_ref = rp.ReportBuilder(dataclasses.replace(builder.sources, reference=frame), dpi=40)
    assert list(with_ref.reference_for(PLACE)["value"]) == [40000, 41000]
    assert with_ref.reference_for(builder.places[-1]) is None


# -- the command ----------------------------------------------------------------------------
@slow
def test_report_command_writes_html_and_xlsx_and_refuses_overwrite(run_dir, tmp_path):
    out = tmp_path / "place.html"
    args = ["report", str(run_dir), "--place", PLACE, "--out", str(out), "--lang", "en",
            "--target-draws", "10"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert 'id="targets"' in out.read_text("utf-8")
    assert out.with_suffix(".xlsx").is_file()
    assert "warning banner" in result.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already exist" in again.output
    forced = runner.invoke(app, [*args, "--force", "--no-xlsx"])
    assert forced.exit_code == 0, forced.output


@slow
def test_report_command_rejects_unknown_places_with_suggestions(run_dir, builder, tmp_path):
    name = builder.names[PLACE]
    result = runner.invoke(app, ["report", str(run_dir), "--place", name[:-1] + "x",
                                 "--out", str(tmp_path / "x.html")])  # fmt: skip
    assert result.exit_code == 1
    assert "did you mean" in result.output
    assert PLACE in result.output
    assert not (tmp_path / "x.html").exists()
    both = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "y.html")])
    assert both.exit_code == 1
    assert "--place CODE and --all" in both.output


@slow
def test_report_all_writes_every_place_and_an_index(run_dir, builder, tmp_path):
    out = tmp_path / "all"
    # (the section's own tests are per place; --all leaves it out by default)
    result = runner.invoke(app, ["report", str(run_dir), "--all", "--out", str(out),
                                 "--lang", "nb"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "left out unless --target-draws" in result.output
    htmls = sorted(p.name for p in out.glob("*.html") if p.name != "index.html")
    assert htmls == [f"{code}.html" for code in builder.places]
    assert sorted(p.stem for p in out.glob("*.xlsx")) == builder.places
    index = (out / "index.html").read_text("utf-8")
    links = {value for tag, name, value in _parse(index).refs if tag == "a"}
    assert links == set(htmls)
    for code in builder.places:
        assert builder.names[code] in html.unescape(index)
    page = (out / f"{PLACE}.html").read_text("utf-8")
    assert 'href="index.html"' in page
    again = runner.invoke(app, ["report", str(run_dir), "--all", "--out", str(out)])
    assert again.exit_code == 1
    assert "already exist" in again.output
