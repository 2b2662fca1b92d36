r"""Training the discriminator against a fixed generator: the inner maximisation
of the game, :math:`\max_D V(D, G)`, used by chapters 01–02 to approach :math:`D^*`.

The same :func:`discriminator_step` is the discriminator half of the book's one
GAN training loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .losses import d_loss_bce

__all__ = ["discriminator_step", "fit_discriminator", "generator_grad_norm"]

Sampler = Callable[[int], torch.Tensor]


def discriminator_step(disc: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    r"""One gradient step on :math:`\mathcal L_D = -\hat V(D, G)` (BCE, real → 1, fake → 0).

    ``fake`` is detached, so no gradient reaches the generator. Returns the loss
    (a detached scalar tensor; no ``.item()`` here, so the step never syncs a GPU).
    """
    opt.zero_grad(set_to_none=True)
    loss = d_loss_bce(disc(real), disc(fake.detach()), label_smoothing)
    loss.backward()
    opt.step()
    return loss.detach()


def fit_discriminator(disc: nn.Module, sample_real: Sampler, sample_fake: Sampler, steps: int,
                      batch_size: int = 256, lr: float = 1e-3, log_every: int = 50) -> dict[str, list]:
    r"""Train ``disc`` for ``steps`` Adam steps against fixed real and fake samplers.

    With enough capacity and steps, :math:`\sigma(\text{disc}(x)) \to D^*(x) =
    p_\text{data}(x) / (p_\text{data}(x) + p_G(x))`.

    Args:
        sample_real, sample_fake: ``n -> (n, d)`` tensors on the discriminator's device.
    Returns:
        ``{"step": [...], "loss": [...]}``: the minibatch loss −V̂ every ``log_every``
        steps and at the last one (log 4 ≈ 1.386 when D cannot tell the samples apart).
    """
    for name, v in (("steps", steps), ("batch_size", batch_size), ("log_every", log_every)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    logged_steps: list[int] = []
    losses: list[torch.Tensor] = []
    for step in range(steps):
        loss = discriminator_step(disc, opt, sample_real(batch_size), sample_fake(batch_size))
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
