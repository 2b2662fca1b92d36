"""benchmarks/gpu_check.py, the book's check on a CUDA machine, as a dry run on the CPU: its
checks run and pass here, its placement check catches a tensor off the device, and it
refuses to pretend when asked for CUDA on a machine without it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def gpu_check():
    sys.path.insert(0, str(BENCHMARKS))  # the script imports its neighbour report.py
    try:
        import gpu_check
        yield gpu_check
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_dry_run_on_the_cpu_passes_every_check(gpu_check, capsys):
    assert gpu_check.main(["--device", "cpu", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "| tensors of one step | all on cpu | all on cpu |" in out
    assert "frames/s" in out and "all checks passed" in out


def test_placement_check_names_an_operation_off_the_device(gpu_check):
    def step():  # one op on the guarded device, one on the CPU
        torch.ones(3, device="meta") * 2
        torch.ones(3) + 1
    message = gpu_check.check_placement(step, torch.device("meta"))
    assert "aten.add" in message and "cpu" in message
    assert gpu_check.check_placement(lambda: torch.ones(3, device="meta") * 2, torch.device("meta")) == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_asking_for_cuda_without_it_fails_with_a_reason(gpu_check, capsys):
    assert gpu_check.main([]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
