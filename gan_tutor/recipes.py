"""Ready-made training set-ups shared by the chapters, the panel and the benchmarks,
so that a number in BENCHMARKS.md and a run in a notebook come from the same code.

A recipe only *configures* the one loop (:class:`gan_tutor.train.Trainer`):
model sizes, hyperparameters, batch size, and callbacks such as a linear
learning-rate decay.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch

from .data import MIXTURES, GaussianMixture2D, load_images
from .metrics import PROTOCOL_SAMPLES, ImageScorer, ModeStats, digit_classifier, mode_stats
from .models import DCGANDiscriminator, DCGANGenerator, Discriminator, Generator
from .train import VARIANTS, Trainer, Variant, get_variant

__all__ = ["TOY2D", "TOY2D_GRID25", "toy2d_recipe", "toy2d_trainer", "dcgan_trainer", "DigitsSetup", "digits_setup", "LinearDecay", "ModeTracker", "ImageTracker", "generate",
           "sample_from"]


def _hyper(variant: str | Variant, lr: float, hyper: dict):
    """The variant's own defaults (its paper's n_critic, γ, ...), with the recipe's learning
    rate for both nets and the caller's keyword arguments on top."""
    base = get_variant(variant).defaults if isinstance(variant, str) else variant.defaults
    hp = replace(base, lr_d=lr, lr_g=lr)
    for name, value in hyper.items():  # lr_d= / lr_g= override lr; a misspelt name gets the list of valid ones
        setattr(hp, name, value)
    return hp


# Settings for the 2-D mixtures, one per registered variant, that train within about a
# minute on one CPU thread; the chapters and benchmarks/toy2d.py share them:
# ``toy2d_trainer(data, name, **TOY2D[name])``. They depart from the papers' image settings
# where a small budget needs it; BENCHMARKS.md ("How the toy recipes were found") gives the
# searches and trial numbers behind each value.
# - The GANs: a ReLU generator of 3 × 96 units (it can flatten whole regions of z onto a
#   mode, leaving fewer samples on the bridges between modes) at batch 32, lr 1e-3.
# - WGAN-GP and WGAN-div: the same networks at lr 2e-3 (papers 1e-4, 2e-4) with one critic
#   step (papers 5); WGAN-GP's γ = 0.1 is its authors' toy-script value (paper 10). Both are
#   scored on a moving average of the generator (``g_ema=0.999``, :func:`gan_tutor.train.ema_warmup`),
#   which changes no step of training and evens out the generator's swing around the equilibrium.
# - WGAN-clip keeps the paper's c = 0.01, n_critic 5 and RMSProp, at lr 1e-3 (paper 5e-5).
_GAN_TOY = dict(lr=1e-3, batch_size=32, g_depth=3, g_hidden=96, g_slope=0.0)
TOY2D: dict[str, dict] = {
    "gan_saturating": dict(_GAN_TOY),  # copies: editing one recipe must not edit the others
    "gan": dict(_GAN_TOY),
    "gan_fm": dict(_GAN_TOY),
    "wgan_clip": dict(lr=1e-3, batch_size=64, g_depth=4),
    "wgan_gp": dict(_GAN_TOY, lr=2e-3, n_critic=1, gamma=0.1, g_ema=0.999),
    # WGAN-div takes WGAN-GP's Adam β = (0, 0.9), not its paper's (0.5, 0.999): momentum made its runs swing
    "wgan_div": dict(_GAN_TOY, lr=2e-3, n_critic=1, betas=(0.0, 0.9), g_ema=0.999),
    # GAN-QP (chapter 07): the GANs' recipe with one critic step (paper 2) at lr 1e-3 (paper 2e-4),
    # γ = 1/(2λ) = 0.05 as in the paper; with the LeakyReLU 4 × 128 generator it collapsed onto one ring mode
    "gan_qp": dict(_GAN_TOY, n_critic=1),
}
# What changes on the 5×5 grid (:func:`toy2d_recipe` applies it): its 25 narrow modes need
# less noisy steps, so larger batches at lr 3e-3 (on the ring the same change scores lower,
# hence a recipe per mixture). WGAN-div takes batches of 256; WGAN-GP, whose step costs more
# (a double backward at the interpolates), fits fewer of them in the budget and keeps 128.
TOY2D_GRID25: dict[str, dict] = {"wgan_gp": dict(batch_size=128, lr=3e-3),
                                 "wgan_div": dict(batch_size=256, lr=3e-3)}


