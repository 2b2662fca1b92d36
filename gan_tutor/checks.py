"""Visible checks for the notebooks: print a value beside what theory expects,
and stop the chapter if they disagree.

Every claim a chapter makes numerically goes through one of these, so a reader
sees the evidence and a broken claim fails the notebook (and ``pytest --nbval``).
"""

from __future__ import annotations

import math

__all__ = ["CheckFailed", "check_close", "check_less"]


class CheckFailed(AssertionError):
    """A chapter's claim did not hold."""


def _fmt(v: float, digits: int) -> str:
    return ("-∞" if v < 0 else "∞") if math.isinf(v) else f"{v:.{digits}f}"


def check_close(label: str, value: float, expected: float, tol: float, digits: int = 4) -> None:
    """Print ``label: value (expected E ± tol) ✓`` and raise :class:`CheckFailed`
    unless ``|value − expected| <= tol`` (infinities must match exactly)."""
    value, expected = float(value), float(expected)
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    ok = value == expected if (math.isinf(value) or math.isinf(expected)) else abs(value - expected) <= tol
    line = f"{label}: {_fmt(value, digits)}  (expected {_fmt(expected, digits)} ± {tol:g})"
    print(line + ("  ✓" if ok else "  ✗"))
    if not ok:
        raise CheckFailed(line)


def check_less(label: str, value: float, bound: float, digits: int = 4) -> None:
    """Print ``label: value (expected < bound) ✓`` and raise :class:`CheckFailed` unless value < bound."""
    value, bound = float(value), float(bound)
    ok = value < bound
    line = f"{label}: {value:.{digits}g}  (expected < {bound:.{digits}g})"
    print(line + ("  ✓" if ok else "  ✗"))
    if not ok:
        raise CheckFailed(line)
