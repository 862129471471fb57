"""Rounding as the paper publishes: whole numbers and whole percentages, halves up, exactly."""

from __future__ import annotations

import math
from fractions import Fraction


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact fraction to a whole number, halves up."""
    return math.floor(value + Fraction(1, 2))


def percent_half_up(fraction: Fraction) -> int:
    """A fraction as a whole percentage, rounding halves up (exactly, without float error)."""
    return round_half_up(fraction * 100)


def percent_of(value: float) -> int:
    """A fraction 0..1 as a whole percentage, halves up."""
    return percent_half_up(Fraction(value))
