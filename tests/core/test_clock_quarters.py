"""Quarters of the city's clock (portal/clock.py): reckoned in Shanghai time, written YYYYQn."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from portal import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2020, 3, 31, 23, 30, tzinfo=SHANGHAI), "2020Q1"),
        (datetime(2020, 4, 1, 0, 10, tzinfo=SHANGHAI), "2020Q2"),
        (datetime(2020, 3, 31, 16, 10, tzinfo=UTC), "2020Q2"),  # 00:10 on 1 April in Shanghai
        (datetime(2020, 3, 31, 15, 59, tzinfo=UTC), "2020Q1"),
        (datetime(2019, 12, 31, 16, 0, tzinfo=UTC), "2020Q1"),  # new year in Shanghai, not yet in UTC
        (datetime(2020, 12, 31, 23, 59, 59, tzinfo=SHANGHAI), "2020Q4"),
        (datetime(2020, 7, 1, tzinfo=SHANGHAI), "2020Q3"),
    ],
)
def test_quarter_of_reckons_in_shanghai_time(moment, expected):
    assert clock.quarter_of(moment) == expected


def test_quarter_of_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        clock.quarter_of(datetime(2020, 4, 1))


def test_quarter_bounds_are_shanghai_midnights_in_utc():
    start, end = clock.quarter_bounds("2020Q2")
    assert start == datetime(2020, 3, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2020, 6, 30, 16, 0, tzinfo=UTC)
    assert clock.quarter_of(start) == "2020Q2"
    assert clock.quarter_of(end) == "2020Q3"


def test_fourth_quarter_ends_at_the_next_new_year():
    assert clock.quarter_bounds("2020Q4")[1] == datetime(2020, 12, 31, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "quarter", "left"),
    [
        (datetime(2020, 3, 31, 23, 30, tzinfo=SHANGHAI), "2020Q1", 1),  # the last day counts
        (datetime(2020, 3, 1, 9, 0, tzinfo=SHANGHAI), "2020Q1", 31),
        (datetime(2020, 1, 1, 0, 0, tzinfo=SHANGHAI), "2020Q1", 91),  # a leap year
        (datetime(2020, 4, 1, 0, 10, tzinfo=SHANGHAI), "2020Q1", 0),  # over
        (datetime(2020, 3, 15, tzinfo=SHANGHAI), "2020Q2", 91),  # not started: all its days
    ],
)
def test_days_left_counts_calendar_days_in_shanghai(moment, quarter, left):
    assert clock.days_left(quarter, moment) == left


@pytest.mark.parametrize("text", ["2020Q0", "2020Q5", "20Q1", "2020q1", "2020Q1 ", "", "Q12020"])
def test_parse_refuses_what_is_not_a_quarter(text):
    assert not clock.is_quarter(text)
    with pytest.raises(clock.BadQuarter):
        clock.parse_quarter(text)


def test_neighbours_cross_years():
    assert clock.following("2020Q4") == "2021Q1"
    assert clock.preceding("2021Q1") == "2020Q4"


def test_recent_lists_the_current_quarter_first():
    now = datetime(2021, 2, 1, tzinfo=SHANGHAI)
    assert clock.recent_quarters(now, 5) == ["2021Q1", "2020Q4", "2020Q3", "2020Q2", "2020Q1"]


def test_middle_of_lies_inside_the_quarter():
    for quarter in clock.quarters_of(2020):
        assert clock.quarter_of(clock.middle_of(quarter)) == quarter
