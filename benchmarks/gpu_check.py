"""The book on a GPU: speed of the live panel and of two recipes, and proof that a
training step runs on the device alone.

    python benchmarks/gpu_check.py                  # on a CUDA machine: under 5 minutes
    python benchmarks/gpu_check.py --device cpu --quick   # the same checks, tiny, on the CPU

What it does, in this order (exit status 1 if any check fails, and an exception
ends it with its traceback):

1. **Placement.** One training step (``Trainer.step``: the critic's steps and the
   generator's) of a toy recipe (WGAN-GP on the ring) and of the DCGAN on the
   digits runs under :class:`gan_tutor.runtime.DeviceGuard`, which raises when
   any operation, backward passes included, reads a tensor off the device (the
   unit tests run the same guard on the CPU and on ``meta``).
2. **Host synchronisation.** On CUDA the same steps run under
   ``torch.cuda.set_sync_debug_mode("error")``: any operation inside a step that
   makes the host wait for the GPU (``.item()``, ``.tolist()``, a boolean test
   of a tensor, a copy to the CPU) raises. The loop's own sync, once per
   iteration after the step (``Trainer.train``: the history's ``tolist``, and
   the generator average's counter), is outside the step and counted
   separately: syncs per iteration of ``train`` are printed.
3. **The live panel.** ``TrainingPanel.run`` (the chunked training of Colab's
   foreground mode, which also redraws after each chunk) for ``--seconds``
   seconds on the ring: steps and frames per second.
4. **Two recipes** at a fixed number of steps, with wall time and steps per
   second: WGAN-GP on the ring (``recipes.toy2d_recipe``) and the DCGAN of
   chapter 04 on the 16×16 digits.

Paste the printed block into BENCHMARKS.md ("GPU check") with the card's name.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import torch
from report import machine

from gan_tutor.data import load_images, ring8
from gan_tutor.recipes import dcgan_trainer, toy2d_recipe, toy2d_trainer
from gan_tutor.runtime import DeviceGuard, DeviceMismatch
from gan_tutor.widgets import TrainingPanel


def check_placement(step, device: torch.device) -> str:
    """Run ``step()`` under :class:`gan_tutor.runtime.DeviceGuard`: "" if every operation
    stayed on ``device``, else the guard's message (the first operation that did not)."""
    try:
        with DeviceGuard(device):
            step()
    except DeviceMismatch as err:
        return str(err)
    return ""


def check_no_sync(step, device: torch.device) -> str:
    """On CUDA: run ``step()`` with synchronising operations turned into errors."""
    if device.type != "cuda":
        return "skipped (not CUDA)"
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    return "none"


def syncs_per_iteration(trainer, iterations: int = 20) -> float:
    """Synchronisations ``Trainer.train`` makes per iteration (warnings of the sync debug mode)."""
    if trainer.device.type != "cuda":
        return float("nan")
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer.train(iterations, progress=False)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught) / iterations


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_train(trainer, steps: int) -> tuple[float, float]:
    """(wall seconds, steps per second) of ``steps`` iterations, after 5 warm-up ones."""
    trainer.train(5, progress=False)
    _sync(trainer.device)
    t0 = time.perf_counter()
    trainer.train(steps, progress=False)
    _sync(trainer.device)
    wall = time.perf_counter() - t0
    return wall, steps / wall


def panel_speed(device: torch.device, seconds: float) -> dict:
    data = ring8()
    panel = TrainingPanel(toy2d_trainer(data, "gan", seed=0, device=device), data, mode="foreground")
    frames = 0
    refresh = panel.refresh

    def counted():
        nonlocal frames
        frames += 1
        refresh()

    panel.refresh = counted
    panel.run(20)  # warm-up: kernels, caches, the chunk length
    start_step, frames = panel.trainer.iteration, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        panel.run(panel._chunk)
    wall = time.perf_counter() - t0
    return {"steps_per_s": (panel.trainer.iteration - start_step) / wall, "frames_per_s": frames / wall,
            "chunk": panel._chunk}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a dry run")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the panel trains")
    parser.add_argument("--quick", action="store_true", help="tiny step counts: a dry run of the checks")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available on this machine (torch.cuda.is_available() is False); "
              "run it where there is a GPU, or with --device cpu --quick for a dry run", file=sys.stderr)
        return 2
    if device.type == "cpu":
        torch.set_num_threads(1)
    toy_steps, image_steps = (50, 5) if args.quick else (3000, 500)
    seconds = min(args.seconds, 1.0) if args.quick else args.seconds

    data = ring8()
    toy = toy2d_trainer(data, "wgan_gp", seed=0, device=device, **toy2d_recipe("wgan_gp", data))
    digits = load_images("digits", 16).to(device)
    image = dcgan_trainer(digits, seed=0, device=device, lr=4e-4, batch_size=32, input_noise=0.2)
    failures = []
    print(f"# {machine()}; device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print("| check | toy (WGAN-GP, ring) | image (DCGAN, digits 16×16) |")
    print("|---|---|---|")
    placement, syncs, rates = [], [], []
    for trainer in (toy, image):
        trainer.train(3, progress=False)  # warm-up outside the checks
        stray = check_placement(trainer.step, device)
        placement.append(f"all on {device}" if not stray else "OFF the device")
        if stray:
            failures.append(f"placement: {stray}")
        try:
            syncs.append(check_no_sync(trainer.step, device))
        except RuntimeError as err:
            syncs.append("SYNC inside the step")
            failures.append(f"host sync inside a step: {err}")
        rates.append(syncs_per_iteration(trainer))
    print(f"| tensors of one step | {placement[0]} | {placement[1]} |")
    print(f"| host syncs inside one step | {syncs[0]} | {syncs[1]} |")
    print("| host syncs per iteration of train() | "
          + " | ".join("—" if math.isnan(r) else f"{r:.1f}" for r in rates) + " |")
    toy_wall, toy_rate = timed_train(toy, toy_steps)
    image_wall, image_rate = timed_train(image, image_steps)
    print(f"| {toy_steps} / {image_steps} steps: wall s | {toy_wall:.1f} | {image_wall:.1f} |")
    print(f"| steps / s | {toy_rate:.0f} | {image_rate:.0f} |")
    panel = panel_speed(device, seconds)
    print(f"\npanel (foreground, GAN on the ring, {seconds:.0f} s): {panel['steps_per_s']:.0f} steps/s, "
          f"{panel['frames_per_s']:.1f} frames/s, {panel['chunk']} steps per chunk")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures[:40]), file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
