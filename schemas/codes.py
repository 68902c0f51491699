"""Code lists of the DfE Children in Need census (CIN_schema_2024.xsd), as sets.

Only codes travel through casewatch; their meanings stay here for explanations.
"""

import re
from typing import Final

ASSESSMENT_FACTORS: Final[frozenset[str]] = frozenset(
    {
        "1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B", "4C",
        "5A", "5B", "5C", "6A", "6B", "6C", "7A", "8B", "8C", "8D", "8E", "8F",
        "9A", "10A", "11A", "12A", "13A", "14A", "15A", "16A", "17A", "18B", "18C",
        "19B", "19C", "20", "21", "22A", "23A", "24A",
        # Schemas up to 2020 had a single physical (18A) and sexual (19A) abuse code.
        "18A", "19A",
    }
)  # fmt: skip

NO_FACTORS_IDENTIFIED: Final = "21"

REFERRAL_SOURCES: Final[frozenset[str]] = frozenset(
    {
        "1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F",
        "4", "5A", "5B", "5C", "5D", "6", "7", "8", "9", "10",
    }
)  # fmt: skip

PRIMARY_NEED_CODES: Final[frozenset[str]] = frozenset(f"N{i}" for i in range(10))

CLOSURE_REASONS: Final[dict[str, str]] = {
    "RC1": "adopted",
    "RC2": "died",
    "RC3": "child arrangements order",
    "RC4": "special guardianship order",
    "RC5": "transferred to another local authority",
    "RC6": "transferred to adult social care",
    "RC7": "services ceased for any other reason",
    "RC8": "closed after assessment, no further action",
    "RC9": "closed after assessment, referred to early help",
}

ABUSE_CATEGORIES: Final[frozenset[str]] = frozenset({"NEG", "PHY", "SAB", "EMO", "MUL"})

# Codes that only some census years accept (CIN_schema_2017.xsd ... CIN_schema_2024.xsd):
# 2021 split physical (18A) and sexual (19A) abuse by who abused the child.
FIRST_CENSUS_YEAR: Final[dict[str, int]] = {
    "18B": 2021, "18C": 2021, "19B": 2021, "19C": 2021, "24A": 2022,  # assessment factors
    "5D": 2023,  # referral source: early help
    "RC9": 2023,  # reason for closure: referred to early help
}  # fmt: skip
LAST_CENSUS_YEAR: Final[dict[str, int]] = {"18A": 2020, "19A": 2020}


def in_census_year(code: str, year: int) -> bool:
    """Whether a census return for `year` may carry `code` (a code of any of the lists above)."""
    return FIRST_CENSUS_YEAR.get(code, year) <= year <= LAST_CENSUS_YEAR.get(code, year)


# The shape every CIN code with a digit has: 1A, 19C, 10A, 21, RC9, N4.
_CODE_SHAPE = re.compile(r"^[A-Z]{0,3}[0-9]{1,3}[A-Z]{0,2}$")


def code_or_none(value: object) -> str | None:
    """The value if it has the shape of a code, else None. Only such a value may be echoed
    in a rejection reason: a name or note typed into a code field must not travel on."""
    if isinstance(value, str) and _CODE_SHAPE.match(value.strip()):
        return value.strip()
    return None
