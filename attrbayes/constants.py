"""Names shared by every stage: levels, sexes, ages, sectors, industries, intervals."""

from typing import Final

LEVELS: Final = ("municipality", "region", "county")

SEXES: Final = ("female", "male")
MAX_AGE: Final = 105  # single ages 0..104 plus the open group 105+
AGES: Final = tuple(range(MAX_AGE + 1))

# Ages over which demographic employment supply (DS) is summed (MODEL.md section 2.3).
DS_AGE_MIN: Final = 14
DS_AGE_MAX: Final = 74

SECTORS: Final = ("private", "municipal", "county", "state", "public", "total")
PUBLIC_SECTORS: Final = ("municipal", "county", "state")
# The ways one place-year's jobs may be broken down by sector: the full split, private
# and undivided public (Telemarksforsking's series), or the total alone (SSB 11618).
SECTOR_BREAKDOWNS: Final = (
    frozenset({"private", *PUBLIC_SECTORS}),
    frozenset({"private", "public"}),
    frozenset({"total"}),
)

# The 25 private industries of MODEL.md section 4, with their group and whether their
# jobs follow local population (manufacturing and primary industries do not).
INDUSTRIES: Final[dict[str, tuple[str, bool]]] = {
    "manufacturing_food": ("basic", False),
    "manufacturing_process": ("basic", False),
    "manufacturing_workshop": ("basic", False),
    "manufacturing_other": ("basic", False),
    "oil_gas": ("basic", False),
    "power": ("basic", False),
    "oil_platforms": ("basic", False),
    "fishing_aquaculture": ("basic", False),
    "agriculture": ("basic", False),
    "technical_science": ("basic", False),
    "telecom_ict": ("basic", False),
    "activities": ("visitor", True),
    "retail": ("visitor", True),
    "accommodation": ("visitor", True),
    "food_service": ("visitor", True),
    "wholesale": ("regional", True),
    "construction": ("regional", True),
    "other_services": ("regional", True),
    "finance_real_estate": ("regional", True),
    "business_services": ("regional", True),
    "health": ("regional", True),
    "kindergarten_education": ("regional", True),
    "labour_hire": ("regional", True),
    "passenger_transport": ("regional", True),
    "freight_transport": ("regional", True),
}

# The equations' terms, their kinds and labels: attrbayes.terms.

# Credible / confidence interval masses reported by default; equal-tailed intervals.
INTERVALS: Final = (0.5, 0.8, 0.95)

# Age groups of the book's sub-population fits (MODEL.md section 2.4).
AGE_GROUPS: Final[dict[str, tuple[int, int]]] = {
    "0-5": (0, 5),
    "6-17": (6, 17),
    "18-29": (18, 29),
    "30-39": (30, 39),
    "40-49": (40, 49),
    "50-59": (50, 59),
    "60+": (60, MAX_AGE),
}
