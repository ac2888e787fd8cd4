"""Pacing (issue #14 item 2): the workers wait for a lagging audit writer, by a law that is
zero up to ``KYB_AUDIT_MAX_LAG`` and capped, and never for a writer that is down."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings
from app.dataplane.pacing import GAIN, MAX_DELAY_SECONDS, STALE_SECONDS, Pacing, WriterClock

NOW = 1_790_000_000.0


@pytest.fixture
def clock(tmp_path):
    clock = WriterClock(str(tmp_path))
    yield clock
    clock.close()


def test_nothing_waits_before_the_writer_ever_published(clock):
    assert clock.read() == (0.0, 0.0)
    assert Pacing(clock, 1.0).delay(NOW) == 0.0


def test_the_estimate_is_the_published_lag_plus_the_time_since(clock):
    clock.publish(0.2, at=NOW - 0.1)
    assert Pacing(clock, 1.0).estimate(NOW) == pytest.approx(0.3)


def test_just_under_and_just_over_the_bound(clock):
    pacing = Pacing(clock, 1.0)
    clock.publish(0.999, at=NOW)
    assert pacing.delay(NOW) == 0.0
    clock.publish(1.001, at=NOW)
    assert pacing.delay(NOW) == pytest.approx(0.001 * GAIN)
    clock.publish(1.5, at=NOW)  # half a second over: 10 ms a request
    assert pacing.delay(NOW) == pytest.approx(0.5 * GAIN) == pytest.approx(0.01)


def test_the_wait_is_capped(clock):
    clock.publish(60.0, at=NOW)
    assert Pacing(clock, 1.0).delay(NOW) == MAX_DELAY_SECONDS


def test_a_writer_silent_too_long_is_down_and_nothing_waits_for_it(clock):
    pacing = Pacing(clock, 1.0)
    clock.publish(3.0, at=NOW - STALE_SECONDS + 0.01)
    assert pacing.delay(NOW) == MAX_DELAY_SECONDS
    clock.publish(3.0, at=NOW - STALE_SECONDS - 0.01)
    assert pacing.estimate(NOW) is None and pacing.delay(NOW) == 0.0


def test_zero_turns_pacing_off(clock):
    clock.publish(30.0, at=NOW)
    assert Pacing(clock, 0).delay(NOW) == 0.0


def test_every_process_of_the_host_reads_what_the_writer_published(tmp_path, clock):
    other = WriterClock(str(tmp_path))  # another process maps the same file
    try:
        clock.publish(0.75, at=NOW)
        assert other.read() == (NOW, 0.75)
    finally:
        other.close()


@pytest.mark.parametrize("raw", ["x", "-1", "nan", "inf", "3600"])
def test_a_bad_max_lag_stops_the_start_and_names_the_setting(raw):
    with pytest.raises(ConfigError, match="KYB_AUDIT_MAX_LAG"):
        Settings.from_env({"KYB_AUDIT_MAX_LAG": raw})


def test_max_lag_defaults_to_one_second_and_reads_a_number():
    assert Settings.from_env({}).audit_max_lag == 1.0
    assert Settings.from_env({"KYB_AUDIT_MAX_LAG": "0.5"}).audit_max_lag == 0.5
    assert Settings.from_env({"KYB_AUDIT_MAX_LAG": "0"}).audit_max_lag == 0.0
