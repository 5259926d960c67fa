"""Command-line front: a thin typer layer over :mod:`attrbayes.pipeline`."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from attrbayes import __version__
from attrbayes.config import SamplerConfig, load_spec, parse_years
from attrbayes.data.panel import panel_names, read_panel
from attrbayes.exceptions import AttrbayesError, Interrupted, SpecError
from attrbayes.io_utils import atomic_write_bytes, atomic_write_text, claim_dir, csv_text
from attrbayes.synthetic import TRUTH_DIR, SynthConfig, read_truth

app = typer.Typer(
    help="attrbayes: the Norwegian attractiveness model of local growth, refitted.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="Create and check panels.", no_args_is_help=True)
app.add_typer(data_app, name="data")
assumptions_app = typer.Typer(help="National assumption sets.", no_args_is_help=True)
app.add_typer(assumptions_app, name="assumptions")

console = Console()
err = Console(stderr=True)


def _interactive() -> bool:
    return console.is_terminal and not os.environ.get("CI")


@contextlib.contextmanager
def _step(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal, a plain line elsewhere; reports the time taken. Yields a
    function that shows what the step is doing now (beside the spinner, or as a dim line
    off a terminal), so long work shows that it moves."""
    start = time.perf_counter()
    if _interactive():
        with console.status(message) as status:
            yield lambda now: status.update(f"{message}: {now}")
    else:
        console.print(f"{message} ...", style="dim")
        yield _progress_line
    console.print(f"{message} [dim]({time.perf_counter() - start:.1f} s)[/dim]")


def _echo(text: str) -> None:
    """Plain text (tables, printouts) without rich's wrapping or markup."""
    typer.echo(text)


def _fail(exc: Exception) -> None:
    if isinstance(exc, Interrupted):
        raise exc  # main() says so once and exits with 130 or 143
    text = str(exc)
    if isinstance(exc, ValidationError):  # settings checked by pydantic: one line
        text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: "
                         f"{e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors())  # fmt: skip
    err.print(f"[bold red]error:[/bold red] {escape(text)}", soft_wrap=True)
    raise typer.Exit(code=1)


INTERRUPTED = 130  # what typer makes of Ctrl-C (KeyboardInterrupt)


_DEBUG = {"on": bool(os.environ.get("ATTRBAYES_DEBUG"))}


def _print_version(value: bool) -> None:
    if value:
        console.print(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", is_eager=True, callback=_print_version
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python's traceback of an unexpected error.")
    ] = False,
) -> None:
    _DEBUG["on"] = _DEBUG["on"] or debug


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the panel to.")],
    seed: Annotated[int, typer.Option(help="Random seed.", min=0)] = SynthConfig.seed,
    places: Annotated[
        int, typer.Option(help="Number of municipalities (12 to 9,000).", min=12, max=9000)
    ] = SynthConfig.n_places,
    years: Annotated[str, typer.Option(help="First:last year.")] = (
        f"{SynthConfig.first_year}:{SynthConfig.last_year}"
    ),
    centrality_process: Annotated[
        str,
        typer.Option(help="The true centrality coefficient's own variation: random_walk or ar1."),
    ] = SynthConfig.centrality_process,
    force: Annotated[bool, typer.Option(help="Replace an existing directory.")] = False,
) -> None:
    """Simulate a Norway-like panel from the attractiveness model, with its truth (a long
    history such as --years 1980:2023 lets backtests reach 20 years ahead)."""
    from attrbayes.pipeline import synthesize_to

    try:
        first, last = parse_years(years)
        config = SynthConfig(seed=seed, n_places=places, first_year=first, last_year=last,
                             centrality_process=centrality_process)  # fmt: skip
        with _step(f"Synthesising {places} places, {first}-{last}, seed {seed}"):
            synthesize_to(out, config, overwrite=force)
    except AttrbayesError as exc:
        _fail(exc)
    console.print(f"Panel written to [bold]{out}[/bold] (truth in {out / 'truth'})")


@data_app.command("validate")
def data_validate(path: Annotated[Path, typer.Argument(help="Panel directory.")]) -> None:
    """Check a panel against the data contract and summarise it."""
    try:
        with _step(f"Validating {path}"):
            panel = read_panel(path)
    except AttrbayesError as exc:
        _fail(exc)
    m = panel.manifest
    console.print(
        f"[green]valid[/green] panel '{m.name}' ({m.structure}), years {m.first_year}-{m.last_year}"
    )
    console.print(
        f"{len(panel.places)} places, {panel.places['region'].nunique()} regions, "
        f"{panel.places['county'].nunique()} counties"
    )
    tables = ", ".join(f"{name} ({len(df):,} rows)" for name, df in panel.tables.items())
    console.print(f"tables: {tables}")


_PLACES_HELP = (
    "CSV or Parquet with place, name, region, county, centrality (0-1000), centrality_class "
    "(1-6); required to write a panel (SSB's tables do not hold them)."
)
_STRUCTURE_HELP = "Harmonise codes to the 2020 or 2024 municipal structure (needs --crosswalk)."
_CROSSWALK_HELP = (
    "FHI csdata crosswalk CSV (municip_redistricting_to_b2024); default structure 2024."
)


def _ssb_inputs(out: Path, force: bool, years, crosswalk, structure, places):
    """Check the shared options of fetch-ssb and import before any work is done."""
    from attrbayes.data import ssb_panel

    claim_dir(out, force=force, known=panel_names())
    span = parse_years(years)
    cw = ssb_panel.load_crosswalk(crosswalk, structure)
    place_table = ssb_panel.read_places(places) if places is not None else None
    return span, cw, place_table


def _finish_ssb_panel(build, out: Path, places, years, crosswalk, source: str, force: bool):
    """Print the conversion report, then assemble, validate and write the panel."""
    from attrbayes.data import ssb_panel

    try:
        panel = ssb_panel.assemble_panel(
            build, places=places, years=years, crosswalk=crosswalk, source=source
        )
        ssb_panel.write_build(panel, build, out, overwrite=force)
    except AttrbayesError as exc:
        _echo(ssb_panel.report_text(build))
        _fail(exc)
    _echo(ssb_panel.report_text(build))
    m = panel.manifest
    console.print(
        f"Panel written to [bold]{out}[/bold] ({len(panel.places)} places, "
        f"{m.first_year}-{m.last_year}, structure {m.structure}; report in "
        f"{out / ssb_panel.REPORT_FILE})"
    )


@data_app.command("fetch-ssb")
def data_fetch_ssb(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the panel to.")],
    years: Annotated[str | None, typer.Option(help="First:last year (default: all).")] = None,
    cache: Annotated[Path, typer.Option(help="Directory for SSB's raw answers.")] = Path(
        "runs/ssb-cache"
    ),
    structure: Annotated[str | None, typer.Option(help=_STRUCTURE_HELP)] = None,
    crosswalk: Annotated[Path | None, typer.Option(help=_CROSSWALK_HELP)] = None,
    places: Annotated[Path | None, typer.Option(help=_PLACES_HELP)] = None,
    tables: Annotated[
        str | None, typer.Option(help="Comma-separated SSB table ids (default: the registry's).")
    ] = None,
    refresh: Annotated[bool, typer.Option(help="Ask SSB again instead of the cache.")] = False,
    progress: Annotated[bool, typer.Option(help="Progress bar (on a terminal only).")] = True,
    force: Annotated[bool, typer.Option(help="Replace an existing directory.")] = False,
) -> None:
    """Fetch SSB's tables (PxWebApi v2; cached, rate-limited) and build a panel."""
    from attrbayes.data import ssb_panel
    from attrbayes.data.ssb_tables import SSB_TABLES

    try:
        span, cw, place_table = _ssb_inputs(out, force, years, crosswalk, structure, places)
        ids = (
            [t.strip() for t in tables.split(",") if t.strip()]
            if tables
            else [t.id for t in SSB_TABLES.values() if t.default]
        )
        with ssb_panel.open_client(cache, refresh=refresh) as client:
            build = ssb_panel.fetch_tables(client, ids, span, progress=progress and _interactive())
    except AttrbayesError as exc:
        _fail(exc)
    console.print(f"SSB answers cached in {cache}")
    _finish_ssb_panel(build, out, place_table, span, cw, "SSB PxWebApi v2", force)


@data_app.command("import")
def data_import(
    files: Annotated[
        list[Path],
        typer.Option("--from", help="Statbank CSV export(s) (the title line names the table)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the panel to.")],
    more: Annotated[list[Path] | None, typer.Argument(help="More CSV exports.")] = None,
    places: Annotated[Path | None, typer.Option(help=_PLACES_HELP)] = None,
    years: Annotated[str | None, typer.Option(help="First:last year (default: all).")] = None,
    structure: Annotated[str | None, typer.Option(help=_STRUCTURE_HELP)] = None,
    crosswalk: Annotated[Path | None, typer.Option(help=_CROSSWALK_HELP)] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing directory.")] = False,
) -> None:
    """Import statbank CSV exports (07459, 06913, 03321, ...) into a panel."""
    from attrbayes.data import ssb_panel

    try:
        span, cw, place_table = _ssb_inputs(out, force, years, crosswalk, structure, places)
        build = ssb_panel.import_exports([*files, *(more or [])])
    except AttrbayesError as exc:
        _fail(exc)
    _finish_ssb_panel(build, out, place_table, span, cw, "statbank CSV exports", force)


