"""Calendar arithmetic in the DfE's terms (calendar months, not 365-day years)."""

import calendar
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=65536)  # the rules ask the same few thousand questions again and again
def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (29 Feb + 12 -> 28 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def within_months_after(earlier: date, later: date, months: int) -> bool:
    """earlier < later <= earlier + months, the DfE re-referral window."""
    return earlier < later <= add_months(earlier, months)