def toy2d_recipe(variant: str, data: GaussianMixture2D | str) -> dict:
    """The settings of ``variant`` on a mixture (or its name, ``"ring8"`` or ``"grid25"``):
    a copy of ``TOY2D[variant]``, with ``TOY2D_GRID25``'s changes on the 5×5 grid (any other
    mixture gets the recipe unchanged). Pass them on: ``toy2d_trainer(data, variant, **recipe)``."""
    if isinstance(data, str) and data not in MIXTURES:
        raise ValueError(f"unknown mixture {data!r}; the book's mixtures are {' and '.join(map(repr, MIXTURES))} "
                         f"(or pass the GaussianMixture2D itself)")
    name = data if isinstance(data, str) else data.name
    if variant not in TOY2D:
        raise ValueError(f"no toy recipe for {variant!r}; recipes exist for {', '.join(TOY2D)}")
    return dict(TOY2D[variant], **(TOY2D_GRID25.get(variant, {}) if name == "grid25" else {}))


def toy2d_trainer(data: GaussianMixture2D, variant: str = "gan", seed: int = 0, device="cpu",
                  hidden: int = 128, depth: int = 3, z_dim: int = 2, lr: float = 1e-3,
                  batch_size: int = 256, g_depth: int | None = None, g_hidden: int | None = None,
                  g_slope: float = 0.2, betas: tuple[float, float] | None = None, g_batch_size: int | None = None,
                  g_ema: float | None = None, **hyper) -> Trainer:
    """A GAN on a 2-D mixture: MLP generator and discriminator of ``depth`` hidden
    layers of width ``hidden`` (the generator ``g_depth`` layers of width ``g_hidden``
    when given, with LeakyReLU(``g_slope``): 0 makes them ReLUs),
    the variant's optimiser (Adam(β1 = 0.5) for the GANs; ``betas`` replaces an Adam
    variant's (β1, β2)), learning rate ``lr`` for both, batches of ``batch_size`` for the
    critic and ``g_batch_size`` (default the same) for the generator, seeded weights
    (``torch.manual_seed(seed)``) and data/noise (``seed``), and with ``g_ema`` = β a
    moving average of the generator's weights to sample from (``trainer.eval_gen``;
    :class:`gan_tutor.train.Trainer`).
    The other hyperparameters start from the variant's ``defaults``; extra keyword
    arguments are :class:`gan_tutor.train.Hyper` fields that override them (e.g. ``n_critic=5``)."""
    try:
        hp = _hyper(variant, lr, hyper)
    except ValueError as err:
        if "unknown hyperparameter" not in str(err):
            raise
        raise ValueError(f"{err}; or one of toy2d_trainer's own arguments: hidden, depth, g_depth, g_hidden, "
                         f"g_slope, z_dim, lr, batch_size, g_batch_size, g_ema, betas, seed, device") from None
    v = get_variant(variant) if isinstance(variant, str) else variant
    if betas is not None:
        v = _with_betas(v, betas)
    torch.manual_seed(seed)
    gen = Generator(z_dim, 2, hidden if g_hidden is None else g_hidden, depth if g_depth is None else g_depth,
                    slope=g_slope)
    disc = Discriminator(2, hidden, depth)
    return Trainer(gen, disc, lambda n, g: data.sample(n, g, device), v, hp, batch_size=batch_size,
                   device=device, seed=seed, g_batch_size=g_batch_size, g_ema=g_ema)


