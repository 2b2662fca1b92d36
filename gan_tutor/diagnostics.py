r"""What to watch while a Wasserstein critic trains (chapters 05–07).

**The critic's gradient through its layers.** For the critic loss
:math:`\mathcal L = \mathbb E_{x\sim P_g} f(x) - \mathbb E_{x\sim P_r} f(x)` and a
network :math:`f = h_L \circ \dots \circ h_1` with weights :math:`W_1, \dots, W_L`,
the chain rule gives, for a pre-activation :math:`a_l = W_l\,x_{l-1}`,

.. math:: \frac{\partial\mathcal L}{\partial W_l} = \mathbb E\Big[\delta_l\, x_{l-1}^{\top}\Big],
          \qquad \delta_l = \frac{\partial\mathcal L}{\partial a_l}
          = D_l\, W_{l+1}^{\top} \cdots D_{L-1} W_L^{\top}\,(\pm 1),

a product of the *later* layers' weights and activation slopes :math:`D_k`. With
every weight clipped to :math:`[-c, c]` each factor is scaled by about c, so
:math:`\lVert\partial\mathcal L/\partial W_l\rVert` changes geometrically with the
depth: it **vanishes** towards the input for a small c and **explodes** for a large
one. :func:`critic_layer_grad_norms` measures :math:`\lVert\partial\mathcal L/\partial W_l\rVert_F`
for l = 1 … L, the experiment of Gulrajani et al. (2017), Figure 1(b); with the
gradient penalty the norms stay of one order.

**The critic's estimate against the truth.** By the Kantorovich–Rubinstein duality
(Arjovsky et al. 2017, eq. 2)

.. math:: W_1(P_r, P_g) = \sup_{\lVert f\rVert_L \le 1}\ \mathbb E_{x\sim P_r} f(x) - \mathbb E_{x\sim P_g} f(x)
          \;\ge\; \hat W = \mathbb E_{P_r} f - \mathbb E_{P_g} f \quad\text{for any 1-Lipschitz } f.

The critic's gap :math:`\hat W` is the loss curve a WGAN shows; it is W1 only for
the optimal 1-Lipschitz critic (a K-Lipschitz one, as clipping gives, can reach
K·W1). :class:`W1Tracker` records it next to the **exact** W1 of the same two
fixed sample sets, the optimal-transport linear program

.. math:: W_1(\hat P_r, \hat P_g) = \min_{\gamma \in \Pi} \sum_{i,j} \gamma_{ij}\,\lVert x_i - y_j\rVert_2 ,

solved by :func:`gan_tutor.divergences.w1_samples`, so a chapter can show how far the
critic's number is from the distance it claims to estimate.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from .divergences import w1_samples
from .losses import d_loss_wasserstein, wasserstein_estimate
from .recipes import generate, sample_from
from .train import _check_sampler

__all__ = ["WEIGHTED_LAYERS", "critic_layer_grad_norms", "W1Tracker"]

# The layers whose weight matrix (or kernel) W_l is one factor of the chain rule above.
WEIGHTED_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def critic_layer_grad_norms(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> list[float]:
    r""":math:`\lVert\partial\mathcal L/\partial W_l\rVert_F` for every weighted layer, input → output,
    with :math:`\mathcal L = \mathbb E_g f - \mathbb E_r f` (:func:`gan_tutor.losses.d_loss_wasserstein`).

    Gulrajani et al. (2017), Figure 1(b): under weight clipping these norms vanish or
    explode geometrically through the layers. The layers are the ``nn.Linear``,
    ``nn.Conv2d`` and ``nn.ConvTranspose2d`` modules in registration order (the
    order of ``critic.modules()``: input → output for the book's networks); only
    their weights count, not biases. The critic runs in its current train/eval mode;
    the gradient is taken with ``torch.autograd.grad``, so no ``.grad`` is left on
    the parameters.

    Args:
        critic: one score per sample.
        real, fake: batches of the critic's input shape, (N, d) or (N, C, H, W).
    Returns:
        One Frobenius norm per layer, as Python floats.
    """
    weights = [m.weight for m in critic.modules() if isinstance(m, WEIGHTED_LAYERS)]
    if not weights:
        raise ValueError(f"{type(critic).__name__} has no nn.Linear, nn.Conv2d or nn.ConvTranspose2d layer")
    with torch.enable_grad():
        loss = d_loss_wasserstein(critic(real), critic(fake.detach()))  # L = E_g f − E_r f
        grads = torch.autograd.grad(loss, weights)  # ∂L/∂W_l, l = 1 … L
    return torch.stack([torch.linalg.vector_norm(g) for g in grads]).tolist()  # ‖∂L/∂W_l‖_F, one sync


class W1Tracker:
    r"""Callback: every ``every`` iterations, the exact W1 between fixed real and generated
    samples and the critic's estimate :math:`\hat W = \mathbb E_r f - \mathbb E_g f` of it.

    The n real samples are drawn once, at construction, with ``sample_real(n, generator)``
    (the trainer's sampler signature) and a ``torch.Generator`` seeded with ``seed``;
    the n generated ones come from a fixed z (:func:`gan_tutor.recipes.generate` with
    the same ``seed``, generator in eval mode): from ``trainer.gen``, the generator the
    critic trains against, not from a moving average the trainer may keep (``g_ema``),
    so that the estimate and the exact W1 are of the same fakes. Points (N, d) and images (N, C, H, W)
    alike: the exact W1 is taken between the flattened samples, Euclidean cost.
    The critic is scored in eval mode without gradients; both networks' modes are restored.
    (A critic with instance noise draws it from the trainer's generator, so recording
    would shift that run's random stream; the book's WGAN critics have none.)

    Attributes (lists, one entry per record): ``steps``, ``exact`` (W1 by optimal
    transport), ``estimate`` (:math:`\hat W`), ``seconds`` (the record's cost).
    ``real`` holds the fixed real samples.
    """

    def __init__(self, sample_real, n: int = 512, every: int = 250, seed: int = 12345):
        for name, v in (("n", n), ("every", every)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        _check_sampler(sample_real, who="W1Tracker")  # (n, generator), as the trainer's
        rng = torch.Generator(device="cpu")
        rng.manual_seed(seed)
        self.real = sample_real(n, rng).detach()  # (n, ...), drawn once
        if self.real.shape[0] != n:
            raise ValueError(f"sample_real({n}, generator) returned {self.real.shape[0]} samples, expected {n}")
        self.n, self.every, self.seed = n, every, seed
        self.steps: list[int] = []
        self.exact: list[float] = []
        self.estimate: list[float] = []
        self.seconds: list[float] = []

    def __call__(self, trainer) -> None:
        if trainer.iteration % self.every == 0:
            self.record(trainer)

    def record(self, trainer) -> tuple[float, float]:
        """Record now (at ``trainer.iteration``); returns (exact W1, the critic's estimate)."""
        t0 = time.perf_counter()
        fake = generate(trainer.gen, self.n, self.seed)  # G(z), fixed z, eval mode, no grad
        real = self.real.to(fake.device)
        critic = trainer.disc  # scored in eval mode, without gradients, its mode restored
        estimate = float(wasserstein_estimate(sample_from(critic, real), sample_from(critic, fake)))  # E_r f − E_g f
        exact = w1_samples(fake.flatten(1), real.flatten(1))  # min_γ Σ γ_ij ‖x_i − y_j‖₂
        self.steps.append(trainer.iteration)
        self.exact.append(exact)
        self.estimate.append(estimate)
        self.seconds.append(time.perf_counter() - t0)
        return exact, estimate
