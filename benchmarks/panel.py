"""How live the training panel is: view refreshes per second and drawing's share
of the wall time, while the panel's own asyncio loop trains a 2-D GAN.

    python benchmarks/panel.py                  # 10 s on the ring, one CPU thread
    python benchmarks/panel.py --seconds 20 --data grid25 --n-critic 5

Targets (issue 3): at least 5 refreshes per second, drawing under 20 % of the
training time. Drawing = everything ``TrainingPanel.refresh`` does (generator
samples, the discriminator field, mode statistics, the PNG).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import torch
from report import machine

from gan_tutor.data import MIXTURES
from gan_tutor.recipes import toy2d_trainer
from gan_tutor.widgets import TrainingPanel


def measure(seconds: float, data_name: str, n_critic: int) -> dict:
    data = MIXTURES[data_name]()
    panel = TrainingPanel(toy2d_trainer(data, "gan", seed=0, n_critic=n_critic), data)
    draw_times: list[float] = []
    refresh = panel.refresh

    def timed_refresh():
        t0 = time.perf_counter()
        refresh()
        draw_times.append(time.perf_counter() - t0)

    panel.refresh = timed_refresh

    async def session():
        task = panel.start()
        await asyncio.sleep(seconds)
        panel.pause()
        await task

    start_step = panel.trainer.iteration
    t0 = time.perf_counter()
    asyncio.run(session())
    wall = time.perf_counter() - t0
    draw = sum(draw_times)
    return {"wall": wall, "frames": len(draw_times), "fps": len(draw_times) / wall,
            "draw_ms": 1000 * draw / len(draw_times), "draw_share_of_training": draw / (wall - draw),
            "steps_per_s": (panel.trainer.iteration - start_step) / wall, "chunk": panel._chunk}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--data", default="ring8", choices=list(MIXTURES))
    parser.add_argument("--n-critic", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    r = measure(args.seconds, args.data, args.n_critic)
    print(f"# {machine()}; {args.data}, n_critic {args.n_critic}, {args.seconds:.0f} s")
    print("| refreshes / s | ms per refresh | drawing / training time | training steps / s | steps per chunk |")
    print("|---|---|---|---|---|")
    print(f"| {r['fps']:.1f} | {r['draw_ms']:.1f} | {100 * r['draw_share_of_training']:.0f} % "
          f"| {r['steps_per_s']:.0f} | {r['chunk']} |")
    ok = r["fps"] >= 5 and r["draw_share_of_training"] < 0.2
    print(f"targets (≥ 5 refreshes/s, drawing < 20 % of training): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
