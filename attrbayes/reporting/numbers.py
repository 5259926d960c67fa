"""Numbers for people, in Norwegian bokmål (``nb``) or English (``en``).

Norwegian: thousands grouped with a narrow no-break space (``12 345``), decimal comma,
the minus sign U+2212, a (no-break) space before the percent sign (``+0,4 %``).
English: ``12,345``, decimal point, hyphen-minus, ``+0.4 %``. Values that round to zero
lose their sign (``0.0``, never ``-0.0``); missing values (None, NaN) become a dash.
"""

from __future__ import annotations

import math

LANGUAGES = ("nb", "en")
THIN_SPACE = "\u202f"  # narrow no-break space: the Norwegian thousands separator
NBSP = "\u00a0"  # no-break space: between a number and its percent sign
MINUS = "\u2212"  # the minus sign of Norwegian typography
MISSING = "\u2013"  # en dash for a missing value


def check_language(lang: str) -> str:
    """``lang`` if it is a supported language code, else a ValueError."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    return lang


def _finite(value: float | int | None) -> bool:
    return value is not None and math.isfinite(float(value))


def format_number(
    value: float | int | None, lang: str = "en", *, decimals: int = 0, signed: bool = False
) -> str:
    """``value`` rounded to ``decimals`` with grouped thousands; ``signed`` adds ``+`` to
    positive values. ``format_number(-12345.6, "nb", decimals=1)`` is ``−12 345,6``."""
    check_language(lang)
    if not _finite(value):
        return MISSING
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    text = f"{abs(float(value)):,.{decimals}f}"
    is_zero = set(text) <= set("0.,")  # rounds to zero: no sign
    if lang == "nb":
        text = text.replace(",", THIN_SPACE).replace(".", ",")
    if is_zero:
        return text
    if float(value) < 0:
        return (MINUS if lang == "nb" else "-") + text
    return ("+" + text) if signed else text


def format_percent(
    value: float | None, lang: str = "en", *, decimals: int = 1, signed: bool = True
) -> str:
    """``value`` (already in percent) with a no-break space and ``%``: ``+0,4 %``."""
    number = format_number(value, lang, decimals=decimals, signed=signed)
    return number if number == MISSING else f"{number}{NBSP}%"


def format_probability(value: float | None, lang: str = "en") -> str:
    """A probability (0-1) as a whole percentage; ``<1 %`` and ``>99 %`` at the ends so
    that a finite number of draws never claims certainty."""
    if not _finite(value):
        return MISSING
    pct = float(value) * 100
    if pct < 0.5:
        return f"<1{NBSP}%"
    if pct >= 99.5:
        return f">99{NBSP}%"
    return format_percent(pct, lang, decimals=0, signed=False)


def format_rank(value: float | None, lang: str = "en") -> str:
    """A median rank as a whole number: the median over an even number of draws can
    end in .5, which is rounded up (23.5 -> 24; ranks are positive)."""
    if not _finite(value):
        return MISSING
    return format_number(math.floor(float(value) + 0.5), lang)


def format_count(value: float | None, lang: str = "en", *, signed: bool = False) -> str:
    """Persons or jobs: whole numbers, one decimal below 10 in absolute value."""
    if not _finite(value):
        return MISSING
    decimals = 1 if abs(float(value)) < 10 else 0
    return format_number(value, lang, decimals=decimals, signed=signed)


def round_to(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (for projected populations: a
    median of 12 345 is shown as 12 300; the last digits would claim false precision)."""
    if not _finite(value) or value == 0:
        return value
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, digits - 1 - magnitude)


def format_tick(value: float, lang: str = "en", *, signed: bool = False) -> str:
    """A chart tick: at most three decimals, trailing zeros dropped (``0,25``, ``1``)."""
    if not _finite(value):
        return ""
    decimals = 3
    text = f"{abs(float(value)):.{decimals}f}".rstrip("0").rstrip(".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return format_number(value, lang, decimals=decimals, signed=signed)
