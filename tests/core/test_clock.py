"""The city's clock: Shanghai days and quarters from UTC moments, and one place to freeze the time."""

from __future__ import annotations

import pathlib
import re
import threading
from datetime import UTC, date, datetime

import pytest

from portal import clock, dbtypes

PORTAL = pathlib.Path(clock.__file__).parent
READS_TIME = re.compile(r"ZoneInfo\(|datetime\.now\(|date\.today\(")


def test_a_shanghai_day_starts_at_sixteen_hundred_utc_the_day_before():
    assert clock.day_of(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC)) == date(2026, 2, 28)
    assert clock.day_of(datetime(2026, 2, 28, 16, 0, tzinfo=UTC)) == date(2026, 3, 1)
    assert clock.day_bounds(date(2026, 3, 1)) == (
        datetime(2026, 2, 28, 16, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 16, 0, tzinfo=UTC),
    )


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        clock.day_of(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        clock.quarter_of(datetime(2026, 1, 1))
    with pytest.raises(ValueError), clock.frozen(datetime(2026, 1, 1)):
        pass


def test_the_quarter_turns_at_midnight_in_shanghai():
    assert clock.quarter_of(datetime(2026, 3, 31, 15, 59, tzinfo=UTC)) == "2026Q1"
    assert clock.quarter_of(datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == "2026Q2"
    assert clock.quarter_bounds("2026Q4") == (
        datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    )
    assert clock.following("2026Q4") == "2027Q1" and clock.preceding("2027Q1") == "2026Q4"
    assert clock.recent_quarters(datetime(2026, 5, 1, tzinfo=UTC), 3) == ["2026Q2", "2026Q1", "2025Q4"]
    assert clock.quarters_of(2026) == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]


@pytest.mark.parametrize("text", ["", "2026Q5", "2026q1", "26Q1", "2026Q1 ", "２０２６Q1"])
def test_anything_but_a_quarter_is_refused(text):
    assert not clock.is_quarter(text)
    with pytest.raises(clock.BadQuarter):
        clock.parse_quarter(text)


def test_days_left_count_today_and_end_at_zero():
    last_day = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)  # 18:00 on 30 June in Shanghai
    assert clock.days_left("2026Q2", last_day) == 1
    assert clock.days_left("2026Q2", datetime(2026, 6, 30, 16, 0, tzinfo=UTC)) == 0
    assert clock.days_left("2026Q3", last_day) == 92


def test_wall_clock_times_of_the_city_round_trip():
    assert clock.from_local(datetime(2026, 6, 30, 17, 0)) == datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
    assert clock.to_local(datetime(2026, 6, 30, 16, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 0, 0)


def test_frozen_time_is_what_every_reader_sees_in_every_thread_until_the_block_ends():
    moment = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    seen = []
    with clock.frozen(moment):
        thread = threading.Thread(target=lambda: seen.append(clock.now()))
        thread.start()
        thread.join()
        assert clock.now() == dbtypes.utcnow() == moment == seen[0]
        assert clock.today() == date(2027, 1, 1)
        with clock.frozen(datetime(2020, 1, 1, tzinfo=UTC)):
            assert clock.today() == date(2020, 1, 1)
        assert clock.now() == moment
    assert clock.now() != moment and clock.now().tzinfo is UTC


def test_no_module_but_the_clock_knows_the_city_time_zone_or_reads_the_time():
    offenders = [
        str(path.relative_to(PORTAL))
        for path in PORTAL.rglob("*.py")
        if path.name != "clock.py" and READS_TIME.search(path.read_text())
    ]
    assert offenders == []
