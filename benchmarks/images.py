"""Sample quality of image GANs on the offline digits: Fréchet distance and classifier score.

    python benchmarks/images.py                       # every image variant, 3 seeds
    python benchmarks/images.py --variants wgan_gp --seeds 1 --steps 2000 --every 500

Each run trains one variant with :func:`gan_tutor.recipes.dcgan_trainer` on the
training split of scikit-learn's digits (resized to ``--size``) for a fixed
number of steps on one CPU thread, then generates as many images as the
held-out split has and scores them with the cached digit classifier
(:func:`gan_tutor.metrics.digit_classifier`): the Fréchet distance (FD) to the
training split, and the classifier score. The floor is the FD of the held-out
real images to the same training split, with the same count: the value a
perfect generator would get. The target (issue 5) is FD ≤ 2 × floor within
3 CPU-minutes.

Each variant has its own settings (``RECIPES`` below). The GANs' came from a small
search (seed 0, FD at 3,000–8,000 steps): the paper's Adam(2e-4) plateaued near FD 15–19 (score 6.1); label smoothing, TTUR,
a wider net and an EMA generator did not move it; instance noise on D's inputs
(σ 0.1–0.3), which keeps D from memorising 1,442 training images, brought it to
8, and lr 4e-4 decaying linearly to 1 % to about 6.5 at batch 64 (7.4 ± 0.5 over
3 seeds at 7,000 steps, 157 s: just short of 2 × floor). Batch 32 buys 10,000
steps in about the same time and gave 5.9 over 3 seeds; annealing the noise
to 0 made it worse (10–16).
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
from report import columns, command, machine, mean_std, timed_train, with_options

from gan_tutor.recipes import ImageTracker, LinearDecay, dcgan_trainer, digits_setup

# Per variant: dcgan_trainer's settings and the steps that fit about 3 CPU-minutes.
# The GANs: see above. WGAN-GP: the paper's critic without batch norm (layer norm here),
# Adam(β = (0, 0.9)) and λ = γ = 10, no instance noise. A short search (seed 0): the
# paper's n_critic 5 at lr 1e-4 is too slow for the budget; n_critic 2 at 2e-4 stalled
# at FD 10.8 after 3,000 steps; n_critic 1 at 5e-4 reached 5.4 after 5,000 (γ 1: 5.8).
RECIPES = {
    "gan": dict(lr=4e-4, batch_size=32, input_noise=0.2, steps=10000),
    "gan_fm": dict(lr=4e-4, batch_size=32, input_noise=0.2, steps=10000),
    "wgan_gp": dict(lr=5e-4, batch_size=32, d_norm="layer", n_critic=1, steps=5000),
}


def recipe(variant: str, args) -> dict:
    """RECIPES[variant] with the options given on the command line on top."""
    return with_options(RECIPES[variant], args, {"lr": "lr", "batch": "batch_size", "noise": "input_noise",
                                                 "steps": "steps", "n_critic": "n_critic"})


def run(variant: str, seed: int, args, train, scorer, n: int) -> dict:
    kw = recipe(variant, args)
    steps, lr = kw.pop("steps"), kw["lr"]
    trainer = dcgan_trainer(train, variant, seed=seed, z_dim=args.z_dim, width=args.width, **kw)
    tracker = ImageTracker(scorer, n, every=args.every or steps)
    seconds, cpu = timed_train(trainer, steps, [LinearDecay(lr, steps), tracker])  # includes the tracker's scoring
    fd, score = tracker.fd[-1], tracker.score[-1]  # after the last step
    if args.every:
        curve = ", ".join(f"{s}: {f:.1f}" for s, f in zip(tracker.steps, tracker.fd))
        print(f"#   {variant} seed {seed}: FD over steps {curve}", flush=True)
    return {"fd": fd, "score": score, "seconds": seconds, "cpu": cpu, "rate": steps / seconds, "steps": steps}




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="default: per variant (RECIPES)")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--z-dim", type=int, default=32)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="falls linearly to 1 %% over the run")
    parser.add_argument("--noise", type=float, default=None, help="instance noise σ on D's inputs")
    parser.add_argument("--n-critic", type=int, default=None)
    parser.add_argument("--every", type=int, default=0, help="also print the FD every this many steps")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    train, heldout, scorer, floor = digits_setup(args.size)
    n = len(heldout)
    print(f"# {machine()}; digits {args.size}×{args.size} ({len(train)} train / {n} held out), "
          f"DCGAN width {args.width}, z {args.z_dim}, lr → 1 % linearly, seeds 0–{args.seeds - 1}; per variant:")
    for name in args.variants:
        print(f"#   {name}: " + ", ".join(f"{k} {v}" for k, v in recipe(name, args).items()))
    print(command("images.py", argv))
    print(f"# floor: FD(held-out real, train) = {floor:.2f} with {n} images; classifier score of held-out real "
          f"= {scorer.score(heldout.images):.2f}")
    print("| variant | steps | FD | FD / floor | classifier score | s / run | CPU s / run | steps / s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.variants:
        rows = [run(name, seed, args, train, scorer, n) for seed in range(args.seeds)]
        col = columns(rows)
        print(f"| {name} | {rows[0]['steps']} | {mean_std(col['fd'])} | {mean_std([f / floor for f in col['fd']])} "
              f"| {mean_std(col['score'])} | {statistics.mean(col['seconds']):.0f} | {statistics.mean(col['cpu']):.0f} "
              f"| {statistics.mean(col['rate']):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