def _with_betas(variant: Variant, betas) -> Variant:
    """``variant`` with Adam's (β1, β2) replaced; anything else is refused with the reason."""
    if variant.optimizer != "adam":
        adam = ", ".join(name for name, v in VARIANTS.items() if v.optimizer == "adam")
        raise ValueError(f"betas are Adam's settings; {variant.name} trains with {variant.optimizer} "
                         f"(the Adam variants: {adam})")
    try:
        b = tuple(betas)
    except TypeError:
        b = ()
    if len(b) != 2 or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) and 0 <= x < 1 for x in b):
        raise ValueError(f"betas must be two numbers (β1, β2) in [0, 1), got {betas!r}")
    return replace(variant, optimizer_kwargs={**variant.optimizer_kwargs, "betas": tuple(float(x) for x in b)})


def dcgan_trainer(data, variant: str = "gan", seed: int = 0, device="cpu", z_dim: int = 32, width: int = 32,
                  lr: float = 2e-4, batch_size: int = 64, g_norm: str = "batch", d_norm: str = "batch",
                  minibatch_features: int = 0, input_noise: float = 0.0, betas: tuple[float, float] | None = None,
                  g_batch_size: int | None = None, g_ema: float | None = None, **hyper) -> Trainer:
    """A DCGAN on images (``data``: :func:`gan_tutor.data.load_images`' result, or anything
    with ``size``, ``channels`` and ``sample(n, generator, device)``): the paper's
    Adam(lr 2e-4, β1 = 0.5) for both nets, batch 64, seeded weights and data/noise.
    ``width`` is the channel count of G's last and D's first block (the paper's 128 at
    64×64; 32 keeps a 16×16 run on a laptop CPU). ``input_noise`` σ adds instance noise
    to D's inputs, drawn from the trainer's own generator (seeded, checkpointed).
    ``betas`` replaces an Adam variant's (β1, β2), ``g_batch_size`` sets the
    generator's batch (default ``batch_size``) and ``g_ema`` the decay of the generator's
    moving average (default none), as in :func:`toy2d_trainer`.
    The other hyperparameters start from the variant's ``defaults``; extra keyword
    arguments are :class:`gan_tutor.train.Hyper` fields that override them."""
    v = get_variant(variant) if isinstance(variant, str) else variant
    if betas is not None:  # refused before anything is built
        v = _with_betas(v, betas)
    torch.manual_seed(seed)
    gen = DCGANGenerator(z_dim, size=data.size, channels=data.channels, width=width, norm=g_norm)
    disc = DCGANDiscriminator(size=data.size, channels=data.channels, width=width, norm=d_norm,
                              minibatch_features=minibatch_features, input_noise=input_noise)
    trainer = Trainer(gen, disc, lambda n, g: data.sample(n, g, device), v, _hyper(variant, lr, hyper),
                      batch_size=batch_size, device=device, seed=seed, g_batch_size=g_batch_size, g_ema=g_ema)
    disc.input_noise.generator = trainer.rng
    return trainer


class LinearDecay:
    """Callback: both learning rates fall linearly from ``lr`` (the generator's from
    ``lr_g`` when given, for two time-scale runs) to ``floor`` times that over ``steps``
    iterations, then stay there. Late small steps let the generator settle on the
    modes instead of orbiting them."""

    def __init__(self, lr: float, steps: int, floor: float = 0.01, lr_g: float | None = None):
        lr_g = lr if lr_g is None else lr_g
        if not (lr > 0 and lr_g > 0 and steps >= 1 and 0 < floor <= 1):
            raise ValueError(f"LinearDecay needs lr > 0, lr_g > 0, steps >= 1 and 0 < floor <= 1, "
                             f"got {lr}, {lr_g}, {steps}, {floor}")
        self.lr, self.lr_g, self.steps, self.floor = lr, lr_g, steps, floor

    def __call__(self, trainer: Trainer) -> None:
        scale = max(1.0 - min(trainer.iteration / self.steps, 1.0), self.floor)  # 1 → floor
        trainer.hyper.lr_d, trainer.hyper.lr_g = self.lr * scale, self.lr_g * scale