@data_app.command("build-real")
def data_build_real(
    raw: Annotated[Path, typer.Option("--raw", help="The raw folder (shared/data/raw).")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the panel to.")],
    structure: Annotated[str, typer.Option(help="Municipal structure: 2017, 2020 or 2024.")] = (
        "2020"
    ),
    force: Annotated[bool, typer.Option(help="Replace an existing directory.")] = False,
) -> None:
    """Build the real Norwegian panel from the public raw files (see SOURCES.md)."""
    from attrbayes.pipeline import build_real_to

    try:
        with _step(f"Building the real panel ({structure} structure) from {raw}"):
            panel, report = build_real_to(raw, out, structure, overwrite=force)
    except AttrbayesError as exc:
        _fail(exc)
    _print_build_report(panel, report, out)


@assumptions_app.command("from-ssb")
def assumptions_from_ssb(
    projection: Annotated[
        Path,
        typer.Option("--projection", help="SSB 14288 county totals CSV (ssb_national_misc/)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Assumption TOML to write.")] = Path(
        "assumptions/norway_2024_ssb.toml"
    ),
    raw: Annotated[
        Path | None,
        typer.Option(
            help="Raw folder with the national base files (default: the CSV's parent's parent)."
        ),
    ] = None,
    base: Annotated[
        str, typer.Option(help="Assumption set giving TFR and mortality paths.")
    ] = "norway_2024",
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """National assumptions tied to SSB's 2024 projection: national totals per alternative
    (main MMMM, high HHMH, low LLML), the net immigration a national cohort run implies,
    job growth from employment rates."""
    from attrbayes.projection.ssb_national import ALTERNATIVES, write_ssb_assumptions

    try:
        with _step(f"Deriving national assumptions from {projection}"):
            result = write_ssb_assumptions(projection, out, raw=raw, base_set=base, force=force)
    except AttrbayesError as exc:
        _fail(exc)
    runs = result.components
    for name, code in ALTERNATIVES.items():
        rows = runs[runs["alternative"] == name]
        first, last = rows.iloc[0], rows.iloc[-1]
        console.print(
            f"  {name} ({code}): {first['population']:,.0f} ({int(first['year'])}) -> "
            f"{last['population_next']:,.0f} ({int(last['year']) + 1}), net immigration "
            f"{rows['rate'].mean():.2%} a year on average"
        )
    console.print(f"Written to [bold]{out}[/bold]")


def _number(value: object) -> str:
    """Counts with thousands separators, other numbers to four significant digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_build_report(panel, report, out: Path) -> None:
    m = panel.manifest

    def say(text: str) -> None:
        console.print(text, soft_wrap=True)

    say(
        f"Panel '{m.name}' written to [bold]{out}[/bold]: {len(panel.places)} places, "
        f"{panel.places['region'].nunique()} regions, years {m.first_year}-{m.last_year}"
    )
    for key, value in report.checks.items():
        say(f"  {key}: {_number(value)}")
    err_all = report.residual_method.iloc[-1] if not report.residual_method.empty else None
    if err_all is not None:
        say(
            f"  residual-method net migration error (2005-2016): mean abs "
            f"{err_all['mean_abs_error_pp']:.3f} pp of population vs sd of net migration "
            f"{err_all['sd_observed_nm_pp']:.3f} pp"
        )
    say(f"Not in the sources: {', '.join(report.missing)}")
    say(f"Full report: {out / 'BUILD_REPORT.md'}")


@app.command("replicate")
def replicate(
    data: Annotated[Path, typer.Option("--data", help="Panel directory.")],
    years: Annotated[str | None, typer.Option(help="First:last year of the window.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
) -> None:
    """Refit the book's OLS versions at region and municipality level beside the published
    estimates; versions the panel cannot support say why."""
    from attrbayes.features.design import compute_features
    from attrbayes.reporting.replication import replication_table

    try:
        window = parse_years(years) if years else None
        panel = read_panel(data)
        with _step("Refitting the published model versions"):
            result = replication_table(
                [compute_features(panel, level) for level in ("region", "municipality")],
                years=window,
            )
    except AttrbayesError as exc:
        _fail(exc)
    _echo(result.to_text())
    if csv is not None:
        atomic_write_text(csv, csv_text(result.table))
        console.print(f"Table written to {csv}")


@app.command("ols")
def ols(
    data: Annotated[Path, typer.Option("--data", help="Panel directory.")],
    spec: Annotated[str, typer.Option("--spec", help="Model spec name or TOML path.")],
    level: Annotated[str | None, typer.Option(help="municipality, region or county.")] = None,
    years: Annotated[str | None, typer.Option(help="First:last year of the window.")] = None,
    by_year: Annotated[bool, typer.Option("--by-year", help="Also fit one OLS per year.")] = False,
    periods: Annotated[
        str | None, typer.Option(help="Sub-period fits, e.g. 2003:2011,2012:2021.")
    ] = None,
    subpopulations: Annotated[
        bool, typer.Option("--subpopulations", help="Fits for men, women and age groups.")
    ] = False,
    se: Annotated[str, typer.Option(help="Standard errors: nonrobust, HC1 or cluster.")] = (
        "nonrobust"
    ),
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the coefficient table (of the first series asked)."),
    ] = None,
    top: Annotated[
        int, typer.Option(help="Show the N most and least attractive units.", min=1)
    ] = 5,
) -> None:
    """Fit the OLS version of a net-migration spec and print it R-style."""
    from attrbayes.pipeline import run_ols

    try:
        panel = read_panel(data)
        with _step("Building features and fitting"):
            result = run_ols(
                panel,
                spec,
                level=level,
                years=parse_years(years),
                by_year=by_year,
                periods=[parse_years(p) for p in periods.split(",")] if periods else None,
                subpopulations=subpopulations,
                cov_type=se,
            )
    except AttrbayesError as exc:
        _fail(exc)
    _echo(result.pooled.to_text())
    _print_left_out(result.pooled.design)
    titles = {"year": "Year-by-year fits", "period": "Sub-period fits", "group": "Sub-populations"}
    for series in result.series:
        console.print(f"{titles[series.key]}:", style="bold")
        _echo(series.to_text())
    if top > 0:
        _print_attractiveness(result.pooled.attractiveness(), top, result.spec.kind)
    if csv is not None:
        atomic_write_text(csv, csv_text(result.csv_table()))
        console.print(f"Coefficient table written to {csv}")


def _print_left_out(design) -> None:
    """Say which years asked for were not fitted and why, and what stood in for what."""
    if design.left_out or design.notes:
        console.print(design.left_out_text(), markup=False, style="yellow")


# What the latent part of each model kind is called, and what its rate is relative to.
ATTRACTIVENESS_NAME = {"migration": "Residential attractiveness (% of population)",
                       "jobs": "Business attractiveness (% of private jobs)"}  # fmt: skip


def _print_attractiveness(table: pd.DataFrame, top: int, kind: str) -> None:
    shown = pd.concat([table.head(top), table.tail(top)])
    shown = shown.assign(
        pct_per_year=shown["pct_per_year"].map(lambda v: f"{v:+.2f} %"),
        persons_per_year=shown["persons_per_year"].map(lambda v: f"{v:+.0f}"),
    )
    console.print(f"Point {ATTRACTIVENESS_NAME[kind].lower()}, top and bottom {top}:", style="bold")
    _echo(shown.to_string(index=False))


def _print_gate(fit, strict: bool) -> None:
    report = fit.convergence()
    style = "green" if report.passed else "bold red"
    console.print(report.summary_line(), style=style)
    if not report.passed:
        _echo(report.message())
        if strict:
            err.print("error: the diagnostics gate failed and --strict was given")
            raise typer.Exit(code=3)


@app.command("fit")
def fit(
    data: Annotated[Path, typer.Option("--data", help="Panel directory.")],
    spec: Annotated[str, typer.Option("--spec", help="Model spec name or TOML path.")],
    out: Annotated[Path | None, typer.Option("--out", help="Run directory to write.")] = None,
    level: Annotated[str | None, typer.Option(help="municipality, region or county.")] = None,
    years: Annotated[str | None, typer.Option(help="First:last year of the window.")] = None,
    priors: Annotated[
        str | None,
        typer.Option(
            help="Prior set name or TOML path (default: weakly_informative, or "
            "jobs_weakly_informative for a jobs spec)."
        ),
    ] = None,
    sampler: Annotated[str, typer.Option(help="nutpie (default) or pymc.")] = "nutpie",
    backend: Annotated[
        str,
        typer.Option(help="nutpie's backend: numba (default) or jax (needs attrbayes[jax])."),
    ] = "numba",
    chains: Annotated[int, typer.Option(help="Chains.", min=1)] = 4,
    draws: Annotated[int, typer.Option(help="Draws per chain after tuning.", min=1)] = 1000,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain.", min=0)] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.", min=0)] = SamplerConfig().seed,
    strict: Annotated[bool, typer.Option(help="Fail (exit 3) if the gate fails.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate data, spec and priors only.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
) -> None:
    """Fit a Bayesian model; writes RUN/fit.nc (NetCDF) and RUN/summary.csv."""
    from attrbayes.runs import RUN_NAMES, prepare_fit, run_fit

    try:
        if out is None and not dry_run:
            raise AttrbayesError("give --out RUN (the run directory), or --dry-run")
        if out is not None and not dry_run:  # before any work: where the fit will go
            claim_dir(out, force=force, known=RUN_NAMES)
        config = SamplerConfig(
            sampler=sampler, backend=backend, chains=chains, draws=draws, tune=tune, seed=seed,
            progress=_interactive(),
        )  # fmt: skip
        with _step("Validating data, spec and priors"):
            prepared = prepare_fit(
                read_panel(data), spec, level=level, years=parse_years(years), priors=priors
            )
        console.print(prepared.describe(), markup=False)
        _print_left_out(prepared.model.design)
        if dry_run:
            return
        with _step(f"Sampling ({config.describe()})"):
            result = run_fit(prepared, config, out, overwrite=force)
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    t = result.timings
    console.print(f"compile {t['compile_s']:.1f} s, sampling {t['sampling_s']:.1f} s")
    _echo(result.summary().to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    console.print(f"Saved to {out / 'fit.nc'}")
    _print_gate(result, strict)


@app.command("attractiveness")
def attractiveness(
    run: Annotated[Path, typer.Argument(help="Run directory (or fit.nc).")],
    years: Annotated[str | None, typer.Option(help="First:last year of the period.")] = None,
    top: Annotated[int, typer.Option(help="Show the N most and least attractive.", min=1)] = 10,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the full table.")] = None,
) -> None:
    """Residential (migration fit) or business (jobs fit) attractiveness per place with
    intervals and rank distributions."""
    from attrbayes.runs import load_fit

    try:
        result = load_fit(run)
        period = parse_years(years)
        merged = result.ranked_attractiveness(years=period, top=top)
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    first, last = period or result.design.years
    shown = pd.concat([merged.head(top), merged.tail(top)])
    columns = {
        "place": "place",
        "name": "name",
        "pct_median": "% / yr",
        "pct_lower_80": "80% lo",
        "pct_upper_80": "80% hi",
        "persons_median": "persons / yr",
        "rank_median": "rank",
        "rank_lower_80": "rank lo",
        "rank_upper_80": "rank hi",
        f"p_top_{top}": f"P(top {top})",
        f"p_bottom_{top}": f"P(bottom {top})",
    }
    console.print(
        f"{ATTRACTIVENESS_NAME[result.spec.kind]} {first}-{last}, {result.spec.name} "
        f"({result.design.level}); intervals are 80 % equal-tailed",
        style="bold",
    )
    _echo(shown[list(columns)].rename(columns=columns).to_string(
        index=False, float_format=lambda v: f"{v:.3g}"
    ))  # fmt: skip
    if csv is not None:
        atomic_write_text(csv, csv_text(merged))
        console.print(f"Full table written to {csv}")


@app.command("decompose")
def decompose(
    run: Annotated[Path, typer.Argument(help="Run directory (or fit.nc).")],
    place: Annotated[
        str | None, typer.Option("--place", help="Place code (or a unique name).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region code.")] = None,
    county: Annotated[str | None, typer.Option("--county", help="County code.")] = None,
    centrality_class: Annotated[
        int | None, typer.Option("--class", help="Centrality class (1-6).")
    ] = None,
    places: Annotated[
        str | None,
        typer.Option("--places", help="Comma-separated place codes, summed as one group."),
    ] = None,
    relative: Annotated[
        bool,
        typer.Option(
            "--relative",
            help="Compared with Norway: each driver's rate minus Norway's rate of it, per draw.",
        ),
    ] = False,
    years: Annotated[str | None, typer.Option(help="First:last year of the period.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Panel directory: public-sector rows of a jobs fit; group membership when "
            "the fit lacks it.",
        ),
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the bar chart (PNG).")] = None,
) -> None:
    """Growth decomposition of a place or a group (region, county, centrality class, list
    of places; drivers summed per draw): population (migration fit) or jobs (jobs fit), per
    driver in persons (jobs) a year with 80/95 % intervals and ranks; --relative compares
    every driver with Norway's rate of it."""
    from attrbayes.decomposition import decompose as decompose_unit
    from attrbayes.decomposition import table_text
    from attrbayes.features.design import level_data
    from attrbayes.runs import load_fit

    selectors = {"place": place, "region": region, "county": county,
                 "centrality_class": centrality_class, "places": places}  # fmt: skip
    chosen = [(by, code) for by, code in selectors.items() if code is not None]
    try:
        if len(chosen) != 1:
            raise AttrbayesError("choose exactly one of --place, --region, --county, --class, "
                                 "--places")  # fmt: skip
        by, code = chosen[0]
        result = load_fit(run)
        period = parse_years(years)
        jobs, breaks, attributes = None, (), None
        if data is not None and (result.kind == "jobs" or by != "place"):
            panel = read_panel(data)
            level = level_data(panel, result.design.level)
            attributes = level.units
            if result.kind == "jobs" and panel.has("jobs"):
                jobs = level.tables["jobs"]
                breaks = panel.manifest.series_breaks.get("jobs", ())
        what = {"centrality_class": "centrality class"}.get(by, by)
        with _step(f"Decomposing {what} {code}"):
            dec = decompose_unit(result, code, period, jobs=jobs, breaks=breaks, by=by,
                                 relative=relative, attributes=attributes)  # fmt: skip
        if plot is not None:
            import textwrap

            from attrbayes.plots.decomposition import decomposition_plot_data, plot_decomposition

            title = textwrap.fill(dec.title, 80)  # long group titles on two lines
            figure = plot_decomposition(decomposition_plot_data(dec), title=title, unit=dec.unit)
            figure.axes[0].set_xlabel(dec.value_label)
            if dec.rank_label is None:  # a list of places: no ranks, no colour scale
                figure.axes[1].remove()
                if figure.axes[0].get_legend() is not None:
                    figure.axes[0].get_legend().remove()
            else:
                figure.axes[1].set_ylabel(dec.rank_label)
            plot.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(plot, dpi=120)
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    _echo(table_text(dec))
    if data is not None and result.kind != "jobs" and by == "place":
        console.print("--data is used only for the public-sector rows of a jobs fit and for groups")
    elif data is not None and result.kind == "jobs" and jobs is None:
        console.print(f"{data} has no jobs table: no public-sector rows")
    if csv is not None:
        atomic_write_text(csv, csv_text(dec.table))
        console.print(f"Table written to {csv}")
    if plot is not None:
        console.print(f"Chart written to {plot}")


@app.command("compare")
def compare(
    run: Annotated[Path, typer.Argument(help="Run directory (or fit.nc).")],
    plot: Annotated[Path | None, typer.Option(help="Where to save the centrality plot.")] = None,
    projection: Annotated[
        Path | None,
        typer.Option(
            help="A projection made from this fit: the plot adds the coefficient's "
            "projected band past the fit."
        ),
    ] = None,
    jobs: Annotated[
        Path | None,
        typer.Option(
            "--jobs",
            help="A jobs run (or fit.nc): its business attractiveness is compared too.",
        ),
    ] = None,
    scatter: Annotated[
        Path | None,
        typer.Option(help="Where to save the attractiveness scatter (default: next to RUN)."),
    ] = None,
    jobs_scatter: Annotated[
        Path | None,
        typer.Option(help="Where to save the --jobs scatter (default: next to the jobs run)."),
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option("--table", help="Write the per-place attractiveness table (CSV)."),
    ] = None,
) -> None:
    """OLS beside the posterior (same design): coefficients, the centrality-path plot (with
    --projection: fitted and projected), and attractiveness per place (statistics and a
    scatter; with --jobs for the jobs fit as well)."""
    from attrbayes.plots import figure_bytes
    from attrbayes.plots.attractiveness import plot_attractiveness_scatter
    from attrbayes.plots.centrality import (
        centrality_path_data,
        coefficient_outlook_data,
        plot_centrality_path,
        plot_coefficient_outlook,
    )
    from attrbayes.projection.result import ProjectionResult, projection_path
    from attrbayes.reporting.comparison import (
        attractiveness_comparison,
        ols_posterior_table,
        within_between_table,
    )
    from attrbayes.runs import load_fit

    try:
        result = load_fit(run)
        jobs_fit = _jobs_fit(jobs, result) if jobs is not None else None
        coefficients = ols_posterior_table(result)
        within_between = [within_between_table(f) for f in (result, jobs_fit) if f is not None]
        target = plot or _run_dir(run) / "centrality_path.png"
        if projection is not None:
            outlook = coefficient_outlook_data(ProjectionResult.load(projection_path(projection)),
                                               fit=result)  # fmt: skip
            title = f"Centrality coefficient of {result.spec.name}: fitted and projected"
            figure = plot_coefficient_outlook(outlook, title=title)
        elif "centrality_path" in result.posterior:
            figure = plot_centrality_path(centrality_path_data(result))
        if "centrality_path" in result.posterior:
            atomic_write_bytes(target, figure_bytes(figure))
        comparisons = [
            (attractiveness_comparison(result),
             scatter or _run_dir(run) / "attractiveness_scatter.png"),
        ]  # fmt: skip
        if jobs_fit is not None:
            comparisons.append(
                (attractiveness_comparison(jobs_fit),
                 jobs_scatter or _run_dir(jobs) / "business_scatter.png")
            )  # fmt: skip
        for comparison, path in comparisons:
            atomic_write_bytes(path, figure_bytes(plot_attractiveness_scatter(comparison)))
        if table is not None:
            stacked = pd.concat([c.table.assign(kind=c.kind) for c, _ in comparisons])
            stacked = stacked[["kind", *[c for c in stacked.columns if c != "kind"]]]
            atomic_write_text(table, csv_text(stacked))
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    console.print(f"OLS vs posterior, {result.spec.name} ({result.design.level}), 95 % intervals",
                  style="bold")  # fmt: skip
    _echo(coefficients.to_string(index=False, float_format=lambda v: f"{v:.5f}"))
    for wb in within_between:
        if not wb.empty:
            console.print("Within- and between-place effects (contextual terms), 95 % "
                          "intervals; OLS: the book's pooled fit and the Mundlak OLS",
                          style="bold")  # fmt: skip
            _echo(wb.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if "centrality_path" in result.posterior:
        console.print(f"Centrality plot written to {target}")
    for comparison, path in comparisons:
        _print_attractiveness_comparison(comparison)
        console.print(f"Scatter written to {path}")
    if table is not None:
        console.print(f"Per-place attractiveness table written to {table}")


def _run_dir(run: Path) -> Path:
    return run if run.is_dir() else run.parent


def _jobs_fit(path: Path, main):
    """The fit behind ``compare --jobs``: a jobs fit, beside a RUN that is not one."""
    from attrbayes.runs import fit_path, load_fit

    if main.kind == "jobs":
        raise AttrbayesError(
            f"--jobs adds a jobs fit to a migration fit, but RUN ({main.spec.name}) is "
            "already a jobs fit; compare it alone"
        )
    fit = load_fit(path)
    if fit.kind != "jobs":
        raise AttrbayesError(
            f"--jobs {path}: expected a jobs fit (a jobs spec such as jobs_2022), but "
            f"{fit_path(path)} is a {fit.kind} fit ({fit.spec.name})"
        )
    return fit


def _print_attractiveness_comparison(comparison) -> None:
    console.print(
        f"{comparison.kind.capitalize()} attractiveness, posterior median vs OLS point "
        f"({comparison.unit}): {comparison.spec_name} ({comparison.level}), "
        f"{len(comparison.table)} places, {comparison.window}",
        style="bold",
        markup=False,
        soft_wrap=True,
    )
    _echo(comparison.statistics.rename_axis(None).to_string(float_format=_three_decimals))


def _three_decimals(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


@app.command("diagnose")
def diagnose(
    run: Annotated[Path, typer.Argument(help="Run directory (or fit.nc).")],
    draws: Annotated[int, typer.Option(help="Posterior draws used for the PPC.", min=1)] = 500,
) -> None:
    """The diagnostics gate and a posterior predictive check of a saved fit."""
    from attrbayes.diagnostics.checks import posterior_predictive_check
    from attrbayes.runs import load_fit

    try:
        result = load_fit(run)
        report = result.convergence()
        ppc = posterior_predictive_check(result, max_draws=draws)
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    _echo(report.message())
    console.print("Posterior predictive check: share of observations inside the central "
                  "predictive intervals", style="bold")  # fmt: skip
    _echo(ppc.coverage.to_string(index=False))
    console.print("Summary statistics: observed vs replicated (p = P(replicated >= observed))",
                  style="bold")  # fmt: skip
    _echo(ppc.statistics.to_string(float_format=lambda v: f"{v:.4g}"))


@app.command("loo")
def loo(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
) -> None:
    """PSIS-LOO comparison of fits to the same observations."""
    from attrbayes.diagnostics.checks import compare_fits
    from attrbayes.runs import load_fit

    try:
        fits = {str(r): load_fit(r) for r in runs}
        result = compare_fits(fits)
    except (AttrbayesError, ValueError) as exc:
        _fail(exc)
    _echo(result.table.to_string(float_format=lambda v: f"{v:.2f}"))
    for name, bad in result.pareto_k_bad.items():
        if bad:
            console.print(f"{name}: {bad} observation(s) with high Pareto k (LOO less reliable)")


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/demo"),
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic panel.", min=0)
    ] = SynthConfig.seed,
    quick: Annotated[
        bool, typer.Option(help="Tiny MCMC settings (a smoke run; not for inference).")
    ] = False,
    real: Annotated[
        Path | None,
        typer.Option(help="Run on real Norwegian data built from this raw folder instead."),
    ] = None,
    structure: Annotated[str, typer.Option(help="Municipal structure for --real.")] = "2020",
) -> None:
    """The main job on the embedded default: synthesise, build features, fit OLS and the
    Bayesian model, compare them with the published estimates and the synthetic truth.
    With --real RAW the same job runs on the real panel built from RAW."""
    from attrbayes.pipeline import DEMO_PROJECTION_DRAWS, REAL_DRAWS, comparison_table, run_demo
    from attrbayes.plots import figure_bytes
    from attrbayes.plots.centrality import centrality_path_data, plot_centrality_path
    from attrbayes.reporting.comparison import ols_posterior_table
    from attrbayes.runs import RunLayout

    start = time.perf_counter()
    sampler = SamplerConfig.tiny() if quick else SamplerConfig()
    sampler = sampler.model_copy(update={"progress": _interactive()})
    if real is not None:
        if not quick:  # 1000 draws left sigma_group's R-hat at 1.010 on the real panel
            sampler = sampler.model_copy(update={"draws": REAL_DRAWS})
        _demo_real(real, out if out != Path("runs/demo") else Path("runs/demo-real"),
                   structure, sampler)  # fmt: skip
        console.print(f"\nDone in {time.perf_counter() - start:.1f} s")
        return
    try:
        with _step(
            f"Synthesising the default panel, fitting OLS, the Bayesian migration and job "
            f"models and projecting to 2050 into {out}"
        ) as say:
            draws = 100 if quick else DEMO_PROJECTION_DRAWS
            result = run_demo(out, seed=seed, sampler=sampler, projection_draws=draws,
                              progress=say)  # fmt: skip
    except AttrbayesError as exc:
        _fail(exc)
    for name, fit in result.region_fits.items():
        console.rule(f"{name} (region level)")
        _echo(fit.to_text())
    console.rule("The four model versions, region level, beside the published 2022 model")
    _echo(comparison_table(result.region_fits).to_string(float_format=lambda v: f"{v:.4f}"))
    csv = out / "ols_coefficients.csv"
    frames = [f.coefficient_table().assign(spec=n) for n, f in result.region_fits.items()]
    atomic_write_text(csv, csv_text(pd.concat(frames)))

    bayes = result.bayes
    console.rule("Bayesian migration_2022, municipality level: OLS vs posterior vs truth")
    table = ols_posterior_table(bayes).set_index("term")
    table["truth"] = pd.Series(result.truth)
    table["posterior_covers_truth"] = (table["posterior_lower"] <= table["truth"]) & (
        table["truth"] <= table["posterior_upper"]
    )
    table["ols_covers_truth"] = (table["ols_lower"] <= table["truth"]) & (
        table["truth"] <= table["ols_upper"]
    )
    _echo(table.to_string(float_format=lambda v: f"{v:.4f}"))
    t = bayes.timings
    console.print(
        f"{sampler.describe()}; compile {t['compile_s']:.1f} s, sampling {t['sampling_s']:.1f} s"
    )
    _print_gate(bayes, strict=False)
    figure = plot_centrality_path(centrality_path_data(bayes))
    atomic_write_bytes(out / "migration_2022" / "centrality_path.png", figure_bytes(figure))
    console.rule("Residential attractiveness (posterior), most and least attractive")
    _print_ranked(bayes, 5)
    console.print(
        "\nOLS ignores the drifting centrality coefficient, year effects and persistent\n"
        "attractiveness (which feeds back into DS and job growth); the hierarchical model\n"
        "accounts for them. Attractiveness is in % of population per year (80 % intervals)."
    )
    console.rule("Job growth model (jobs_2022): posterior")
    _echo(result.jobs.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    _print_gate(result.jobs, strict=False)
    layout = RunLayout(out)
    _demo_projection(result.projection, layout.projection_dir.root)
    with _step("Writing the planner report of 0301 (bokmål) with its tables"):
        from attrbayes.reporting import report as rp

        sources = rp.ReportSources(
            out,
            result.bayes,
            result.jobs,
            result.panel,
            result.projection,
            layout.projection_dir.projection,
            features=result.features,
        )
        builder = rp.ReportBuilder(sources)  # the results in memory, not read again
        html = layout.report_dir / "0301.html"
        rp.write_report(builder.build("0301", lang="nb"), html, xlsx=html.with_suffix(".xlsx"))
    console.print(f"Report: {html}; every place with `attrbayes report {out} --all --out DIR`")
    console.print(f"\nDone in {time.perf_counter() - start:.1f} s; outputs in {out}")


def _demo_projection(projection, out: Path) -> None:
    """Print the projection's headline numbers and write its fan charts."""
    from attrbayes.plots import figure_bytes
    from attrbayes.plots.fan import fan_chart_data, fan_title, plot_fan_chart
    from attrbayes.projection.tables import resolve_unit

    console.rule("Projections to 2050 (posterior median, 80 % interval)")
    classes = projection.quantiles("population", by="centrality_class")
    base, last = int(projection.ds.year[0]), int(projection.ds.year[-1])
    end = classes[classes["year"] == last]
    cells = end.assign(cell=end["median"].map("{:,.0f}".format) + " ["
                       + end["lower_80"].map("{:,.0f}".format) + " - "
                       + end["upper_80"].map("{:,.0f}".format) + "]")  # fmt: skip
    table = cells.pivot(index="place", columns="scenario", values="cell")
    start = classes[(classes["year"] == base) & (classes["scenario"] == classes["scenario"][0])]
    table.insert(0, str(base), start.set_index("place")["median"].map("{:,.0f}".format))
    console.print(f"Population by centrality class, {base} and {last} (median [80 %]):")
    _echo(table.rename_axis("class").to_string())
    charts = {"fan_nation.png": ("nation", None), "fan_class6.png": ("centrality_class", 6),
              "fan_0301.png": ("place", "0301")}  # fmt: skip
    for name, (level, code) in charts.items():
        unit = resolve_unit(projection, level, code)
        data = fan_chart_data(projection, "population", unit)
        figure = plot_fan_chart(data, title=fan_title("population", unit))
        atomic_write_bytes(out / name, figure_bytes(figure))
    console.print(f"Fan charts: {', '.join(charts)} in {out}; more with `attrbayes fan {out}`")
    if "centrality_coefficient" in projection.ds:
        from attrbayes.plots.centrality import coefficient_outlook_data, plot_coefficient_outlook

        outlook = coefficient_outlook_data(projection)
        _echo_outlook(outlook)
        atomic_write_bytes(out / "centrality_outlook.png",
                           figure_bytes(plot_coefficient_outlook(outlook)))  # fmt: skip
        console.print(f"Its chart: centrality_outlook.png in {out}")


def _demo_real(raw: Path, out: Path, structure: str, sampler: SamplerConfig) -> None:
    """``demo --real``: the real panel, the published-model replication, the Bayesian fit."""
    from attrbayes.pipeline import run_real_demo
    from attrbayes.plots import figure_bytes
    from attrbayes.plots.centrality import centrality_path_data, plot_centrality_path

    try:
        with _step(f"Building the real panel from {raw}, refitting OLS and the Bayesian model"):
            result = run_real_demo(raw, out, structure=structure, sampler=sampler)
    except AttrbayesError as exc:
        _fail(exc)
    panel = read_panel(result.panel_dir)
    _print_build_report(panel, result.report, result.panel_dir)
    console.rule("The published OLS versions refitted on the real panel")
    _echo(result.replication.to_text())
    atomic_write_text(out / "replication.csv", csv_text(result.replication.table))
    bayes = result.bayes
    console.rule(f"Bayesian {bayes.spec.name}, municipality level")
    _echo(bayes.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    _print_gate(bayes, strict=False)
    console.rule("Time-varying centrality coefficient (posterior median, 80 % interval)")
    _echo(bayes.centrality_table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    figure = plot_centrality_path(centrality_path_data(bayes))
    atomic_write_bytes(out / bayes.spec.name / "centrality_path.png", figure_bytes(figure))
    console.rule("Residential attractiveness (posterior): top and bottom 10 municipalities")
    _print_ranked(bayes, 10)


def _print_ranked(fit, each: int) -> None:
    """The ``each`` most and least attractive places with 80 % intervals and rank odds."""
    att = fit.ranked_attractiveness(top=10)
    shown = pd.concat([att.head(each), att.tail(each)])
    columns = ["place", "name", "pct_median", "pct_lower_80", "pct_upper_80", "rank_median",
               "rank_lower_80", "rank_upper_80", "p_top_10", "p_bottom_10"]  # fmt: skip
    _echo(shown[columns].to_string(index=False, float_format=lambda v: f"{v:.3g}"))


@app.command("fan")
def fan(
    proj: Annotated[
        Path, typer.Argument(help="Projection directory (with projection.nc) or the .nc file.")
    ],
    place: Annotated[
        str | None, typer.Option("--place", help="Municipality code (or a unique name).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region code.")] = None,
    county: Annotated[str | None, typer.Option("--county", help="County code.")] = None,
    centrality_class: Annotated[
        int | None, typer.Option("--class", help="Centrality class (1-6).")
    ] = None,
    nation: Annotated[bool, typer.Option("--nation", help="All places together.")] = False,
    centrality: Annotated[
        bool,
        typer.Option(
            "--centrality",
            help="The centrality coefficient instead: fitted and "
            "carried forward, with P(coefficient < 0).",
        ),
    ] = False,
    variable: Annotated[
        str,
        typer.Option(help="population|0-15|16-66|67+|80+|births|deaths|net_migration|jobs"),
    ] = "population",
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="Scenario to show (repeat; default all).")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="CSV (year, value, label) drawn on every panel, e.g. SSB's MMM."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the fan chart (PNG).")] = None,
    overlay: Annotated[bool, typer.Option(help="Scenarios in one panel (median, 80 %).")] = False,
    age_groups: Annotated[
        bool, typer.Option("--age-groups", help="With --out: 2x2 age-group fans per scenario.")
    ] = False,
    pyramid: Annotated[
        int | None, typer.Option(help="With --out: population pyramid of this year per scenario.")
    ] = None,
    five_year: Annotated[
        bool, typer.Option("--five-year", help="Pyramid by 5-year age groups.")
    ] = False,
    table: Annotated[
        Path | None,
        typer.Option(help="Write the quantile table of all variables (.csv, .parquet, .xlsx)."),
    ] = None,
    norwegian: Annotated[
        bool, typer.Option(help="xlsx: Norwegian number formats (1 234 567).")
    ] = False,
) -> None:
    """Fan chart of a projection (median, 50/80/95 % intervals) for a place or a group
    (summed per draw), with the median and 80 % interval at milestone years."""
    from attrbayes.io_utils import atomic_write_bytes
    from attrbayes.plots import fan as fan_plots
    from attrbayes.plots import figure_bytes
    from attrbayes.projection import tables as pt
    from attrbayes.projection.result import ProjectionResult, projection_path

    selectors = {"place": place, "region": region, "county": county,
                 "centrality_class": centrality_class, "nation": nation or None,
                 "centrality": centrality or None}  # fmt: skip
    chosen = [(level, code) for level, code in selectors.items() if code is not None]
    written: list[Path] = []
    try:
        if len(chosen) != 1:
            raise AttrbayesError("choose exactly one of --place, --region, --county, --class, "
                                 "--nation, --centrality")  # fmt: skip
        if centrality:
            _fan_centrality(proj, (scenario or [None])[0], out)
            return
        if (pyramid is not None or age_groups) and out is None:
            raise AttrbayesError("--pyramid and --age-groups need --out (charts go beside it)")
        pt.check_variable(variable)
        source = projection_path(proj)
        with _step(f"Reading {source}"):
            result = ProjectionResult.load(source)
        level, code = chosen[0]
        unit = pt.resolve_unit(result, level, code)
        scenarios = pt.check_scenarios(result, scenario)
        ref = fan_plots.read_reference(reference) if reference is not None else None
        with _step(f"Summarising {unit.label}"):  # every check before anything is written
            data = fan_plots.fan_chart_data(
                result, variable, unit, scenarios=scenarios, reference=ref
            )
            summary = pt.unit_quantile_table(result, unit, scenarios=scenarios)
            ages = {s: fan_plots.age_group_fan_data(result, unit, s)
                    for s in (scenarios if age_groups else ())}  # fmt: skip
            width = 5 if five_year else 1
            pyramids = {s: fan_plots.pyramid_data(result, unit, s, pyramid, bin_width=width)
                        for s in (scenarios if pyramid is not None else ())}  # fmt: skip
            if table is not None and table.suffix.lower() not in (".csv", ".parquet", ".xlsx"):
                raise AttrbayesError(f"{table}: write tables as .csv, .parquet or .xlsx")
        title = fan_plots.fan_title(variable, unit)
        if out is not None:
            with _step("Drawing"):
                unit_name = "jobs" if variable == "jobs" else "persons"
                figure = fan_plots.plot_fan_chart(data, title=title, ylabel=unit_name,
                                                  overlay=overlay)  # fmt: skip
                written.append(atomic_write_bytes(out, figure_bytes(figure)))
                for name, frame in ages.items():
                    figure = fan_plots.plot_age_group_fans(
                        frame, title=f"Population by age group: {unit.label}, {name}"
                    )
                    path = out.with_name(f"{out.stem}_age_groups_{name}.png")
                    written.append(atomic_write_bytes(path, figure_bytes(figure)))
                for name, frame in pyramids.items():
                    figure = fan_plots.plot_pyramid(
                        frame, title=f"Population 1 January {pyramid}: {unit.label}, {name}"
                    )
                    path = out.with_name(f"{out.stem}_pyramid_{pyramid}_{name}.png")
                    written.append(atomic_write_bytes(path, figure_bytes(figure)))
        if table is not None:
            written.append(pt.write_table(summary, table, norwegian=norwegian))
    except (AttrbayesError, OSError) as exc:
        _fail(exc)
    _echo(f"{title}: median [80 % interval]")
    years = pt.milestone_years(summary.loc[summary["variable"] == variable, "year"].unique())
    _echo(pt.milestone_text(summary, variable, years=years))
    for path in written:
        console.print(f"Written {path}")


def _fan_centrality(proj: Path, scenario: str | None, out: Path | None) -> None:
    """``fan --centrality``: the coefficient's outlook as a table (and chart)."""
    from attrbayes.plots import figure_bytes
    from attrbayes.plots.centrality import coefficient_outlook_data, plot_coefficient_outlook
    from attrbayes.projection.result import ProjectionResult, projection_path

    source = projection_path(proj)
    with _step(f"Reading {source}"):
        result = ProjectionResult.load(source)
    data = coefficient_outlook_data(result, scenario=scenario)
    if out is not None:
        atomic_write_bytes(out, figure_bytes(plot_coefficient_outlook(data)))
    _echo_outlook(data)
    if out is not None:
        console.print(f"Written {out}")


def _echo_outlook(data: pd.DataFrame) -> None:
    """The coefficient's process and its median [80 %] and P(< 0) at milestone years."""
    from attrbayes.plots.centrality import PROCESS_LABELS

    last, base = data.attrs["last_fitted"], data.attrs["base_year"]
    process = PROCESS_LABELS.get(data.attrs["process"], data.attrs["process"])
    link = " with the immigration link" if data.attrs["immigration"] else ""
    _echo(f"Centrality coefficient: fitted to {last}, carried forward as {process}{link}; "
          "median [80 % interval], P(< 0)")  # fmt: skip
    end = int(data["year"].max())
    years = [y for y in dict.fromkeys([last, base, 2030, 2040, end]) if y in set(data["year"])]
    for row in data.set_index("year").loc[years].itertuples():
        _echo(f"  {row.Index}: {row.median:.4f} [{row.lower_80:.4f}, {row.upper_80:.4f}], "
              f"P(< 0) = {row.p_negative:.2f}")  # fmt: skip


@app.command("project")
def project_command(
    run: Annotated[
        Path,
        typer.Argument(help="A migration run, or a directory with panel/ and both runs."),
    ],
    jobs: Annotated[Path | None, typer.Option("--jobs", help="The jobs run.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Panel directory.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Projection directory to write.")] = Path(
        "runs/projection"
    ),
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Scenario (repeat; default: all five)."),
    ] = None,
    to: Annotated[int, typer.Option("--to", help="Last year.")] = 2050,
    assumptions: Annotated[
        str, typer.Option(help="National assumption set (name or TOML path).")
    ] = "synthetic",
    alternative: Annotated[str, typer.Option(help="low, main or high.")] = "main",
    draws: Annotated[int, typer.Option(help="Posterior draws to project.", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the process noise.", min=0)] = 20261128,
    noise: Annotated[bool, typer.Option(help="Yearly process noise.")] = True,
    centrality_noise: Annotated[
        bool,
        typer.Option(
            help="Random innovations of the centrality coefficient's process past "
            "the fit (off: its expected path, to see how much of the fans it makes)."
        ),
    ] = True,
    force: Annotated[bool, typer.Option(help="Replace an existing projection.")] = False,
    jobs_shock: Annotated[
        list[str] | None,
        typer.Option(
            "--jobs-shock",
            help="CODE:YEAR:+N private jobs added in a year (repeat; negative for a closure); "
            "every scenario is run without and with them and OUT/shock_effect.csv holds the "
            "effect on the place and its commuting neighbours.",
        ),
    ] = None,
    attractiveness: Annotated[
        float | None,
        typer.Option(help="custom scenario: residential attractiveness, % a year (0.2)."),
    ] = None,
    attractiveness_percentile: Annotated[
        float | None,
        typer.Option(
            help="custom scenario: residential attractiveness at this percentile "
            "of all places' last ten years (per draw)."
        ),
    ] = None,
    business_attractiveness: Annotated[
        float | None,
        typer.Option(help="custom scenario: business attractiveness, % a year."),
    ] = None,
    business_attractiveness_percentile: Annotated[
        float | None,
        typer.Option(help="custom scenario: business attractiveness at this percentile."),
    ] = None,
    pyramid_years: Annotated[
        str | None,
        typer.Option(
            help="Years of the population pyramids, e.g. 2030,2040,2050 "
            "(default: the base year and the last year)."
        ),
    ] = None,
    flow_draws: Annotated[
        bool,
        typer.Option(
            help="Keep births, deaths and net migration per draw too (for "
            "trajectories of them; a larger file). They are kept as quantiles of "
            "every place and group anyway."
        ),
    ] = False,
    pyramids: Annotated[
        str | None,
        typer.Option(
            help="Places whose pyramids are kept per draw (CODE,CODE,...), for "
            "age groups other than 1 or 5 years; every place and group keeps "
            "its pyramids' quantiles anyway."
        ),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            help="KEY=V1,V2,...: a projection per value (repeat: per combination), as Dask "
            "tasks into OUT/tasks/; KEY is assumptions, alternative, attractiveness, "
            "attractiveness-percentile or their business- forms. Needs --scheduler.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --sweep: 'local' (a cluster of --workers processes here) "
            "or a Dask scheduler's address."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes of the local Dask cluster.", min=1)
    ] = 2,
) -> None:
    """Project population and jobs over the posterior draws of a migration and a jobs fit
    (cohort-component, both equations year by year); writes OUT/projection.nc.

    Scenarios: neutral, historical, historical_constant, high, low, and custom (levels of
    one's own: --attractiveness / --attractiveness-percentile and their business forms).
    """
    from attrbayes.pipeline import run_projection
    from attrbayes.projection.engine import JobShock
    from attrbayes.projection.scenarios import SCENARIOS, custom_scenario
    from attrbayes.runs import PROJECTION_NAMES, RunLayout, resolve_projection_runs

    if sweep:
        levels = (attractiveness, attractiveness_percentile, business_attractiveness,
                  business_attractiveness_percentile)  # fmt: skip
        _project_sweep(run, jobs, data, out, sweep, scheduler, workers, force, {
            "scenarios": scenario, "to": to, "assumptions": assumptions,
            "alternative": alternative, "draws": draws, "seed": seed, "noise": noise,
            "centrality_noise": centrality_noise, "job_shocks": jobs_shock,
            "pyramid_years": _year_list(pyramid_years, "--pyramid-years"),
            "pyramid_places": _code_list(pyramids), "flow_draws": flow_draws,
        }, levels=levels)  # fmt: skip
        return
    try:
        claim_dir(out, force=force, known=PROJECTION_NAMES)  # before any work
        custom = custom_scenario(
            attractiveness,
            attractiveness_percentile,
            business_attractiveness,
            business_attractiveness_percentile,
        )
        if custom is not None and not scenario:
            scenario = ["custom"]
        shocks = [JobShock.parse(text) for text in jobs_shock or []]
        with _step(f"Reading the fits and the panel from {run}"):
            runs = resolve_projection_runs(run, jobs, data)
        with _step(
            f"Projecting to {to} ({draws} draws, {alternative} alternative)"
            + (", with and without the job shocks" if shocks else "")
        ) as say:
            result = run_projection(
                runs, out, overwrite=force, scenarios=scenario or list(SCENARIOS), to=to,
                assumptions=assumptions, alternative=alternative, draws=draws, seed=seed,
                noise=noise, centrality_noise=centrality_noise, custom=custom,
                job_shocks=shocks, pyramid_years=_year_list(pyramid_years, "--pyramid-years"),
                pyramid_places=_code_list(pyramids), flow_draws=flow_draws, progress=say,
            )  # fmt: skip
    except AttrbayesError as exc:
        _fail(exc)
    if shocks:
        _echo_shock_effect(result, RunLayout(out).shock_effect)
    nation = result.quantiles("population", by="nation")
    years = [y for y in (int(result.ds.year[0]), 2030, 2040, to) if y in set(nation["year"])]
    shown = nation[nation["year"].isin(years)].pivot(index="year", columns="scenario",
                                                     values="median")  # fmt: skip
    console.print("Population of all places together, posterior median:", style="bold")
    _echo(shown.to_string(float_format=lambda v: f"{v:,.0f}"))
    if "centrality_coefficient" in result.ds:
        from attrbayes.plots.centrality import coefficient_outlook_data

        _echo_outlook(coefficient_outlook_data(result))
    for note in filter(None, str(result.ds.attrs.get("notes", "")).split("; ")):
        console.print(f"note: {note}", style="dim")
    console.print(f"Written {out / 'projection.nc'} and {out / 'population.csv'}; draw fan "
                  f"charts with: attrbayes fan {out} --place CODE --out fan.png")  # fmt: skip


def _project_sweep(run: Path, jobs: Path | None, data: Path | None, out: Path,
                   sweep: list[str], scheduler: str | None, workers: int, force: bool,
                   options: dict, *, levels: tuple) -> None:  # fmt: skip
    """``project --sweep``: a projection per combination of the swept settings, as Dask
    tasks, and their population quantiles in one table (``levels``: the custom
    scenario's levels as given, in the order of ``custom_scenario``'s arguments)."""
    from attrbayes.diagnostics import sweep as sw
    from attrbayes.projection.engine import JobShock
    from attrbayes.projection.scenarios import SCENARIOS, check_scenarios, custom_scenario
    from attrbayes.runs import resolve_projection_runs

    levels = dict(zip(sw.LEVEL_KEYS, levels, strict=True))
    try:
        if scheduler is None:
            raise AttrbayesError("--sweep runs its projections as Dask tasks: give "
                                 "--scheduler local (or a scheduler's address)")  # fmt: skip
        axes = sw.parse_sweep(sweep)
        cells = sw.sweep_cells(axes)
        continuing = (out / sw.SETTINGS_FILE).is_file()
        claim_dir(out, force=force or continuing, known=sw.PROJECTION_SWEEP_NAMES)
        customs = [
            custom_scenario(*({**levels, **c}.get(k) for k in sw.LEVEL_KEYS)) for c in cells
        ]  # fmt: skip  (every cell's levels checked before any work)
        options["scenarios"] = list(options["scenarios"] or (
            ["custom"] if customs[0] is not None else SCENARIOS))  # fmt: skip
        for custom in customs:
            check_scenarios(options["scenarios"], custom)
        options["job_shocks"] = [JobShock.parse(t) for t in options["job_shocks"] or []]
        with _step(f"Checking the fits and the panel from {run}"):  # once, before the tasks
            resolve_projection_runs(run, jobs, data)
        cluster = sw.Cluster(scheduler, workers, progress=_task_line)
        with _step(f"Projecting {len(cells)} combination(s) of {', '.join(axes)} on "
                   f"{cluster.describe()}"):  # fmt: skip
            outcome, table = sw.run_projection_sweep((run, jobs, data), axes, out,
                                                     levels=levels, options=options,
                                                     cluster=cluster, force=force)  # fmt: skip
    except AttrbayesError as exc:
        _fail(exc)
    _print_failed(outcome.failed)
    if outcome.skipped:
        console.print(f"{len(outcome.skipped)} projection(s) made by an earlier run: skipped")
    if not table.empty:
        last = table[(table["level"] == "nation") & (table["year"] == table["year"].max())]
        console.print(f"Population of all places together in {int(last['year'].max())}, "
                      "posterior median:", style="bold")  # fmt: skip
        wide = last.pivot_table(index=list(axes), columns="scenario", values="median")
        _echo(wide.to_string(float_format=lambda v: f"{v:,.0f}"))
        console.print(f"Written {out / sw.SWEEP_TABLE}; each projection is in "
                      f"{out / sw.TASKS_DIR}/KEY (attrbayes fan {out / sw.TASKS_DIR}/KEY "
                      "--place CODE)")  # fmt: skip
    _exit_to_retry(outcome.failed, "projections")


def _year_list(text: str | None, option: str) -> list[int] | None:
    """``2030,2040`` as years; None when not given."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise AttrbayesError(f"{option} {text!r}: expected years separated by commas, "
                             "e.g. 2030,2040,2050") from None  # fmt: skip


def _code_list(text: str | None) -> list[str]:
    """``0301,5001`` as place codes."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _echo_shock_effect(result, path: Path) -> None:
    """The job shocks' effect at milestone years: median [80 %] persons and jobs."""
    from attrbayes.projection.tables import milestone_years, shock_effect_table

    table = shock_effect_table(result)
    years = milestone_years(table["year"].unique(), (2030, 2040, 2050))
    first = result.scenarios[0]
    shown = table[table["year"].isin(years) & (table["scenario"] == first)]

    def signed(value: float) -> str:  # a tenth where effects are small
        return f"{value:+.1f}" if abs(value) < 9.95 else f"{value:+,.0f}"

    shown = shown.assign(effect=[
        f"{signed(m)} [{signed(lo)}, {signed(hi)}]"
        for m, lo, hi in zip(shown["median"], shown["lower_80"], shown["upper_80"], strict=True)
    ])  # fmt: skip
    wide = shown.pivot(index=["variable", "place", "name"], columns="year", values="effect")
    order = {p: i for i, p in enumerate(result.ds["effect_place"].values)}
    wide = wide.sort_index(level="place", key=lambda c: c.map(order)).sort_index(
        level="variable", sort_remaining=False)  # fmt: skip
    console.print(f"Effect of the job shocks ({result.ds.attrs['job_shocks']}), scenario "
                  f"{first}: median [80 % interval] vs the run without "
                  "them", style="bold")  # fmt: skip
    _echo(wide.to_string())
    console.print(f"All scenarios and years: {path}")


def _true_coefficient(data: Path, specs: list[str]) -> pd.Series | None:
    """A synthetic panel's true centrality coefficient by year, for specs that use the
    index the generator drives migration with (job-only centrality); else None."""
    loaded = [load_spec(s) for s in specs]
    if not (data / TRUTH_DIR).is_dir() or any(
        s.centrality != "jobs" or not s.has_centrality for s in loaded
    ):
        return None
    years = read_truth(data)[0]["years"]
    return years.set_index("year")["centrality"]


@app.command("target")
def target_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A projection (its fits, panel and settings are reused), a migration run "
            "(with --jobs and --data) or a directory with panel/ and both runs."
        ),
    ],
    place: Annotated[str, typer.Option("--place", help="Place code, e.g. 5614.")],
    year: Annotated[int, typer.Option("--year", help="Target year.")] = 2040,
    population: Annotated[
        float | None, typer.Option("--population", help="Target number of persons.")
    ] = None,
    age_group: Annotated[
        str | None,
        typer.Option("--age-group", help="Count only an age group: 0-15, 16-66, 67+ or 80+."),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Target: keep the base year's number.")
    ] = False,
    no_decline: Annotated[
        bool,
        typer.Option(
            "--no-decline",
            help="Target: no fewer inhabitants than in the "
            "base year (same as --keep for the whole population).",
        ),
    ] = False,
    jobs: Annotated[Path | None, typer.Option("--jobs", help="The jobs run.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Panel directory.")] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Scenarios to give probabilities for (repeat)."),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            help="Posterior draws (default: the projection's, at most 400; else 200).", min=1
        ),
    ] = None,
    assumptions: Annotated[
        str | None, typer.Option(help="National assumption set (default: the projection's).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory for target.json, target_draws.parquet and target_fan.png."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an earlier target in OUT.")] = False,
) -> None:
    """What must happen: the residential attractiveness (% a year and persons a year) or,
    separately, the extra private jobs a year that bring a place to a population target,
    solved per posterior draw, with the probability of reaching it in each scenario and
    where the needed level stands among all places' history."""
    from attrbayes.projection.engine import Projector
    from attrbayes.projection.scenarios import SCENARIOS
    from attrbayes.projection.targets import Target, reach_target
    from attrbayes.runs import (
        TARGET_NAMES,
        RunLayout,
        projection_settings,
        resolve_projection_runs,
    )

    try:
        if out is not None:  # before any work
            claim_dir(out, force=force, known=TARGET_NAMES)
        if sum([population is not None, keep, no_decline]) != 1:
            raise SpecError("give exactly one target: --population N, --keep or --no-decline")
        if no_decline and age_group is not None:
            raise SpecError("--no-decline is about the whole population; for an age group "
                            "use --keep")  # fmt: skip
        target = Target(place, year, population, age_group)
        settings = {"assumptions": "synthetic", "alternative": "main", "seed": 20261128,
                    "to": year, "draws": 200, "scenarios": list(SCENARIOS)}  # fmt: skip
        if RunLayout(source).projection.is_file():
            settings = projection_settings(source)
            settings["draws"] = min(settings["draws"], 400)
            settings["to"] = max(settings["to"], year)
        settings["draws"] = draws or settings["draws"]
        settings["assumptions"] = assumptions or settings["assumptions"]
        projected = settings.pop("scenarios")
        chosen = scenario or [s for s in projected if s in SCENARIOS]
        with _step(f"Reading the fits and the panel from {source}"):
            runs = resolve_projection_runs(source, jobs, data)
            projector = Projector(runs.migration, runs.jobs, runs.panel, pyramid_years=(),
                                  **settings)  # fmt: skip
        with _step(f"Solving for the target over {projector.n} draws"):
            result = reach_target(projector, target, scenarios=chosen, progress=_progress_line)
        if out is not None:
            from attrbayes.plots import figure_bytes
            from attrbayes.plots.fan import fan_chart_data, plot_fan_chart
            from attrbayes.projection.tables import resolve_unit

            result.save(out)
            unit = resolve_unit(result.projection, "place", place)
            variable = age_group or "population"
            data_rows = fan_chart_data(result.projection, variable, unit,
                                       reference=result.fan_reference())  # fmt: skip
            title = f"{unit.label}: {variable}, target {result.value:,.0f} in {year}"
            figure = plot_fan_chart(data_rows, title=title)
            atomic_write_bytes(out / "target_fan.png", figure_bytes(figure))
    except AttrbayesError as exc:
        _fail(exc)
    _echo(result.text())
    if out is not None:
        console.print(f"Written {out / 'target.json'}, {out / 'target_draws.parquet'} and "
                      f"{out / 'target_fan.png'}")  # fmt: skip


def _progress_line(message: str) -> None:
    """One line per solver step, so long work shows that it moves."""
    err.print(f"  {message}", style="dim")


@app.command("backtest")
def backtest_command(
    data: Annotated[Path, typer.Option("--data", help="Panel directory.")],
    origin: Annotated[list[int], typer.Option("--origin", help="Origin year T (repeat).")],
    horizon: Annotated[
        list[int] | None, typer.Option("--horizon", help="Years ahead (repeat; default 1, 5).")
    ] = None,
    migration_spec: Annotated[
        list[str] | None,
        typer.Option(
            "--migration-spec", help="Migration spec (repeat to compare; default migration_2022)."
        ),
    ] = None,
    jobs_spec: Annotated[str, typer.Option(help="Jobs spec.")] = "jobs_2022",
    priors: Annotated[
        list[str] | None,
        typer.Option(
            "--priors",
            help="Prior set of the migration fits (repeat to compare; default weakly_informative).",
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="Scenario (repeat).")
    ] = None,
    assumptions: Annotated[
        str, typer.Option(help="Fallback assumption set for unobserved national paths.")
    ] = "synthetic",
    draws: Annotated[int, typer.Option(help="Posterior draws to project.", min=1)] = 200,
    chains: Annotated[int, typer.Option(help="MCMC chains.", min=1)] = 4,
    mcmc_draws: Annotated[int, typer.Option("--mcmc-draws", help="Draws per chain.", min=1)] = 1000,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain.", min=0)] = 1000,
    baseline: Annotated[bool, typer.Option(help="Also score the OLS baseline.")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the scores.")] = None,
    force: Annotated[bool, typer.Option(help="Replace the scores in OUT.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run the grid as Dask tasks: 'local' (a cluster of --workers "
            "processes here) or a scheduler's address; each origin x spec x prior set "
            "writes OUT/tasks/..., and a rerun skips the finished ones."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes of the local Dask cluster.", min=1)
    ] = 2,
) -> None:
    """Rolling-origin backtest: fit on data up to each origin, project, and score coverage,
    CRPS, MAPE and bias against the observed population (beside the OLS baseline). On a
    synthetic panel (with truth) the projected centrality coefficient is scored too."""
    from attrbayes.diagnostics.backtest import BACKTEST_NAMES, backtest

    sweep = None
    try:
        if scheduler is not None and out is None:
            raise AttrbayesError("--scheduler needs --out DIR: each task writes its result there")
        if out is not None:  # before any work; a grid's rerun continues its own folder
            claim_dir(out, force=force or scheduler is not None, known=BACKTEST_NAMES)
        panel = read_panel(data)
        specs = migration_spec or ["migration_2022"]
        prior_sets = priors or [None]
        if len(prior_sets) > 1 and scheduler is None:
            raise AttrbayesError("several --priors make a grid: give --scheduler local "
                                 "(or an address) and --out DIR")  # fmt: skip
        truth = _true_coefficient(data, specs)
        options = {"horizons": horizon or [1, 5], "jobs_spec": jobs_spec,
                   "sampler": SamplerConfig(chains=chains, draws=mcmc_draws, tune=tune),
                   "draws": draws, "scenarios": scenario or ["historical", "neutral"],
                   "assumptions": assumptions, "coefficient_truth": truth}  # fmt: skip
        if scheduler is not None:
            sweep = _backtest_grid(data, origin, specs, prior_sets, out, scheduler, workers,
                                   force, {**options, "baseline": baseline})  # fmt: skip
            result = sweep.result
        else:
            with _step(f"Backtesting origins {origin}"):
                result = backtest(panel, origin, migration_spec=specs, baseline=baseline,
                                  priors=prior_sets[0], **options)  # fmt: skip
    except AttrbayesError as exc:
        _fail(exc)
    _print_failed(sweep.failed if sweep is not None else {})
    if result is None:
        _fail(AttrbayesError("no task of the grid finished; rerun the same command to retry"))
    _echo(result.summary().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not result.coefficient.empty:
        console.print("Centrality coefficient against the truth, by years after the fit:",
                      style="bold")  # fmt: skip
        summary = result.coefficient_summary()
        _echo(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for note in result.notes:
        console.print(escape(note))
    if sweep is not None:
        if sweep.skipped:
            console.print(f"{len(sweep.skipped)} task(s) finished by an earlier run: skipped")
        console.print(f"Scores of {len(sweep.ran) + len(sweep.skipped)} finished task(s) in "
                      f"{out}")  # fmt: skip
        _exit_to_retry(sweep.failed, "tasks")
    elif out is not None:
        paths = result.save(out)
        console.print(f"Written {', '.join(str(p) for p in paths[:3])}")


def _backtest_grid(data, origins, specs, priors, out, scheduler, workers, force, options):
    """The backtest grid on Dask (attrbayes.diagnostics.sweep), with a line per task."""
    from attrbayes.diagnostics.sweep import Cluster, run_sweep

    cluster = Cluster(scheduler, workers, progress=_task_line)
    size = f"{len(origins)} origin(s) x {len(specs)} spec(s) x {len(priors)} prior set(s)"
    with _step(f"Backtest grid: {size} on {cluster.describe()}"):
        return run_sweep(data, origins, specs, out, priors=priors, cluster=cluster,
                         force=force, **options)  # fmt: skip


def _print_failed(failed: dict[str, str]) -> None:
    """A line for each task of a sweep that failed, with its error."""
    for key, error in failed.items():
        err.print(f"[bold red]failed:[/bold red] {escape(key)}: {escape(error)}", soft_wrap=True)


def _exit_to_retry(failed: dict[str, str], what: str) -> None:
    """Exit 1 after a sweep with failed tasks, saying how to retry them."""
    if failed:
        err.print(f"rerun the same command to retry the failed {what} (finished ones are "
                  "skipped)")  # fmt: skip
        raise typer.Exit(code=1)


def _task_line(key: str, error: str | None) -> None:
    """A line for each task of a sweep as it ends."""
    console.print(f"  {key}: {'done' if error is None else f'failed ({error})'}", markup=False,
                  style="dim")  # fmt: skip


@app.command("report")
def report_command(
    run: Annotated[
        Path, typer.Argument(help="A run directory with panel/ and both fits (attrbayes demo).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="The report (FILE.html), or a directory with --all.")
    ],
    place: Annotated[
        str | None, typer.Option("--place", help="Municipality code (or a unique name).")
    ] = None,
    all_places: Annotated[
        bool, typer.Option("--all", help="One report per place into --out DIR, plus index.html.")
    ] = False,
    projection: Annotated[
        Path | None,
        typer.Option(help="Projection directory or .nc (default: RUN/projection if present)."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Language: nb (bokmål) or en.")] = "nb",
    years: Annotated[
        str | None, typer.Option(help="First:last year of the period (default: last ten fitted).")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="CSV (year, value[, label][, place]) drawn on the fan charts."),
    ] = None,
    age_groups: Annotated[
        list[str] | None,
        typer.Option(
            "--age-groups", help="Scenario with age-group fans (repeat; 'all'; default historical)."
        ),
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option(help="Workbook of the report's tables (default: FILE.xlsx).")
    ] = None,
    no_xlsx: Annotated[bool, typer.Option("--no-xlsx", help="Write no workbook.")] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print each report to PDF (headless Chromium).")
    ] = False,
    jobs: Annotated[
        Path | None, typer.Option("--jobs", help="The jobs run, when RUN is a single fit.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Panel directory (default: RUN/panel).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="With --all: processes drawing reports in parallel (each gets the shared "
            "tables once).",
            min=1,
        ),
    ] = 2,
    target_draws: Annotated[
        int | None,
        typer.Option(
            "--target-draws",
            help="Draws for 'What must happen' (0: leave the section out; default 100, and "
            "with --all 0: about half a minute a place on the real panel).",
            min=0,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --all: write the reports as Dask tasks, 'local' (a cluster of "
            "--workers processes here) or a scheduler's address; a rerun skips the places "
            "already written."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """A self-contained HTML report per place for municipal planners: key figures,
    attractiveness over time and among all places, growth decompositions, fan charts,
    data and method (with a warning when the diagnostics gate failed); plus an xlsx of
    its tables. Works offline: charts and styles are inside the file."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from attrbayes.reporting import report as rp

    start = time.perf_counter()
    try:
        rp.texts_for(lang)
        if (place is None) == (not all_places):
            raise AttrbayesError("choose one of --place CODE and --all")
        if all_places and xlsx is not None:
            raise AttrbayesError("--xlsx FILE is for one place; with --all each report's "
                                 "workbook is written beside it (or --no-xlsx)")  # fmt: skip
        if not all_places and out.suffix.lower() not in (".html", ".htm"):
            raise AttrbayesError(f"--out {out}: give the report's file name, ending in .html")
        if all_places and out.exists() and not out.is_dir():
            raise AttrbayesError(f"--out {out} is a file; with --all give a directory")
        if scheduler is not None and not all_places:
            raise AttrbayesError("--scheduler is for --all (one task a place)")
        period = parse_years(years)
        if target_draws is None:
            target_draws = 0 if all_places else rp.TARGET_DRAWS
            if all_places:
                console.print("With --all the 'What must happen' section is left out unless "
                              "--target-draws N is given (it solves per place)")  # fmt: skip
        book = None if no_xlsx or all_places else (xlsx or out.with_suffix(".xlsx"))
        if not all_places:  # refuse before any work
            rp.check_targets([p for p in (out, book, out.with_suffix(".pdf") if pdf else None)
                              if p is not None], force=force)  # fmt: skip
        spec = rp.BuilderSpec(run, projection=projection, jobs=jobs, data=data,
                              reference=reference, years=period, target_draws=target_draws,
                              age_scenarios=tuple(age_groups) if age_groups else None)  # fmt: skip
        with _step(f"Reading the fits, the panel and the projection from {run}"):
            builder = spec.build()
        sources = builder.sources
        ref = sources.reference
        if ref is not None and all_places and (ref["place"] == "").any():
            raise AttrbayesError(f"{reference}: with --all the reference needs a place column")
        if sources.projection is None:
            console.print("No projection found: the report omits the projection sections")
        if all_places:
            targets = [out / "index.html"]
            for code in builder.places:
                targets.append(out / f"{code}.html")
                targets += [out / f"{code}.xlsx"] if not no_xlsx else []
                targets += [out / f"{code}.pdf"] if pdf else []
            if not _continues_sweep(out, scheduler):
                rp.check_targets(targets, force=force)
        else:
            code = builder.resolve(place)
        with _step("Computing attractiveness, ranks, decompositions and projections"):
            if all_places:  # workers make their own setup of "what must happen"
                builder.prepare(targets=workers <= 1 and scheduler is None)
            else:
                builder.prepare(places=[code])
        if all_places and scheduler is not None:
            written, htmls = _report_sweep(builder, spec, out, lang=lang, xlsx=not no_xlsx,
                                           scheduler=scheduler, workers=workers,
                                           force=force)  # fmt: skip
        elif all_places:
            columns = ["{task.description}", BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), "ETA", TimeRemainingColumn()]  # fmt: skip
            total = len(builder.places)
            interactive = _interactive()
            with Progress(*columns, console=console, disable=not interactive) as bar:
                n_workers = max(1, min(workers, total))
                task = bar.add_task(f"Writing reports ({n_workers} worker"
                                    f"{'s' if n_workers > 1 else ''})", total=total)  # fmt: skip
                written, _ = rp.write_all(builder, out, lang=lang, xlsx=not no_xlsx,
                                          progress=_report_progress(bar, task, total,
                                                                    interactive),
                                          workers=workers)  # fmt: skip
            htmls = [out / f"{c}.html" for c in builder.places]
        else:
            with _step(f"Writing the report on {builder.names[code]} ({code})"):
                report = builder.build(code, lang=lang)
                written = rp.write_report(report, out, xlsx=book)
            htmls = [out]
        if pdf:
            with _step(f"Printing {len(htmls)} report(s) to PDF with Chromium"):
                written += rp.write_pdfs([(h, h.with_suffix(".pdf")) for h in htmls])
    except (AttrbayesError, ValueError, OSError) as exc:
        _fail(exc)
    if builder.gate_failed:
        console.print("The diagnostics gate failed: the reports carry a warning banner",
                      style="bold red")  # fmt: skip
    shown = written if len(written) <= 4 else [*written[:2], f"... ({len(written)} files)"]
    console.print(f"Written {', '.join(str(p) for p in shown)} "
                  f"in {time.perf_counter() - start:.1f} s")  # fmt: skip


def _continues_sweep(out: Path, scheduler: str | None) -> bool:
    """Whether ``report --all --scheduler`` continues the sweep of an earlier run in
    ``out`` (its settings are checked then; its reports are not refused as existing)."""
    from attrbayes.diagnostics.sweep import SETTINGS_FILE

    return scheduler is not None and (out / SETTINGS_FILE).is_file()


def _report_sweep(builder, spec, out: Path, *, lang: str, xlsx: bool, scheduler: str,
                  workers: int, force: bool) -> tuple[list[Path], list[Path]]:  # fmt: skip
    """``report --all`` as Dask tasks, a place each; exits 1 if some failed."""
    import dataclasses
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from attrbayes.diagnostics.sweep import Cluster, finished, run_report_sweep, safe_key

    settings = json.loads(json.dumps(dataclasses.asdict(spec), default=str))
    where = Cluster(scheduler, workers).describe()
    left = [c for c in builder.places if force or not finished(out, safe_key(c))]
    total, interactive = len(left), _interactive()
    columns = ["{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, disable=not interactive) as bar:
        task = bar.add_task(f"Writing reports as tasks on {where}", total=total)
        advance = _report_progress(bar, task, total, interactive)
        cluster = Cluster(scheduler, workers, progress=lambda key, _error: advance(key))
        outcome, index = run_report_sweep(builder, out, lang=lang, xlsx=xlsx,
                                          settings=settings, cluster=cluster,
                                          force=force)  # fmt: skip
    if outcome.skipped:
        console.print(f"{len(outcome.skipped)} report(s) written by an earlier run: skipped")
    _print_failed(outcome.failed)
    _exit_to_retry(outcome.failed, "places")
    htmls = [out / f"{c}.html" for c in builder.places]
    return [*index, *htmls], htmls


def _report_progress(bar, task, total: int, interactive: bool) -> Callable[[str], None]:
    """Advance the progress bar of ``report --all``; off a terminal (no bar), a line at
    every tenth of the places with the time taken so far."""
    start, count = time.perf_counter(), 0
    step = max(1, total // 10)

    def advance(_code: str) -> None:
        nonlocal count
        count += 1
        bar.advance(task)
        if not interactive and (count % step == 0 or count == total):
            elapsed = time.perf_counter() - start
            console.print(f"  {count}/{total} reports ({elapsed:.0f} s)", style="dim")

    return advance


MAP_VALUES = ("attractiveness", "growth", "probability")


@app.command("map")
def map_command(
    source: Annotated[
        Path,
        typer.Argument(help="A fit (run directory or fit.nc) or a projection (directory or .nc)."),
    ],
    value: Annotated[
        str,
        typer.Option("--value", help="attractiveness (fits) | growth | probability (projections)"),
    ] = "",
    boundaries: Annotated[
        Path | None,
        typer.Option(help="Municipal boundaries (GeoJSON), e.g. Kartverket's Kommuner-S_2024."),
    ] = None,
    scenario: Annotated[str, typer.Option(help="Projection scenario.")] = "historical",
    year: Annotated[int | None, typer.Option(help="Projected year (default: the last).")] = None,
    years: Annotated[
        str | None, typer.Option(help="Attractiveness period A:B (default: all fitted years).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="PNG to write.")] = Path("map.png"),
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Map a per-place value: attractiveness from a fit, or projected growth (median, %)
    or the probability of growth from a projection; a choropleth with --boundaries, else
    a tile chart by county. Places that do not match the boundaries are listed."""
    from attrbayes.io_utils import atomic_write_bytes
    from attrbayes.plots import figure_bytes, maps
    from attrbayes.projection.result import ProjectionResult, projection_path
    from attrbayes.runs import FIT_FILE, RunLayout, load_fit

    try:
        if out.exists() and not force:
            raise AttrbayesError(f"{out} already exists; pass --force to replace it")
        is_projection = source.suffix == ".nc" and source.name != FIT_FILE
        is_projection = is_projection or RunLayout(source).projection.is_file()
        value = value or ("growth" if is_projection else "attractiveness")
        if value not in MAP_VALUES:
            raise AttrbayesError(f"--value {value!r}: choose one of {list(MAP_VALUES)}")
        if (value == "attractiveness") == is_projection:
            needs = "a fit" if value == "attractiveness" else "a projection"
            raise AttrbayesError(f"--value {value} needs {needs}, not {source}")
        if is_projection:
            ProjectionResult.verify(projection_path(source))  # a map reads every place
            result = ProjectionResult.load(projection_path(source))
            last = int(result.ds["year"].values[-1])
            target = year or last
            values = (maps.growth_values if value == "growth" else maps.growth_probability)(
                result, scenario, target
            )
            kind = "diverging" if value == "growth" else "probability"
        else:
            result = load_fit(source)
            values = maps.attractiveness_values(result, parse_years(years) if years else None)
            kind = "diverging"
        info = maps.place_info(result)
        with _step(f"Drawing the {'choropleth' if boundaries else 'tile chart'} of {value}"):
            fig = maps.plot_map(values, boundaries, kind=kind, names=info.get("name"),
                                counties=info.get("county"))  # fmt: skip
            atomic_write_bytes(out, figure_bytes(fig))
        if boundaries is not None:
            data = maps.choropleth_data(values, boundaries, kind=kind)
            if data.values_without_polygon:
                console.print(f"{len(data.values_without_polygon)} place(s) have no polygon in "
                              f"{boundaries}: {', '.join(data.values_without_polygon[:12])}"
                              + (" ..." if len(data.values_without_polygon) > 12 else ""),
                              style="yellow")  # fmt: skip
    except AttrbayesError as exc:
        _fail(exc)
    console.print(f"Written {out}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line (``warning: ...``); the source line only with --debug."""
    if _DEBUG["on"]:
        err.print(f"{filename}:{lineno}: {category.__name__}", style="dim", markup=False)
    err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)


def _terminate(signum: int, _frame: object) -> None:
    raise Interrupted("terminated (SIGTERM)", exit_code=128 + signum)


def main(argv: list[str] | None = None) -> int:
    """The console entry: every error is one ``error:`` line (a traceback only with
    ``--debug``); Ctrl-C exits with 130 and SIGTERM with 143, after the running command
    has left every previous result as it was (writes are atomic)."""
    _DEBUG["on"] = bool(os.environ.get("ATTRBAYES_DEBUG"))  # --debug sets it per call
    previous = signal.signal(signal.SIGTERM, _terminate)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        code = app(args=argv, prog_name="attrbayes", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except typer.Exit as exc:
        code = int(getattr(exc, "exit_code", 0))
    except typer.TyperException as exc:  # usage errors: the message, then exit 2
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        code = INTERRUPTED
    except Interrupted as exc:
        err.print(f"[bold red]interrupted:[/bold red] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    except Exception as exc:
        if _DEBUG["on"]:
            raise
        what = escape(f"{type(exc).__name__}: {exc}")
        err.print(f"[bold red]error:[/bold red] {what} (rerun with --debug for the traceback)",
                  soft_wrap=True)  # fmt: skip
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.showwarning = shown
    if code == INTERRUPTED:
        err.print("[bold red]interrupted:[/bold red] nothing was saved; earlier results are as "
                  "they were")  # fmt: skip
    return code


def run() -> None:  # pragma: no cover - the installed ``attrbayes`` script
    raise SystemExit(main())
