"""Quarters now live in `portal.clock`; these names stay only until the tests that import them move."""

# ruff: noqa: F401, I001

from portal.clock import SHANGHAI, BadQuarter, days_left, first_day, following, is_quarter, middle_of
from portal.clock import parse_quarter as parse
from portal.clock import preceding, quarter_bounds, quarter_of
from portal.clock import quarters_of as quarters_of_year
from portal.clock import recent_quarters as recent
from portal.clock import year_of_quarter as year_of
