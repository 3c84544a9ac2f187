"""The arithmetic of the indicators: per-capita figures, shares and means, exact and explainable.

Decimal arithmetic, rounded half up only at the end: four places for per-capita figures and
shares, two for means. A figure that cannot be computed (no population figure for the year, no
measured dataset, nothing to divide by) is None, shown as missing, never as zero. Pure: no app,
no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

FOUR_PLACES = Decimal("0.0001")
TWO_PLACES = Decimal("0.01")


def per_capita(volume: int | None, population: int | None) -> Decimal | None:
    """Return data items per resident: volume / population, to four places."""
    if volume is None or not population:
        return None
    return (Decimal(volume) / Decimal(population)).quantize(FOUR_PLACES, ROUND_HALF_UP)


def share(part: int | None, whole: int | None) -> Decimal | None:
    """Return part / whole as a fraction (0.8125 for 81.25 %), to four places."""
    if part is None or not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(FOUR_PLACES, ROUND_HALF_UP)


def mean(total: int | None, count: int) -> Decimal | None:
    """Return total / count to two places: an average over days or months."""
    if total is None or count <= 0:
        return None
    return (Decimal(total) / Decimal(count)).quantize(TWO_PLACES, ROUND_HALF_UP)


def volume(measured: int, total_volume: int) -> int | None:
    """Return the volume of a region: the sum over its measured datasets, None when none is measured."""
    return total_volume if measured > 0 else None


def total(values: Iterable[int | None]) -> int | None:
    """Add up figures, skipping missing ones; None when all are missing."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None
