r"""Networks for the toy chapters: MLP generator and discriminator for 1-D and
2-D data, and the one-parameter generator of the parallel-lines example.

Each generator owns its noise prior (:meth:`noise`), so a training loop never
needs to know how z is drawn. Discriminators return one **logit** per sample,
shape (N,); the losses in :mod:`gan_tutor.losses` apply the sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.toy import Rng, _check_n, _rng

__all__ = ["mlp", "Generator", "Discriminator", "ParallelLineGenerator", "InstanceNoise"]


def mlp(in_dim: int, out_dim: int, hidden: int = 64, depth: int = 2, slope: float = 0.2) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with LeakyReLU(slope) (ReLU when
    ``slope`` is 0), then a linear output."""
    for name, v in (("in_dim", in_dim), ("out_dim", out_dim), ("hidden", hidden), ("depth", depth)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"slope (LeakyReLU's negative slope; 0 = ReLU) must lie in [0, 1), got {slope!r}")
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU() if slope == 0 else nn.LeakyReLU(slope)]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _check_input(x: torch.Tensor, dim: int, who: str) -> None:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{who} expects input of shape (N, {dim}), got {tuple(x.shape)}")


class Generator(nn.Module):
    r"""MLP generator :math:`G: z \mapsto x`, with :math:`z \sim \mathcal N(0, I_{z\_dim})`:
    ``depth`` hidden layers of width ``hidden``, LeakyReLU(``slope``) between them.

    ``slope=0`` makes them ReLUs. A ReLU network's Jacobian can vanish on whole
    regions of z (where the units it passes through are off), so it can squeeze a
    region onto a tight cluster and tear the connected Gaussian into separate modes;
    a LeakyReLU network keeps a slope everywhere. On the 2-D mixtures a ReLU generator
    leaves fewer samples on the bridges between modes (``recipes.TOY2D``'s GAN
    recipe uses one; the README's benchmark section gives the numbers)."""

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden: int = 64, depth: int = 2, slope: float = 0.2):
        super().__init__()
        self.z_dim, self.out_dim = z_dim, out_dim
        self.net = mlp(z_dim, out_dim, hidden, depth, slope)

    def noise(self, n: int, generator: Rng = None) -> torch.Tensor:
        """n draws of z ~ N(0, I), (n, z_dim), on this module's device and in its dtype."""
        _check_n(n)
        param = next(self.parameters())
        g, on = _rng(generator, param.device)
        return torch.randn(n, self.z_dim, generator=g, device=on, dtype=param.dtype).to(param.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input(z, self.z_dim, "Generator")
        return self.net(z)  # (N, out_dim)


class Discriminator(nn.Module):
    """MLP discriminator (or critic): x (N, in_dim) → one logit per sample, (N,)."""

    def __init__(self, in_dim: int = 2, hidden: int = 64, depth: int = 2):
        super().__init__()
        self.in_dim = in_dim
        self.net = mlp(in_dim, 1, hidden, depth)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, (N, hidden): what feature matching compares."""
        _check_input(x, self.in_dim, "Discriminator")
        return self.net[:-1](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_dim, "Discriminator")
        return self.net(x).squeeze(-1)  # (N,)


class ParallelLineGenerator(nn.Module):
    r""":math:`G_\theta(z) = (\theta, z)` with :math:`z \sim U[0, 1]`: it generates
    :math:`P_\theta`, uniform on the line :math:`\{\theta\}\times[0,1]`, and has one
    parameter, θ (Arjovsky et al. 2017, Example 1)."""

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta)))
        self.z_dim = 1

    def noise(self, n: int, generator: Rng = None) -> torch.Tensor:
        """n draws of z ~ U[0, 1], (n, 1), on this module's device and in its dtype."""
        _check_n(n)
        g, on = _rng(generator, self.theta.device)
        return torch.rand(n, 1, generator=g, device=on, dtype=self.theta.dtype).to(self.theta.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input(z, 1, "ParallelLineGenerator")
        return torch.cat([self.theta.expand_as(z), z], dim=1)  # (N, 2): (θ, z)


class InstanceNoise(nn.Module):
    r"""Adds :math:`\mathcal N(0, \sigma^2 I)` to its input, in training and in evaluation.

    Put in front of a discriminator, ``nn.Sequential(InstanceNoise(sigma), disc)``,
    it blurs real and fake samples alike, so distributions on disjoint
    low-dimensional supports overlap and JS becomes informative again
    (Sønderby et al. 2017; Arjovsky & Bottou 2017, §3.1). The gradient flows
    through :math:`x + \sigma\varepsilon` to the generator.
    """

    def __init__(self, sigma: float, generator: torch.Generator | None = None):
        super().__init__()
        if not sigma >= 0:
            raise ValueError(f"sigma (the noise std) must be >= 0, got {sigma!r}")
        self.sigma, self.generator = float(sigma), generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sigma == 0:
            return x
        eps = torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
        return x + self.sigma * eps  # x + σ ε
