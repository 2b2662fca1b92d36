"""Mode coverage on the 2-D mixtures: every registered variant, ring of 8 and 5×5 grid.

    python benchmarks/toy2d.py                      # all variants, both mixtures, 5 seeds
    python benchmarks/toy2d.py --variants gan --data ring8 --seeds 3 --steps 4000

The defaults (a 4-layer generator, batch 64, 7,000 steps) came from a small
search on the ring: a deeper generator tears the noise into eight pieces with
thinner bridges between them, and small batches buy more steps in the budget.

Each run trains one variant with the shared recipe (:func:`gan_tutor.recipes.toy2d_trainer`
with a linear learning-rate decay) for a fixed number of steps on one CPU thread,
then scores 2,500 samples with the VEEGAN/PacGAN protocol
(:func:`gan_tutor.metrics.mode_stats`). The table gives the mean ± std over
seeds of modes captured, % high-quality samples and reverse KL, with seconds and
steps per second per run, and the machine it ran on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from report import columns, command, machine, mean_std

from gan_tutor import data as toy
from gan_tutor.recipes import LinearDecay, ModeTracker, toy2d_trainer
from gan_tutor.train import VARIANTS

MIXTURES = {"ring8": toy.ring8, "grid25": toy.grid25}


def run(variant: str, mixture: str, seed: int, args: argparse.Namespace) -> dict:
    data = MIXTURES[mixture]()
    steps, lr = args.steps, args.lr
    trainer = toy2d_trainer(data, variant, seed=seed, lr=lr, hidden=args.hidden, depth=args.depth,
                            g_depth=args.g_depth, batch_size=args.batch)
    t0 = time.perf_counter()
    trainer.train(steps, callbacks=[LinearDecay(lr, steps)], progress=False)
    seconds = time.perf_counter() - t0
    stats = ModeTracker(data).score(trainer)
    return {"modes": stats.modes, "total": stats.total_modes, "hq": 100 * stats.high_quality,
            "kl": stats.reverse_kl, "seconds": seconds, "rate": steps / seconds}




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--data", nargs="+", default=list(MIXTURES), choices=list(MIXTURES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=7000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--depth", type=int, default=3, help="hidden layers of the discriminator")
    parser.add_argument("--g-depth", type=int, default=4, help="hidden layers of the generator")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    print(f"# {machine()}; {args.steps} steps, lr {args.lr} → 1 % linearly, "
          f"G {args.g_depth}×{args.hidden}, D {args.depth}×{args.hidden}, batch {args.batch}, seeds 0–{args.seeds - 1}")
    print(command("toy2d.py", argv))
    print("| variant | data | modes | % high quality | reverse KL | s / run | steps / s |")
    print("|---|---|---|---|---|---|---|")
    for mixture in args.data:
        for name in args.variants:
            rows = [run(name, mixture, seed, args) for seed in range(args.seeds)]
            col = columns(rows)
            print(f"| {name} | {mixture} | {mean_std(col['modes'])} / {rows[0]['total']} | {mean_std(col['hq'])} "
                  f"| {mean_std(col['kl'])} | {statistics.mean(col['seconds']):.1f} "
                  f"| {statistics.mean(col['rate']):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
