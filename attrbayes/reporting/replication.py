"""The published OLS versions refitted on a panel, beside the published estimates.

One row per model version and term; one column pair (estimate, standard error) per level.
Model versions the panel cannot support (e.g. DS without national employment rates) get
a row that says why instead of a number, so the table always shows all four versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from attrbayes.config import load_spec
from attrbayes.exceptions import MissingTableError
from attrbayes.features.design import Features, build_design
from attrbayes.models.ols import fit_ols
from attrbayes.reference import PUBLISHED, SOURCE
from attrbayes.terms import COEFFICIENTS

# What differs between the book's sample and a replication; printed under the table.
DIFFERENCES = (
    f"Published: region level, 2003-2021, the book's own data vintage and region set ({SOURCE}).",
    "Years: the replication window is chosen by the panel (jobs 2003-2016 from "
    "Telemarksforsking give VRA with two lags from 2005; SSB's 15-74 series from 2017 "
    "cannot be chained to it, so 2017-2019 have no VRA).",
    "Regions: Telemarksforsking's 85 regions (exact in the 2017 structure; in the 2020 "
    "structure each municipality takes the region of its largest 2017 predecessor).",
    "Centrality: SSB's 2020 full index; the job-only index ('sentny') is not public, so "
    "'migration_2019_jobcent' cannot be refitted.",
    "DS: national employment rates by sex and single age are not published in the raw "
    "files; the real panel carries a schedule estimated from SSB's broad age groups "
    "(attrbayes.data.employment, docs/real_data.md). The 2022 model itself needs the "
    "job-only centrality index, so it cannot be refitted as published.",
)


@dataclass(frozen=True)
class Replication:
    """Published vs refitted estimates, the windows fitted, and the versions that could not be."""

    table: pd.DataFrame  # spec, term, published, {level}_estimate, {level}_se, {level}_diff
    windows: dict[str, str]  # level -> years fitted, e.g. "2006-2022 without 2017-2019"
    unavailable: dict[str, str]  # spec -> why

    def to_text(self) -> str:
        shown = self.table.copy().astype(object)
        for col in shown.columns[2:]:
            shown[col] = [_cell(t, v) for t, v in zip(self.table["term"], self.table[col],
                                                      strict=True)]  # fmt: skip
        lines = [shown.to_string(index=False), ""]
        lines += [f"Years fitted at {lv} level: {text}" for lv, text in self.windows.items()]
        lines += [f"Not refitted: {spec}: {why}" for spec, why in self.unavailable.items()]
        lines += ["", "Why published and refitted values differ:"]
        lines += [f"  * {text}" for text in DIFFERENCES]
        return "\n".join(lines)


def replication_table(
    features: Sequence[Features],
    *,
    years: tuple[int, int] | None = None,
    specs: Sequence[str] = tuple(PUBLISHED),
) -> Replication:
    """Refit each published OLS version at each level of ``features`` (the window:
    ``years``, or the longest the panel supports) and set it beside the published values."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    unavailable: dict[str, str] = {}
    windows: dict[str, str] = {}
    for spec in specs:
        for term, value in PUBLISHED.get(spec, {}).items():
            rows.setdefault((spec, term), {})["published"] = value
        for feats in features:
            try:
                fit = fit_ols(build_design(feats, load_spec(spec), years=years))
            except MissingTableError as exc:
                unavailable[spec] = str(exc)
                continue
            level = feats.level
            windows[level] = fit.design.years_text()
            stats = {**fit.params, "r2_adj": fit.r2_adj, "n": fit.n}
            for term, value in stats.items():
                cell = rows.setdefault((spec, term), {})
                cell[f"{level}_estimate"] = value
                if term in fit.bse.index:
                    cell[f"{level}_se"] = fit.bse[term]
    order = [*COEFFICIENTS, "r2_adj", "n"]
    index = sorted(rows, key=lambda k: (list(specs).index(k[0]), order.index(k[1])))
    table = pd.DataFrame([rows[k] for k in index], index=pd.MultiIndex.from_tuples(
        index, names=["spec", "term"]))  # fmt: skip
    levels = [f.level for f in features]
    columns = ["published"] + [f"{lv}_{c}" for lv in levels for c in ("estimate", "se")]
    table = table.reindex(columns=columns)
    for lv in levels:
        table[f"{lv}_diff"] = table[f"{lv}_estimate"] - table["published"]
    return Replication(table.reset_index(), windows, unavailable)


def _cell(term: str, value: object) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{int(value)}" if term == "n" else f"{float(value):.4f}"  # type: ignore[arg-type]