@dataclass
class ModeTracker:
    """Callback: every ``every`` iterations, score :data:`PROTOCOL_SAMPLES` samples
    from a fixed z (``trainer.eval_gen``, the generator's moving average when the trainer
    keeps one, in eval mode) with :func:`gan_tutor.metrics.mode_stats`."""

    data: GaussianMixture2D
    every: int = 250
    seed: int = 12345

    def __post_init__(self):
        self.steps: list[int] = []
        self.stats: list[ModeStats] = []

    def __call__(self, trainer: Trainer) -> None:
        if trainer.iteration % self.every == 0:
            self.steps.append(trainer.iteration)
            self.stats.append(self.score(trainer))

    def score(self, trainer: Trainer, gen: torch.nn.Module | None = None) -> ModeStats:
        """The protocol's statistics now, of ``gen`` (default ``trainer.eval_gen``; pass
        ``trainer.gen`` to score the last weights when the trainer keeps an average)."""
        samples = generate(trainer.eval_gen if gen is None else gen, PROTOCOL_SAMPLES, self.seed)
        return mode_stats(samples, self.data.centres, self.data.std)


def sample_from(gen, z: torch.Tensor) -> torch.Tensor:
    """module(x) (a generator's G(z) or a critic's f(x)) in eval mode (batch norm uses its
    running statistics) and without gradients; the module's train/eval mode is restored."""
    was_training = gen.training
    gen.eval()
    try:
        with torch.no_grad():
            return gen(z)
    finally:
        gen.train(was_training)


def generate(gen, n: int, seed: int = 12345) -> torch.Tensor:
    """n samples from ``gen`` for a fixed noise seed: :func:`sample_from` with
    ``gen.noise(n, generator=seed)``, so the same seed gives the same z every time."""
    return sample_from(gen, gen.noise(n, generator=seed))


@dataclass
class ImageTracker:
    """Callback: every ``every`` iterations, score ``n`` generated images (a fixed z,
    ``trainer.eval_gen``) with an :class:`gan_tutor.metrics.ImageScorer`: the Fréchet distance to its
    reference images and the classifier score. Use as many images as the scorer's
    floor was computed with (the distance is biased by the sample count)."""

    scorer: object
    n: int
    every: int = 500
    seed: int = 12345

    def __post_init__(self):
        self.steps: list[int] = []
        self.fd: list[float] = []
        self.score: list[float] = []

    def __call__(self, trainer: Trainer) -> None:
        if trainer.iteration % self.every == 0:
            self.record(trainer)

    def record(self, trainer: Trainer) -> tuple[float, float]:
        images = generate(trainer.eval_gen, self.n, self.seed)
        self.steps.append(trainer.iteration)
        self.fd.append(self.scorer.fd(images))
        self.score.append(self.scorer.score(images))
        return self.fd[-1], self.score[-1]


class DigitsSetup(NamedTuple):
    """The 8×8 digits (upsampled to ``size``) and the yardstick chapter 04 built for them."""

    train: object  #: the training split, :func:`gan_tutor.data.load_images`' result: what the GAN learns
    heldout: object  #: the held-out split: the floor's images, never trained on
    scorer: ImageScorer  #: FD and classifier score against the training images
    floor: float  #: FD of the held-out real images: the best a generator can score with as many images


def digits_setup(size: int = 16, device="cpu") -> DigitsSetup:
    """The image set-up of chapters 05–07 and ``benchmarks/images.py``, in one call:
    ``train, heldout, scorer, floor = digits_setup(16, device)``. The scorer uses the
    cached :func:`gan_tutor.metrics.digit_classifier` (trained on first use) and the
    training images as its reference; score ``len(heldout)`` generated images against
    ``floor`` (the Fréchet distance is biased by the sample count)."""
    train = load_images("digits", size)
    heldout = load_images("digits", size, train=False)
    scorer = ImageScorer(digit_classifier(size, device=device), train.images.to(device))
    return DigitsSetup(train, heldout, scorer, scorer.floor(heldout.images.to(device)))
