"""Mode coverage on the 2-D mixtures: every registered variant, ring of 8 and 5×5 grid.

    python benchmarks/toy2d.py                      # all variants, both mixtures, 5 seeds
    python benchmarks/toy2d.py --variants gan --data ring8 --seeds 3 --steps 4000
    python benchmarks/toy2d.py --variants gan --data ring8 --first-seed 5   # seeds 5–9, held out

Each variant runs with its shared recipe, ``recipes.TOY2D[variant]`` (on the grid with
``recipes.TOY2D_GRID25``'s changes; command-line options override both), for
``STEPS[variant]`` steps (``STEPS_GRID25`` where the grid's recipe costs more per step).
For the GANs (a ReLU generator of 3 × 96 units, batch 32, 10,000 steps) they came from
searches on the ring, seeds 0–4, checked on seeds 5–9: a ReLU generator tears the noise
into eight pieces with thinner bridges between them than a LeakyReLU one, and small
batches and a narrower generator buy more steps in the budget. WGAN-GP and WGAN-div use
the same networks and Adam β = (0, 0.9) (WGAN-GP's; on the grid batches of 128 for WGAN-GP,
256 for WGAN-div), and are scored on a moving average of the generator's weights (their
recipes' ``g_ema``; ``--g-ema 0`` scores the last generator instead); their departures from
their papers are explained beside ``TOY2D`` and in BENCHMARKS.md.

Each run trains one variant with the shared recipe (:func:`gan_tutor.recipes.toy2d_trainer`
with a linear learning-rate decay) for a fixed number of steps on one CPU thread,
then scores 2,500 samples of ``trainer.eval_gen`` with the VEEGAN/PacGAN protocol
(:func:`gan_tutor.metrics.mode_stats`). The table gives the mean ± std over
seeds of modes captured, % high-quality samples and reverse KL, with seconds and
steps per second per run, and the machine it ran on; where the recipe keeps a moving
average of the generator (and scores it), the last column scores the same runs' last
generator, which the average leaves untouched.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
from report import columns, command, machine, mean_std, timed_train, with_options

from gan_tutor.data import MIXTURES
from gan_tutor.recipes import LinearDecay, ModeTracker, toy2d_recipe, toy2d_trainer
from gan_tutor.train import VARIANTS

# Steps per run, aimed at the issues' budgets on one CPU thread (20 s for the GANs of issue 3,
# 60 s for the Wasserstein GANs of issue 6); the table in BENCHMARKS.md records what they took
# (about 19 s for the GANs, 45–54 CPU-s for WGAN-GP and WGAN-div, two runs at a time).
STEPS = {"gan_saturating": 10000, "gan": 10000, "gan_fm": 10000, "wgan_clip": 4000, "wgan_gp": 18000, "wgan_div": 18000,
         "gan_qp": 10000}  # GAN-QP: the GANs' step count, about 22 CPU-s (BENCHMARKS.md)
STEPS_GRID25 = {"wgan_gp": 13000, "wgan_div": 9500}  # their grid recipes cost more per step (TOY2D_GRID25)


def settings(variant: str, mixture: str, args: argparse.Namespace) -> dict:
    """The shared recipe's settings for ``variant`` (:data:`gan_tutor.recipes.TOY2D`, with
    :data:`gan_tutor.recipes.TOY2D_GRID25` on the grid), with every option given on the
    command line on top (``--g-ema 0`` removes the recipe's generator average)."""
    kw = with_options(toy2d_recipe(variant, mixture), args,
                     {"lr": "lr", "hidden": "hidden", "depth": "depth", "g_depth": "g_depth", "g_hidden": "g_hidden",
                      "g_slope": "g_slope",
                      "n_critic": "n_critic", "gamma": "gamma", "batch": "batch_size", "g_batch": "g_batch_size",
                      "betas": "betas", "g_ema": "g_ema"})
    if kw.get("g_ema") == 0:  # --g-ema 0: score the generator itself
        del kw["g_ema"]
    return kw


def run(variant: str, mixture: str, seed: int, args: argparse.Namespace) -> dict:
    data = MIXTURES[mixture]()
    kw = settings(variant, mixture, args)
    steps = args.steps or {**STEPS, **(STEPS_GRID25 if mixture == "grid25" else {})}[variant]
    trainer = toy2d_trainer(data, variant, seed=seed, **kw)
    seconds, cpu = timed_train(trainer, steps, [LinearDecay(trainer.hyper.lr_d, steps, lr_g=trainer.hyper.lr_g)])
    tracker = ModeTracker(data)
    stats = tracker.score(trainer)  # trainer.eval_gen: the average when the recipe keeps one
    last = tracker.score(trainer, trainer.gen) if trainer.gen_ema is not None else None  # the same run's last weights
    return {"modes": stats.modes, "total": stats.total_modes, "hq": 100 * stats.high_quality,
            "hq_last": None if last is None else 100 * last.high_quality,
            "kl": stats.reverse_kl, "seconds": seconds, "cpu": cpu, "rate": steps / seconds, "steps": steps}


def layers(net: torch.nn.Module) -> str:
    """An MLP's hidden layers as ``depth×width activation``, read from its modules."""
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    leaky = [m for m in net.modules() if isinstance(m, torch.nn.LeakyReLU)]
    return f"{len(linears) - 1}×{linears[0].out_features} {f'LeakyReLU({leaky[0].negative_slope:g})' if leaky else 'ReLU'}"


def describe(variant: str, mixture: str, args: argparse.Namespace) -> str:
    """The recipe as the trainer will use it (read back from a tiny trainer built with it)."""
    kw = settings(variant, mixture, args)
    trainer = toy2d_trainer(MIXTURES[mixture](), variant, **kw)
    hp = trainer.hyper
    knobs = ", ".join(f"{k} {getattr(hp, k):g}" for k in VARIANTS[variant].knobs)
    betas = trainer.opt_d.param_groups[0].get("betas")  # Adam's, as the trainer's optimiser holds them
    optimiser = trainer.variant.optimizer + (f" β ({betas[0]:g}, {betas[1]:g})" if betas else "")
    batch = f"batch {trainer.batch_size}" + (f" (G {trainer.g_batch_size})" if trainer.g_batch_size != trainer.batch_size else "")
    average = f", scored: G's moving average (β {trainer.g_ema:g})" if trainer.g_ema is not None else ""
    return (f"G {layers(trainer.gen)}, D {layers(trainer.disc)}, {batch}, "
            f"{optimiser} lr {hp.lr_d:g} → 1 %, {knobs}{average}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--data", nargs="+", default=list(MIXTURES), choices=list(MIXTURES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed … first-seed + seeds − 1")
    parser.add_argument("--steps", type=int, default=None, help="default: per variant, see STEPS")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--g-batch", type=int, default=None,
                        help="fakes per generator step (default: the recipe's, else the critic's batch)")
    parser.add_argument("--lr", type=float, default=None, help="both nets; falls linearly to 1 %%")
    parser.add_argument("--hidden", type=int, default=None)
    parser.add_argument("--depth", type=int, default=None, help="hidden layers of the discriminator")
    parser.add_argument("--g-depth", type=int, default=None, help="hidden layers of the generator")
    parser.add_argument("--g-hidden", type=int, default=None, help="width of the generator's hidden layers")
    parser.add_argument("--g-slope", type=float, default=None, help="the generator's LeakyReLU slope; 0 = ReLU")
    parser.add_argument("--n-critic", type=int, default=None)
    parser.add_argument("--gamma", type=float, default=None)
    parser.add_argument("--betas", type=float, nargs=2, default=None, metavar=("B1", "B2"),
                        help="Adam's (β1, β2), for the Adam variants")
    parser.add_argument("--g-ema", type=float, default=None,
                        help="decay of the generator's moving average, which is scored (default: the recipe's; 0: none)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"# {machine()}; seeds {seeds[0]}–{seeds[-1]}; recipe per variant and mixture (recipes.toy2d_recipe + options):")
    for mixture in args.data:
        for name in args.variants:
            print(f"#   {name}, {mixture}: {describe(name, mixture, args)}")
    print(command("toy2d.py", argv))
    print("| variant | data | steps | modes | % high quality | reverse KL | s / run | CPU s / run | steps / s "
          "| % high quality, last G |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mixture in args.data:
        for name in args.variants:
            rows = [run(name, mixture, seed, args) for seed in seeds]
            col = columns(rows)
            last = "—" if rows[0]["hq_last"] is None else mean_std(col["hq_last"])  # no average: the same generator
            print(f"| {name} | {mixture} | {rows[0]['steps']} | {mean_std(col['modes'])} / {rows[0]['total']} | {mean_std(col['hq'])} "
                  f"| {mean_std(col['kl'])} | {statistics.mean(col['seconds']):.1f} | {statistics.mean(col['cpu']):.1f} "
                  f"| {statistics.mean(col['rate']):.0f} | {last} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
