"""The summary line every benchmark prints (benchmarks/report.py): mean ± sample std over seeds,
with runs at infinity (the reverse KL of a run that missed a mode) counted apart instead of
crashing the table (statistics.stdev raises on inf)."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("report", Path(__file__).parents[1] / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


@pytest.mark.parametrize("values, expected", [
    ([1.0, 3.0], "2.00 ± 1.41"),  # mean 2, sample std √((1 + 1)/1) = √2
    ([0.5], "0.50"),
    ([1.0, float("inf"), 3.0], "2.00 ± 1.41 (inf in 1 of 3 runs)"),  # the finite runs as above
    ([2.0, float("inf")], "2.00 (inf in 1 of 2 runs)"),
    ([float("inf")] * 2, "— (inf in 2 of 2 runs)"),
])
def test_mean_std_counts_infinite_runs_apart(values, expected):
    assert report.mean_std(values) == expected
