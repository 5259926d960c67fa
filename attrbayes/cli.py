"""Command-line front: a thin typer layer over :mod:`attrbayes.pipeline`."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from attrbayes import __version__
from attrbayes.config import parse_years
from attrbayes.data.panel import read_panel
from attrbayes.data.synthetic import SynthConfig
from attrbayes.exceptions import AttrbayesError
from attrbayes.io_utils import atomic_write_text
from attrbayes.pipeline import comparison_table, run_demo, run_ols, synthesize_to

app = typer.Typer(
    help="attrbayes: the Norwegian attractiveness model of local growth, refitted.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="Create and check panels.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err = Console(stderr=True)


def _interactive() -> bool:
    return console.is_terminal and not os.environ.get("CI")


@contextlib.contextmanager
def _step(message: str) -> Iterator[None]:
    """A spinner on a terminal, a plain line elsewhere; reports the time taken."""
    start = time.perf_counter()
    if _interactive():
        with console.status(message):
            yield
    else:
        yield
    console.print(f"{message} [dim]({time.perf_counter() - start:.1f} s)[/dim]")


def _echo(text: str) -> None:
    """Plain text (tables, printouts) without rich's wrapping or markup."""
    typer.echo(text)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(code=1)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(__version__)
        raise typer.Exit()


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the panel to.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = SynthConfig.seed,
    places: Annotated[int, typer.Option(help="Number of municipalities.")] = SynthConfig.n_places,
    years: Annotated[str, typer.Option(help="First:last year.")] = (
        f"{SynthConfig.first_year}:{SynthConfig.last_year}"
    ),
    force: Annotated[bool, typer.Option(help="Replace an existing directory.")] = False,
) -> None:
    """Simulate a Norway-like panel from the attractiveness model, with its truth."""
    try:
        first, last = parse_years(years)
        config = SynthConfig(seed=seed, n_places=places, first_year=first, last_year=last)
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
    top: Annotated[int, typer.Option(help="Show the N most and least attractive units.")] = 5,
) -> None:
    """Fit the OLS version of a net-migration spec and print it R-style."""
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
    titles = {"year": "Year-by-year fits", "period": "Sub-period fits", "group": "Sub-populations"}
    for series in result.series:
        console.print(f"{titles[series.key]}:", style="bold")
        _echo(series.to_text())
    if top > 0:
        _print_attractiveness(result.pooled.attractiveness(), top)
    if csv is not None:
        atomic_write_text(csv, result.csv_table().to_csv(index=False))
        console.print(f"Coefficient table written to {csv}")


def _print_attractiveness(table: pd.DataFrame, top: int) -> None:
    shown = pd.concat([table.head(top), table.tail(top)])
    shown = shown.assign(
        pct_per_year=shown["pct_per_year"].map(lambda v: f"{v:+.2f} %"),
        persons_per_year=shown["persons_per_year"].map(lambda v: f"{v:+.0f}"),
    )
    console.print(f"Point residential attractiveness (top and bottom {top}):", style="bold")
    _echo(shown.to_string(index=False))


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/demo"),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic panel.")] = SynthConfig.seed,
) -> None:
    """The main job on the embedded default: synthesise, build features, fit, compare."""
    start = time.perf_counter()
    try:
        with _step(f"Synthesising the default panel and fitting OLS models into {out}"):
            result = run_demo(out, seed=seed)
    except AttrbayesError as exc:
        _fail(exc)
    for name, fit in result.region_fits.items():
        console.rule(f"{name} (region level)")
        _echo(fit.to_text())
    console.rule("The four model versions, region level, beside the published 2022 model")
    table = comparison_table(result.region_fits)
    _echo(table.to_string(float_format=lambda v: f"{v:.4f}"))
    console.rule("migration_2022 at municipality level against the synthetic truth")
    fit = result.municipality_fit
    compare = fit.summary().set_index("term")[["estimate", "lower", "upper"]]
    compare["truth"] = pd.Series(result.truth)
    compare["inside_95"] = (compare["lower"] <= compare["truth"]) & (
        compare["truth"] <= compare["upper"]
    )
    _echo(compare.to_string(float_format=lambda v: f"{v:.4f}"))
    console.print(
        "OLS ignores the drifting centrality coefficient, year effects and persistent\n"
        "attractiveness (which feeds back into DS and job growth), so its intervals can miss\n"
        "the truth; the Bayesian hierarchical model is built to recover it."
    )
    csv = out / "ols_coefficients.csv"
    frames = [f.coefficient_table().assign(spec=n) for n, f in result.region_fits.items()]
    atomic_write_text(csv, pd.concat(frames).to_csv(index=False))
    _print_attractiveness(result.region_fits["migration_2022"].attractiveness(), 5)
    console.print(f"\nDone in {time.perf_counter() - start:.1f} s; outputs in {out}")


def main() -> None:  # pragma: no cover - console entry
    app()
