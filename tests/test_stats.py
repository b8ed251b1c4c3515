"""wf.stats.median gives what statistics.median gives (it replaces it on the start-up path)."""

from __future__ import annotations

import random
import statistics

import pytest

from wf.stats import median


def test_median_matches_the_statistics_module() -> None:
    rng = random.Random(16)
    for size in range(1, 40):
        ints = [rng.randrange(-1000, 1000) for _ in range(size)]
        floats = [rng.uniform(-5.0, 5.0) for _ in range(size)]
        for values in (ints, floats, [float(v) for v in ints]):
            got, want = median(values), statistics.median(values)
            assert got == want, values
            assert type(got) is type(want), values


def test_median_of_two_ints_is_their_mean() -> None:
    assert median([1, 2]) == 1.5
    assert median(iter([3, 1, 2])) == 2


def test_median_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        median([])
