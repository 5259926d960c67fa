"""An R ``summary(lm())``-style printout, the layout methodologists compare with the book."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def stars(p: float) -> str:
    """R's significance stars."""
    for limit, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < limit:
            return mark
    return " "


def _decimals(values: np.ndarray, digits: int = 4) -> int:
    """Decimals that give the smallest non-zero magnitude ``digits`` significant digits."""
    nonzero = np.abs(values[np.isfinite(values) & (values != 0)])
    if not len(nonzero):
        return digits
    return int(min(max(digits - 1 - math.floor(math.log10(nonzero.min())), 0), 9))


def format_pvalue(p: float, floor: float = 2e-16) -> str:
    if p < floor:
        return f"< {floor:g}"
    if p < 1e-4:
        return f"{p:.2e}"
    return f"{p:.3g}"


def _column(header: str, cells: list[str]) -> list[str]:
    width = max(len(header), *(len(c) for c in cells))
    return [header.rjust(width)] + [c.rjust(width) for c in cells]


def format_lm(
    *,
    call: str,
    residuals: np.ndarray,
    table: pd.DataFrame,
    resid_se: float,
    df_resid: int,
    r2: float,
    r2_adj: float,
    fvalue: float,
    df_model: int,
    f_pvalue: float,
) -> str:
    """Render the printout from a summary table (term, estimate, sd, t, p)."""
    q = np.quantile(residuals, [0, 0.25, 0.5, 0.75, 1])
    rdec = _decimals(q)
    res_cols = [
        _column(h, [f"{v:.{rdec}f}"])
        for h, v in zip(("Min", "1Q", "Median", "3Q", "Max"), q, strict=True)
    ]
    both = np.concatenate([table["estimate"].to_numpy(), table["sd"].to_numpy()])
    dec = _decimals(both)
    terms = [str(t) for t in table["term"]]
    name_w = max(len(t) for t in terms)
    cols = [
        _column("Estimate", [f"{v:.{dec}f}" for v in table["estimate"]]),
        _column("Std. Error", [f"{v:.{dec}f}" for v in table["sd"]]),
        _column("t value", [f"{v:.3f}" for v in table["t"]]),
        _column("Pr(>|t|)", [format_pvalue(p) for p in table["p"]]),
    ]
    lines = ["Call:", call, "", "Residuals:"]
    lines += [" ".join(c[i] for c in res_cols) for i in range(2)]
    lines += ["", "Coefficients:"]
    lines.append(" " * name_w + " " + " ".join(c[0] for c in cols))
    for i, term in enumerate(terms):
        row = " ".join(c[i + 1] for c in cols)
        lines.append(f"{term.ljust(name_w)} {row} {stars(float(table['p'].iloc[i]))}".rstrip())
    lines += [
        "---",
        SIGNIF_LEGEND,
        "",
        f"Residual standard error: {resid_se:.4g} on {df_resid} degrees of freedom",
        f"Multiple R-squared:  {r2:.4f},\tAdjusted R-squared:  {r2_adj:.4f}",
        f"F-statistic: {fvalue:.4g} on {df_model} and {df_resid} DF,  p-value: "
        + format_pvalue(f_pvalue, floor=2.2e-16),
    ]
    return "\n".join(lines) + "\n"
