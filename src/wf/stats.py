"""The median, without the ``statistics`` module (its imports cost ≈3 ms of start-up)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["median"]

N = TypeVar("N", int, float)


def median(values: Iterable[N]) -> N | float:
    """The middle value of VALUES, or the mean of the two middle ones: ``statistics.median``'s
    rule and result. Raises ValueError when VALUES is empty."""
    data = sorted(values)
    n = len(data)
    if n == 0:
        raise ValueError("no median for empty data")
    i = n // 2
    if n % 2 == 1:
        return data[i]
    return (data[i - 1] + data[i]) / 2
