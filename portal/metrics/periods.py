"""Shanghai days and periods now live in `portal.clock`; these names stay only until the tests move."""

from portal.clock import (  # noqa: F401
    SHANGHAI,
    day_bounds,
    day_of,
    day_start,
    days,
    month_start,
    next_month,
    quarter_label,
    quarter_of_month,
    quarters_of,
    year_bounds,
)
