r"""The book's one GAN training loop, and the discriminator-only fit of chapters 01–02.

A GAN *variant* is data (:class:`Variant`): its discriminator/critic loss, its
generator loss, an optional penalty weighted by γ, an optional hook after each
critic step (weight clipping), and its optimiser. The loop never asks which
variant it runs; later chapters and the zoo add variants, not loops.

One iteration of :meth:`Trainer.step` (Goodfellow et al. 2014, Algorithm 1):

1. ``n_critic`` times: draw real x and z, minimise
   :math:`\mathcal L_D(D(x), D(G(z)))\; [+\ \gamma\,\Omega(D, x, G(z))]` with
   G(z) **detached** (no gradient reaches G);
2. once: draw a fresh z and minimise :math:`\mathcal L_G(D(G(z)))`.

Hyperparameters live in :class:`Hyper`, a small mutable object read at every
step, so a slider that changes ``trainer.hyper.n_critic`` acts on the next step.

The step functions create every tensor on ``trainer.device`` and never call
``.item()`` (no host synchronisation inside a step). :meth:`Trainer.train` adds
what needs the host: the divergence guard (a NaN/inf loss or gradient stops
training, names the step and the loss, and restores the last good state), the
generator's moving average when one is kept (``g_ema``), history, callbacks, a
progress bar, and checkpoints.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from . import losses as L
from . import penalties as P
from .models.layers import MinibatchDiscrimination

__all__ = ["Hyper", "Variant", "VARIANTS", "get_variant", "Trainer", "TrainingDiverged", "OPTIMIZERS",
           "discriminator_step", "fit_discriminator", "generator_grad_norm", "ema_warmup"]

Sampler = Callable[[int], torch.Tensor]


# --- hyperparameters ------------------------------------------------------------------

@dataclass
class Hyper:
    """The knobs a learner turns while a model trains; every step reads them afresh.

    Attributes:
        label_smoothing: ε in [0, 1): real target 1 − ε (one-sided; fake stays 0).
        n_critic: discriminator/critic steps per generator step, ≥ 1.
        gamma: weight γ ≥ 0 of the variant's penalty (WGAN-GP's λ, WGAN-div's k, GAN-QP's 1/(2λ), R1's γ/2: see :func:`gan_tutor.penalties.r1_penalty`).
        clip: bound c > 0 of weight clipping (WGAN): critic weights stay in [−c, c].
        power: exponent p > 1 of WGAN-div's gradient norm, E‖∇f‖^p.
        lr_d, lr_g: learning rates of the discriminator and the generator, > 0.

    A variant reads only some of these (its :attr:`Variant.knobs`, plus the rates);
    the others are kept but unused.
    """

    label_smoothing: float = 0.0
    n_critic: int = 1
    gamma: float = 0.0
    clip: float = 0.01
    power: float = 6.0
    lr_d: float = 2e-4
    lr_g: float = 2e-4

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, _validate(name, value))


def _validate(name: str, value):
    if name == "label_smoothing":
        v = float(value)
        if not 0.0 <= v < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1) (0 = none), got {value!r}")
        return v
    if name == "n_critic":
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"n_critic must be an integer >= 1, got {value!r}")
        return int(value)
    if name == "gamma":
        v = float(value)
        if not (v >= 0.0 and math.isfinite(v)):
            raise ValueError(f"gamma (the penalty weight) must be >= 0, got {value!r}")
        return v
    if name == "clip":
        v = float(value)
        if not (v > 0.0 and math.isfinite(v)):
            raise ValueError(f"clip (the weight-clipping bound c) must be > 0, got {value!r}")
        return v
    if name == "power":
        v = float(value)
        if not (v > 1.0 and math.isfinite(v)):
            raise ValueError(f"power (WGAN-div's exponent p) must be > 1, got {value!r}")
        return v
    if name in ("lr_d", "lr_g"):
        v = float(value)
        if not (v > 0.0 and math.isfinite(v)):
            raise ValueError(f"{name} (a learning rate) must be > 0, got {value!r}")
        return v
    valid = ", ".join(f.name for f in fields(Hyper))
    raise ValueError(f"unknown hyperparameter {name!r}; valid names: {valid}")


# --- variants ---------------------------------------------------------------------------

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class Variant:
    r"""A GAN variant as data.

    Attributes:
        name: for display only; the loop never reads it.
        d_loss: ``(d_real, d_fake, label_smoothing) -> scalar``, minimised by D.
        g_loss: ``(d_real, d_fake) -> scalar``, minimised by G (``d_real`` is
            None unless ``g_needs_real``; relativistic losses need it).
        g_features: the generator loss is given ``disc.features(x)`` instead of
            ``disc(x)`` for real and fake (feature matching).
        penalty: ``(disc, real, fake, hyper, generator) -> scalar`` or None, added to
            the D loss times γ; ``generator`` is the trainer's (for random interpolates),
            ``hyper`` the current :class:`Hyper`.
        grad_penalty: ``(grad, hyper) -> scalar`` or None, added to the D loss times γ
            like ``penalty``, for a penalty on the critic's input gradient at the batch's
            own samples (WGAN-div's :math:`P_u`): ``grad`` is :math:`\nabla f` at
            [real; fake], shape (2N, ...). The loop then evaluates the critic once on
            [real; fake] and takes the loss's scores and the gradient from that one pass
            (:func:`gan_tutor.penalties.scores_and_gradients`), instead of a second
            forward pass inside the penalty; the critic must score each sample on its
            own (no batch norm), as any penalised critic must. Set this or ``penalty``.
        per_sample_penalty: the penalty reads the critic sample by sample (an input
            gradient per sample, a score difference per pair), so the trainer refuses a
            critic whose scores depend on their batch (batch norm, minibatch
            discrimination). True for WGAN-GP and GAN-QP, implied by ``grad_penalty``;
            False for a penalty on the weights alone (historical averaging).
        after_d_step: ``(disc, hyper) -> None`` or None, run after each D update
            (weight clipping).
        knobs: the :class:`Hyper` fields this variant reads, besides the learning
            rates; the live panel shows a slider for each.
        optimizer: a key of :data:`OPTIMIZERS`; ``optimizer_kwargs`` its other
            settings (e.g. Adam's betas).
        defaults: the paper's hyperparameters.
    """

    name: str
    d_loss: Callable
    g_loss: Callable
    penalty: Callable | None = None
    grad_penalty: Callable | None = None
    per_sample_penalty: bool = False
    after_d_step: Callable | None = None
    g_needs_real: bool = False
    g_features: bool = False
    optimizer: str = "adam"
    optimizer_kwargs: dict | None = None
    defaults: Hyper = field(default_factory=Hyper)
    knobs: tuple[str, ...] = ("label_smoothing", "n_critic")

    def __post_init__(self):
        names = [f.name for f in fields(Hyper) if f.name not in ("lr_d", "lr_g")]  # the rates have their own slider
        unknown = [k for k in self.knobs if k not in names]
        if unknown:
            raise ValueError(f"unknown knob(s) {unknown}; valid names: {', '.join(names)} "
                             f"(the learning rates always have a slider)")
        if self.penalty is not None and self.grad_penalty is not None:
            raise ValueError(f"{self.name}: set penalty (a function of the critic and the batches) or grad_penalty "
                             f"(a function of the critic's gradient at the batch's samples), not both")
        if self.grad_penalty is not None:
            object.__setattr__(self, "per_sample_penalty", True)
        if self.penalised and "gamma" not in self.knobs:  # a penalty is weighted by γ: show its slider
            object.__setattr__(self, "knobs", (*self.knobs, "gamma"))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid names: {', '.join(OPTIMIZERS)}")
        if self.optimizer_kwargs is None:
            object.__setattr__(self, "optimizer_kwargs", {"betas": (0.5, 0.999)} if self.optimizer == "adam" else {})

    @property
    def penalised(self) -> bool:
        """Whether the D loss has a penalty term (weighted by γ)."""
        return self.penalty is not None or self.grad_penalty is not None


def _g_saturating(d_real, d_fake):
    return L.g_loss_saturating(d_fake)


def _g_nonsaturating(d_real, d_fake):
    return L.g_loss_nonsaturating(d_fake)


def _g_feature_matching(real_features, fake_features):
    return L.g_loss_feature_matching(real_features, fake_features)


def _d_wasserstein(f_real, f_fake, label_smoothing):
    return L.d_loss_wasserstein(f_real, f_fake)  # a critic has no labels to smooth


def _g_wasserstein(f_real, f_fake):
    return L.g_loss_wasserstein(f_fake)


def _clip(disc, hyper):
    P.clip_weights_(disc, hyper.clip)


def _gp(disc, real, fake, hyper, generator):
    return P.gradient_penalty(disc, real, fake, generator)


def _div(grad, hyper):  # penalties.wgan_div_penalty with k = 1 (γ plays k), given ∇f at [real; fake]
    return P.gradient_power(grad, hyper.power)  # E_u‖∇f‖^p


def _qp(disc, real, fake, hyper, generator):
    return P.qp_penalty(disc, real, fake)  # γ plays 1/(2λ)


VARIANTS: dict[str, Variant] = {
    # Goodfellow et al. 2014: BCE discriminator, the game's own generator loss log(1 − D(G(z)))
    "gan_saturating": Variant("GAN (saturating)", L.d_loss_bce, _g_saturating),
    # the same game with the non-saturating generator loss −log D(G(z)) (§3 of the paper)
    "gan": Variant("GAN (non-saturating)", L.d_loss_bce, _g_nonsaturating),
    # Salimans et al. 2016 §3.1: the same D; G matches the mean of D's features on real data
    "gan_fm": Variant("GAN (feature matching)", L.d_loss_bce, _g_feature_matching,
                      g_needs_real=True, g_features=True),
    # Arjovsky et al. 2017, Algorithm 1: clip to [−0.01, 0.01], 5 critic steps, RMSProp(5e-5)
    "wgan_clip": Variant("WGAN (weight clipping)", _d_wasserstein, _g_wasserstein, after_d_step=_clip,
                         optimizer="rmsprop", defaults=Hyper(n_critic=5, clip=0.01, lr_d=5e-5, lr_g=5e-5),
                         knobs=("n_critic", "clip")),
    # Gulrajani et al. 2017, Algorithm 1: λ = 10, 5 critic steps, Adam(1e-4, β = (0, 0.9))
    "wgan_gp": Variant("WGAN-GP", _d_wasserstein, _g_wasserstein, penalty=_gp, per_sample_penalty=True,
                       optimizer_kwargs={"betas": (0.0, 0.9)},
                       defaults=Hyper(n_critic=5, gamma=10.0, lr_d=1e-4, lr_g=1e-4), knobs=("n_critic", "gamma")),
    # Wu et al. 2018, Algorithm 1: k = 2, p = 6, 5 critic steps, Adam(2e-4, β = (0.5, 0.999))
    "wgan_div": Variant("WGAN-div", _d_wasserstein, _g_wasserstein, grad_penalty=_div,
                        optimizer_kwargs={"betas": (0.5, 0.999)},
                        defaults=Hyper(n_critic=5, gamma=2.0, power=6.0, lr_d=2e-4, lr_g=2e-4),
                        knobs=("n_critic", "gamma", "power")),
    # Su 2018 (GAN-QP): the Wasserstein losses (G's E[f(x_r) − f(x_f)] has −E f(x_f)'s gradient) and the
    # quadratic potential with γ = 1/(2λ), λ = 10 on the plain ‖x_r − x_f‖₂ (the author's gan_qp_l2.py uses an RMS distance,
    # so its λ = 10 is γ = √D/20 here: see penalties.qp_penalty); the script: 2 critic steps, Adam(2e-4, β1 = 0.5)
    "gan_qp": Variant("GAN-QP", _d_wasserstein, _g_wasserstein, penalty=_qp, per_sample_penalty=True,
                      defaults=Hyper(n_critic=2, gamma=0.05, lr_d=2e-4, lr_g=2e-4), knobs=("n_critic", "gamma")),
}


def get_variant(name: str) -> Variant:
    """The registered variant called ``name`` (a key of :data:`VARIANTS`)."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown GAN variant {name!r}; valid names: {', '.join(VARIANTS)}") from None


# --- one discriminator/critic update (the trainer's and fit_discriminator's) -------------

def _d_update(disc: nn.Module, opt: torch.optim.Optimizer, variant: Variant, hp: Hyper, real: torch.Tensor,
              fake: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise the variant's D loss (+ γ × its penalty) by one step of ``opt``, then run its
    post-step hook (clipping). ``fake`` is detached here, so no gradient reaches G.
    Returns the loss and the gradient norm over D's parameters, as detached tensors."""
    opt.zero_grad(set_to_none=True)
    fake = fake.detach()
    if variant.grad_penalty is None:
        loss = variant.d_loss(disc(real), disc(fake), hp.label_smoothing)
        if variant.penalty is not None:
            loss = loss + hp.gamma * variant.penalty(disc, real, fake, hp, generator)  # L_D + γ Ω
    else:  # Ω on ∇f at the samples themselves: one pass of the critic on [real; fake] serves both terms
        P.check_pair(real, fake)
        scores, grad = P.scores_and_gradients(disc, torch.cat([real, fake]))  # f(x_i), ∇f(x_i): (2N,), (2N, …)
        n = real.shape[0]
        loss = variant.d_loss(scores[:n], scores[n:], hp.label_smoothing)  # L_D(f(x_r), f(x_g))
        loss = loss + hp.gamma * variant.grad_penalty(grad, hp)  # L_D + γ Ω(∇f)
    loss.backward()
    grad_norm = _grad_norm(disc.parameters())
    opt.step()
    if variant.after_d_step is not None:
        variant.after_d_step(disc, hp)
    return loss.detach(), grad_norm


_BATCH_COUPLING = (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination)  # a score that depends on its batch


def _check_penalised_critic(disc: nn.Module, variant: Variant) -> None:
    """A penalty read sample by sample (∇_x f(x_i), or f(x_r,i) − f(x_f,i)) needs each score to
    depend on its own sample alone. Batch norm and minibatch discrimination make it depend on the
    whole batch (and WGAN-div's one pass would mix real and fake): refused."""
    if variant.per_sample_penalty:
        found = sorted({type(m).__name__ for m in disc.modules() if isinstance(m, _BATCH_COUPLING)})
        if found:
            raise ValueError(f"{variant.name} penalises its critic sample by sample, but this critic has "
                             f"{', '.join(found)}, which makes each score depend on the whole batch; use a "
                             f"per-sample normalisation or none (dcgan_trainer(..., d_norm='layer') or d_norm='none'; "
                             f"nn.LayerNorm or nn.GroupNorm in a critic of your own) and no minibatch features")


# --- the trainer ------------------------------------------------------------------------

def _check_sampler(sample_real, who: str = "the trainer") -> None:
    """sample_real must accept (n, generator): ``who``'s generator is its only randomness."""
    import inspect

    try:
        inspect.signature(sample_real).bind(1, None)
    except TypeError:
        raise ValueError(f"sample_real must take two arguments, (n, generator), and return n real samples "
                         f"for {who} (its torch.Generator is passed as the second), "
                         f"e.g. `lambda n, g: data.sample(n, g, device)`") from None
    except ValueError:  # no signature to inspect (some builtins): trust the caller
        pass


def _make_rng(device: torch.device, seed: int) -> torch.Generator | None:
    """The trainer's generator on ``device``; None on the ``meta`` device, whose
    tensors hold no values (there is nothing to seed; PyTorch has no meta generator)."""
    if device.type == "meta":
        return None
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    return rng


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the trainer was restored to its last good state."""


def _grad_norm(params) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_grad_norm", "g_grad_norm", "seconds")


def ema_warmup(beta: float) -> Callable:
    r"""The update of an exponential moving average with a warm-up, for
    :class:`torch.optim.swa_utils.AveragedModel` (its ``multi_avg_fn``): after n updates,

    .. math:: \bar\theta \leftarrow \beta_n \bar\theta + (1 - \beta_n)\,\theta,
              \qquad \beta_n = \min\Big(\beta, \frac{1 + n}{10 + n}\Big)

    (the rule of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``). A fixed β = 0.999
    keeps a weight of β^t on the first weights for t steps (13 % after 2,000 steps, most of
    them untrained); with the warm-up the average first spans about the last tenth of the
    run, and once (1 + n)/(10 + n) ≥ β, from n = (10β − 1)/(1 − β) on (8,990 for β = 0.999),
    it is the plain β average. Integer buffers (batch norm's
    ``num_batches_tracked``) are copied, not averaged. The decay stays a tensor on the
    parameters' device (no host synchronisation)."""
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        decay = torch.clamp((1 + n) / (10 + n), max=beta)  # β_n, n ≥ 1 (AveragedModel's first update copies)
        for avg, now in zip(averaged, current):
            if avg.is_floating_point():
                avg.lerp_(now, (1 - decay).to(avg.dtype))  # θ̄ + (1 − β_n)(θ − θ̄) = β_n θ̄ + (1 − β_n) θ
            else:
                avg.copy_(now)
    return update


class Trainer:
    """Trains ``gen`` against ``disc`` on samples from ``sample_real`` with a :class:`Variant`.

    Args:
        gen: a generator with ``noise(n, generator)`` and ``forward(z)``.
        disc: a discriminator/critic returning one score per sample.
        sample_real: ``(n, generator) -> (n, ...)`` real samples on ``device``
            (e.g. ``ring8().sample`` with ``device`` bound).
        variant: a :class:`Variant` or the name of a registered one.
        hyper: starting hyperparameters (default: the variant's).
        batch_size: samples per critic step, real and fake alike.
        g_batch_size: fakes per generator step (default ``batch_size``). The generator's
            loss is a mean over its fakes, so a larger batch here gives it a less noisy
            gradient without enlarging the critic's steps (with a gradient penalty, the
            costlier part: a double backward).
        device: where everything runs; the models are moved there.
        seed: seeds the trainer's own ``torch.Generator``, the only source of
            randomness for data and noise, so runs (and resumed runs) repeat exactly.
        g_ema: keep an exponential moving average of the generator's weights with this
            decay β in (0, 1), e.g. 0.999 (default None: no average). After each
            iteration θ̄ ← β_n θ̄ + (1 − β_n) θ with β_n = min(β, (1 + n)/(10 + n)) after n
            updates (:func:`ema_warmup`; :class:`torch.optim.swa_utils.AveragedModel`,
            whose first update copies θ), so that a short run forgets its first,
            untrained steps. The average is :attr:`gen_ema`; sample from
            :attr:`eval_gen`, which is it when kept, else ``gen``. Training never reads
            it: the critic trains against ``gen``. It evens out the generator's
            oscillation around the equilibrium (Yazıcı et al. 2019, "The unusual
            effectiveness of averaging in GAN training").
    """

    def __init__(self, gen: nn.Module, disc: nn.Module, sample_real: Callable, variant: Variant | str = "gan",
                 hyper: Hyper | None = None, batch_size: int = 256, device: torch.device | str = "cpu",
                 seed: int = 0, snapshot_every: int = 50, g_batch_size: int | None = None,
                 g_ema: float | None = None):
        if not isinstance(variant, (str, Variant)):
            raise ValueError(f"variant must be a Variant or a registered name, got {variant!r}; valid names: {', '.join(VARIANTS)}")
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
        for name, size in (("batch_size", batch_size), ("g_batch_size", batch_size if g_batch_size is None else g_batch_size)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, int) or snapshot_every < 1:
            raise ValueError(f"snapshot_every must be a positive integer, got {snapshot_every!r}")
        if g_ema is not None and (isinstance(g_ema, bool) or not isinstance(g_ema, numbers.Real)
                                  or not 0.0 < g_ema < 1.0):
            raise ValueError(f"g_ema must be a decay in (0, 1), such as 0.999, or None for no average; got {g_ema!r}")
        _check_sampler(sample_real)
        _check_penalised_critic(disc, self.variant)
        self.device = torch.device(device)
        self.gen, self.disc = gen.to(self.device), disc.to(self.device)
        self.sample_real = sample_real
        self.hyper = copy.copy(hyper if hyper is not None else self.variant.defaults)
        self.batch_size, self.seed, self.snapshot_every = batch_size, seed, snapshot_every
        self.g_batch_size = batch_size if g_batch_size is None else g_batch_size
        make = OPTIMIZERS[self.variant.optimizer]
        self.opt_d = make(self.disc.parameters(), lr=self.hyper.lr_d, **self.variant.optimizer_kwargs)
        self.opt_g = make(self.gen.parameters(), lr=self.hyper.lr_g, **self.variant.optimizer_kwargs)
        self.rng = _make_rng(self.device, seed)
        self.g_ema = g_ema
        self._ema = None if g_ema is None else AveragedModel(  # a copy of gen, on its device; buffers averaged too
            self.gen, device=self.device, multi_avg_fn=ema_warmup(float(g_ema)), use_buffers=True)
        self.iteration = 0
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self._initial = self.state_dict()
        self._good = self._initial

    # -- one iteration (no host synchronisation in here) --------------------------------

    def d_step(self) -> dict[str, torch.Tensor]:
        """One discriminator/critic update on a fresh real batch and detached fakes."""
        real = self.sample_real(self.batch_size, self.rng)
        with torch.no_grad():
            fake = self.gen(self.gen.noise(self.batch_size, self.rng))  # detached: no gradient reaches G
        loss, grad_norm = _d_update(self.disc, self.opt_d, self.variant, self.hyper, real, fake, self.rng)
        return {"d_loss": loss, "d_grad_norm": grad_norm}

    def g_step(self) -> dict[str, torch.Tensor]:
        """One generator update on ``g_batch_size`` fresh z (never the critic step's)."""
        v = self.variant
        self.opt_g.zero_grad(set_to_none=True)
        score = self.disc.features if v.g_features else self.disc  # what G's loss looks at
        # G's step needs D's gradient with respect to its input, not to D's weights: switch
        # those off for this step (D's own step sets its gradients afresh anyway)
        frozen = [p for p in self.disc.parameters() if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        try:
            d_fake = score(self.gen(self.gen.noise(self.g_batch_size, self.rng)))
            d_real = None
            if v.g_needs_real:
                with torch.no_grad():  # G's gradient flows only through the fakes; skip D's real-side graph
                    d_real = score(self.sample_real(self.g_batch_size, self.rng))
            loss = v.g_loss(d_real, d_fake)
            loss.backward()
        finally:
            for p in frozen:
                p.requires_grad_(True)
        grad_norm = _grad_norm(self.gen.parameters())
        self.opt_g.step()
        return {"g_loss": loss.detach(), "g_grad_norm": grad_norm}

    def step(self) -> dict[str, torch.Tensor]:
        """``n_critic`` discriminator steps, then one generator step, with the current hyperparameters."""
        hp = self.hyper
        for group in self.opt_d.param_groups:
            group["lr"] = hp.lr_d
        for group in self.opt_g.param_groups:
            group["lr"] = hp.lr_g
        for _ in range(hp.n_critic):
            out = self.d_step()
        out.update(self.g_step())
        self.iteration += 1
        return out

    # -- the loop ---------------------------------------------------------------------

    def train(self, steps: int, callbacks: list[Callable[[Trainer], None]] = (), progress: bool | None = None
              ) -> dict[str, list]:
        """Run ``steps`` iterations; returns :attr:`history`.

        After each iteration: the divergence guard, the update of the generator's
        moving average (with ``g_ema``), the history record, a snapshot every
        ``snapshot_every`` iterations, then each callback (``callback(trainer)``). ``progress`` shows a ``tqdm.auto`` bar
        (default: on for runs of 1000 steps or more).

        Raises:
            TrainingDiverged: a loss or gradient norm became NaN/inf; the models,
                optimisers and RNG are restored to the last good snapshot first.
        """
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, disable=not (steps >= 1000 if progress is None else progress), leave=False)
        try:
            for _ in range(steps):
                t0 = time.perf_counter()
                out = self.step()
                values = torch.stack([out[k] for k in HISTORY_KEYS[1:5]]).tolist()  # the step's one sync
                self._guard(dict(zip(HISTORY_KEYS[1:5], values)))  # on NaN/inf: restore (the average too) and raise
                if self._ema is not None:  # AveragedModel reads its counter on the host: on a GPU a small sync
                    self._ema.update_parameters(self.gen)  # θ̄ ← β_n θ̄ + (1 − β_n) θ
                seconds = time.perf_counter() - t0  # the step and the average's update
                for key, value in zip(HISTORY_KEYS, [self.iteration, *values, seconds]):
                    self.history[key].append(value)
                if self.iteration % self.snapshot_every == 0 and self._params_finite():
                    self._good = self.state_dict()
                for callback in callbacks:
                    callback(self)
                bar.update(1)
        finally:
            bar.close()
        return self.history

    @property
    def gen_ema(self) -> nn.Module | None:
        """The moving average of the generator (a module like ``gen``), or None without ``g_ema``."""
        return None if self._ema is None else self._ema.module

    @property
    def eval_gen(self) -> nn.Module:
        """The generator to draw samples from: :attr:`gen_ema` when the trainer keeps one, else ``gen``."""
        return self.gen if self._ema is None else self._ema.module

    def _guard(self, values: dict[str, float]) -> None:
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            where = ", ".join(f"{k} = {v}" for k, v in bad.items())
            step, good_step = self.iteration, self._good["iteration"]
            self.load_state_dict(self._good, hyper=False)
            hp = self.hyper
            advice = f"try a smaller learning rate (now lr_d = {hp.lr_d:g}, lr_g = {hp.lr_g:g})"
            if self.variant.penalised:
                advice += f" or a larger penalty weight (now γ = {hp.gamma:g})"
            raise TrainingDiverged(f"training diverged at step {step}: {where}. Restored the last good "
                                   f"state (step {good_step}); {advice}.")

    def _params_finite(self) -> bool:
        params = list(self.gen.parameters()) + list(self.disc.parameters())
        return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())

    def reset(self) -> None:
        """Back to the initial weights, optimiser state, RNG and an empty history; the
        hyperparameters stay as they are (the panel's sliders keep showing them)."""
        self.load_state_dict(self._initial, hyper=False)
        self._good = self._initial

    # -- checkpoints ------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to continue bit-identically: weights, optimisers, RNG,
        hyperparameters, iteration and history (deep-copied)."""
        return copy.deepcopy({
            "gen": self.gen.state_dict(), "disc": self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state() if self.rng is not None else None, "hyper": asdict(self.hyper),
            "iteration": self.iteration, "history": self.history,
            "gen_ema": None if self._ema is None else self._ema.state_dict(), "g_ema": self.g_ema,
        })

    def load_state_dict(self, state: dict, hyper: bool = True) -> None:
        if state.get("g_ema") != self.g_ema:  # the average's decay is part of the run, as the weights are
            raise ValueError(f"this state was saved with g_ema = {state.get('g_ema')} (the generator average's decay; "
                             f"None: no average) and this trainer has g_ema = {self.g_ema}; build the trainer "
                             f"with the g_ema of the run that saved it")
        state = copy.deepcopy(state)
        self.gen.load_state_dict(state["gen"])
        self.disc.load_state_dict(state["disc"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self._ema is not None:
            self._ema.load_state_dict(state["gen_ema"])
        if self.rng is not None:
            self.rng.set_state(state["rng"].cpu())  # a generator's state is always a CPU byte tensor
        for name, value in (state["hyper"].items() if hyper else ()):
            setattr(self.hyper, name, value)
        self.iteration = int(state["iteration"])
        self.history = state["history"]

    def save(self, path: str | Path) -> None:
        """Write a checkpoint with ``torch.save``."""
        torch.save(self.state_dict(), Path(path))

    def load(self, path: str | Path) -> None:
        """Resume from :meth:`save`'s file (``weights_only=True``: no arbitrary objects are unpickled)."""
        self.load_state_dict(torch.load(Path(path), map_location=self.device, weights_only=True))
        self._good = self.state_dict()


# --- fitting the discriminator alone (chapters 01–02) ----------------------------------

def discriminator_step(disc: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    r"""One gradient step on :math:`\mathcal L_D = -\hat V(D, G)` (BCE, real → 1 − ε, fake → 0):
    the ``gan`` variant's update, the one the trainer makes.

    ``fake`` is detached, so no gradient reaches the generator. Returns the loss
    (a detached scalar tensor; no ``.item()`` here, so the step never syncs a GPU).
    """
    hp = replace(VARIANTS["gan"].defaults, label_smoothing=label_smoothing)
    return _d_update(disc, opt, VARIANTS["gan"], hp, real, fake, None)[0]


def fit_discriminator(disc: nn.Module, sample_real: Sampler, sample_fake: Sampler, steps: int,
                      batch_size: int = 256, lr: float = 1e-3, log_every: int = 50,
                      label_smoothing: float = 0.0, variant: Variant | str = "gan",
                      generator: torch.Generator | None = None, **hyper) -> dict[str, list]:
    r"""Train ``disc`` alone for ``steps`` steps against fixed real and fake samplers: the
    inner maximisation of the game, :math:`\max_D V(D, G)`, with G frozen. Each step is
    the variant's own discriminator/critic update (its loss, penalty, clipping and
    optimiser, with learning rate ``lr``), the one the trainer makes.

    With the GAN loss and enough capacity and steps, :math:`\sigma(\text{disc}(x)) \to D^*(x) =
    p_\text{data}(x) / (p_\text{data}(x) + p_G(x))`; with a Wasserstein variant,
    :math:`\mathbb E_r f - \mathbb E_g f` approaches W1 (chapter 05).

    Args:
        sample_real, sample_fake: ``n -> (n, ...)`` tensors on the discriminator's device.
        label_smoothing: ε, real target 1 − ε; then σ(disc) → (1 − ε)·D*.
        variant: a :class:`Variant` or a registered name (``"wgan_gp"`` fits a WGAN-GP critic).
        generator: for the penalty's random interpolates.
        hyper: other :class:`Hyper` fields over the variant's defaults (``gamma=``, ``clip=``).
    Returns:
        ``{"step": [...], "loss": [...]}``: the minibatch loss every ``log_every``
        steps and at the last one (for the GAN, −V̂: log 4 ≈ 1.386 when D cannot tell
        the samples apart; for a critic, −(E_r f − E_g f) plus the penalty).
    """
    for name, v in (("steps", steps), ("batch_size", batch_size), ("log_every", log_every)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    variant = get_variant(variant) if isinstance(variant, str) else variant
    _check_penalised_critic(disc, variant)
    rates = sorted({"lr_d", "lr_g"} & set(hyper))
    if rates:
        raise ValueError(f"fit_discriminator trains D alone, at the rate lr=; got {', '.join(rates)}= "
                         f"(write lr={hyper[rates[0]]!r} instead)")
    hp = replace(variant.defaults, label_smoothing=label_smoothing, lr_d=lr)
    for name, value in hyper.items():  # Hyper validates each and lists the valid names
        setattr(hp, name, value)
    opt = OPTIMIZERS[variant.optimizer](disc.parameters(), lr=lr, **variant.optimizer_kwargs)
    logged_steps: list[int] = []
    losses: list[torch.Tensor] = []
    for step in range(steps):
        loss, _ = _d_update(disc, opt, variant, hp, sample_real(batch_size), sample_fake(batch_size), generator)
        if step % log_every == 0 or step == steps - 1:
            logged_steps.append(step)
            losses.append(loss)
    return {"step": logged_steps, "loss": torch.stack(losses).tolist()}  # one device→host copy at the end


def generator_grad_norm(gen: nn.Module, disc: nn.Module, g_loss: Callable[[torch.Tensor], torch.Tensor],
                        n: int = 1024, generator: torch.Generator | int | None = None) -> float:
    r""":math:`\lVert \nabla_\theta \mathcal L_G \rVert_2`: the norm of the generator's
    gradient for the loss ``g_loss`` (on logits) against the current discriminator,
    over all of G's parameters. Leaves no gradients behind."""
    z = gen.noise(n, generator)
    loss = g_loss(disc(gen(z)))
    params = [p for p in gen.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params)
    return float(torch.sqrt(sum((g**2).sum() for g in grads)))
