"""What every benchmark prints: the machine, the command, and mean ± std over seeds.

Imported by the scripts beside it (``python benchmarks/NAME.py`` puts this
folder on ``sys.path``).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time

import torch


def machine() -> str:
    """Processor, cores, torch version and the intra-op CPU threads in use."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} CPU thread(s)")


def command(script: str, argv: list[str] | None) -> str:
    """The command line that reproduces this table."""
    args = argv if argv is not None else sys.argv[1:]
    return f"# command: python benchmarks/{script} {' '.join(args)}".rstrip()


def columns(rows: list[dict]) -> dict[str, list]:
    """Per-seed result dicts → one list per key."""
    return {k: [r[k] for r in rows] for k in rows[0]}


def mean_std(values: list[float], digits: int = 2) -> str:
    """``mean ± std`` over seeds (sample std), or the single value. Infinite values (the
    reverse KL of a run that missed a mode) are counted apart, and the rest summarised."""
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values):
        rest = mean_std(finite, digits) if finite else "—"
        return f"{rest} (inf in {len(values) - len(finite)} of {len(values)} runs)"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def timed_train(trainer, steps: int, callbacks: list) -> tuple[float, float]:
    """Train ``steps`` steps; return (wall seconds, this process's CPU seconds). The CPU time
    is the fair figure when other jobs share the machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train(steps, callbacks=callbacks, progress=False)
    return time.perf_counter() - t0, time.process_time() - c0


def with_options(base: dict, args, options: dict[str, str]) -> dict:
    """``base`` with every command-line option that was given (not None) on top;
    ``options`` maps an argparse name to its key in ``base``."""
    return {**base, **{key: getattr(args, opt) for opt, key in options.items() if getattr(args, opt) is not None}}
