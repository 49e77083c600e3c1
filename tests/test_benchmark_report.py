"""The benchmarks' shared measurement helpers (benchmarks/_report.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import round_ratios, timed_rounds  # noqa: E402


def test_timed_rounds_calls_every_timer_once_per_round_in_rotating_order():
    calls = []
    timers = {name: (lambda name=name: calls.append(name) or float(len(calls))) for name in "abc"}
    seconds = timed_rounds(timers, 4)
    assert calls == list("abcbcacababc")
    assert {k: len(v) for k, v in seconds.items()} == {"a": 4, "b": 4, "c": 4}
    # each timer's values are its own return values, in round order
    assert seconds["a"] == [1.0, 6.0, 8.0, 10.0] and seconds["c"] == [3.0, 5.0, 7.0, 12.0]


def test_round_ratios_are_taken_within_rounds():
    median, (lo, hi) = round_ratios([2.0, 9.0, 4.0], [1.0, 3.0, 1.0])
    assert (median, lo, hi) == (3.0, 2.0, 4.0)
    with pytest.raises(ZeroDivisionError):
        round_ratios([1.0], [0.0])
