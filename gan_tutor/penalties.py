r"""Penalties on the discriminator/critic or on its parameters, added to its loss
with a weight γ (the ``penalty`` of a :class:`gan_tutor.train.Variant`).

So far: **historical averaging** (Salimans et al. 2016, §3.3), a penalty on the
distance of the parameters from their own running average,

.. math:: \Omega(\theta_t) = \Big\lVert \theta_t - \frac1t \sum_{i=1}^{t} \theta_i \Big\rVert_2^2 ,

"inspired by the fictitious play algorithm": it damps the oscillations of a
player that keeps circling an equilibrium. The paper adds it to each player's
cost; :class:`HistoricalAverage` works for either network. (Gradient penalties on
the critic's input join this module later.)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["HistoricalAverage"]


class HistoricalAverage(nn.Module):
    r"""The running average of a module's parameters, and the penalty
    :math:`\sum_{p} \lVert\theta_p - \bar\theta_p\rVert_2^2` (Salimans et al. 2016, §3.3).

    .. math:: \bar\theta_t = \frac1t\sum_{i=1}^{t}\theta_i
              = \bar\theta_{t-1} + \frac{\theta_t - \bar\theta_{t-1}}{t}

    The snapshot :math:`\theta_1` is taken at construction; each :meth:`update`
    adds the current parameters as the next one (call it after every optimiser
    step of the watched module). :math:`\bar\theta` is kept in buffers on the
    parameters' device, without gradient, so :meth:`penalty` is differentiable in the
    current θ only: :math:`\partial\Omega/\partial\theta = 2(\theta - \bar\theta)`.
    The buffers and t are in :meth:`state_dict`. The watched module is *not* a
    submodule: ``.to()`` on this object moves only the averages.

    With the one training loop, as a variant's penalty and post-step hook::

        ha = HistoricalAverage(disc)
        Variant("GAN + historical averaging", losses.d_loss_bce,
                lambda d_real, d_fake: losses.g_loss_nonsaturating(d_fake),
                penalty=lambda disc, real, fake: ha.penalty(),
                after_d_step=lambda disc, hyper: ha.update())

    Args:
        module: the network whose parameters are averaged (all of them).
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"HistoricalAverage watches an nn.Module, got {type(module).__name__}")
        self._watched = [module]  # a list, so the module is not registered as a submodule
        self._keys: list[tuple[str, str]] = []  # (parameter name, buffer name)
        for name, p in module.named_parameters():
            key = "avg__" + name.replace(".", "__")
            self.register_buffer(key, p.detach().clone())  # θ̄_1 = θ_1
            self._keys.append((name, key))
        if not self._keys:
            raise ValueError(f"{type(module).__name__} has no parameters to average")
        self.t = 1

    def _pairs(self):
        params = dict(self._watched[0].named_parameters())
        for name, key in self._keys:
            yield params[name], getattr(self, key)

    @torch.no_grad()
    def update(self) -> None:
        """Add the current parameters as snapshot t + 1: θ̄ ← θ̄ + (θ − θ̄)/(t + 1)."""
        self.t += 1
        for p, avg in self._pairs():
            avg.lerp_(p.detach(), 1.0 / self.t)  # θ̄_t = θ̄_{t−1} + (θ_t − θ̄_{t−1})/t

    def average(self) -> dict[str, torch.Tensor]:
        """θ̄ by parameter name (the buffers themselves: read, don't modify)."""
        return {name: getattr(self, key) for name, key in self._keys}

    def penalty(self) -> torch.Tensor:
        r""":math:`\sum_p \lVert\theta_p - \bar\theta_p\rVert_2^2`, a scalar on the parameters' device."""
        terms = [(p - avg).pow(2).sum() for p, avg in self._pairs()]  # ‖θ − θ̄‖²₂ per parameter tensor
        return torch.stack(terms).sum()

    def get_extra_state(self) -> dict:
        return {"t": self.t}

    def set_extra_state(self, state: dict) -> None:
        self.t = int(state["t"])

    def extra_repr(self) -> str:
        return f"{type(self._watched[0]).__name__}, {len(self._keys)} parameter tensors, t={self.t}"
