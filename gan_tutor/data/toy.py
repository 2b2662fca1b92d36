r"""Toy distributions with known densities: 1-D Gaussian mixtures, the parallel
lines, and the 2-D mixtures used to count modes (ring of 8, 5×5 grid).

Randomness comes only from the ``generator`` argument of ``sample``: a
``torch.Generator``, an int seed (a fresh CPU generator), or ``None`` for
PyTorch's global generator (seeded by :func:`gan_tutor.runtime.setup`).
Samples are drawn on the generator's device and returned on ``device``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["normal_pdf", "GaussianMixture1D", "gaussian_1d", "ParallelLine",
           "GaussianMixture2D", "ring8", "grid25", "MIXTURES"]

Rng = torch.Generator | int | None


def _rng(generator: Rng, device) -> tuple[torch.Generator | None, torch.device]:
    """The generator to draw from and the device to draw on."""
    if isinstance(generator, bool) or not (generator is None or isinstance(generator, (int, torch.Generator))):
        raise TypeError(f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}")
    if isinstance(generator, int):
        seeded = torch.Generator(device="cpu")
        seeded.manual_seed(generator)
        generator = seeded
    draw_on = generator.device if generator is not None else torch.device(device)
    return generator, draw_on


def _check_n(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive integer, got {n!r}")


def normal_pdf(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    r""":math:`\mathcal N(x; \mu, \sigma^2) = e^{-(x-\mu)^2/2\sigma^2} / (\sigma\sqrt{2\pi})`, elementwise."""
    if not bool((torch.as_tensor(sigma) > 0).all()):
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


class GaussianMixture1D:
    r"""A mixture :math:`p(x) = \sum_k \pi_k\,\mathcal N(x; \mu_k, \sigma_k^2)` on the real line."""

    def __init__(self, means, stds, weights=None):
        self.means = torch.as_tensor(means, dtype=torch.float64).reshape(-1)
        self.stds = torch.as_tensor(stds, dtype=torch.float64).reshape(-1)
        k = len(self.means)
        if self.stds.shape != (k,):
            raise ValueError(f"means and stds must have the same length, got {k} and {len(self.stds)}")
        if (self.stds <= 0).any():
            raise ValueError("stds must be positive")
        w = torch.full((k,), 1.0 / k, dtype=torch.float64) if weights is None else \
            torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if w.shape != (k,) or (w < 0).any() or abs(float(w.sum()) - 1) > 1e-6:
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1")
        self.weights = w

    def __repr__(self) -> str:
        parts = ", ".join(f"{float(w):.2g}·N({float(m):.3g}, {float(s):.3g}²)"
                          for w, m, s in zip(self.weights, self.means, self.stds))
        return f"GaussianMixture1D({parts})"

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) elementwise, on x's device and in x's dtype."""
        x = torch.as_tensor(x)
        m, s, w = (t.to(x.device) for t in (self.means, self.stds, self.weights))
        dens = (w * normal_pdf(x.to(torch.float64)[..., None], m, s)).sum(-1)  # Σ_k π_k N(x; μ_k, σ_k²)
        return dens.to(x.dtype if x.is_floating_point() else torch.float64)

    def sample(self, n: int, generator: Rng = None, device="cpu") -> torch.Tensor:
        """n samples as an (n, 1) float32 tensor on ``device``."""
        _check_n(n)
        g, on = _rng(generator, device)
        k = torch.multinomial(self.weights.to(on), n, replacement=True, generator=g)  # component of each sample
        z = torch.randn(n, generator=g, device=on, dtype=torch.float64)
        x = self.means.to(on)[k] + self.stds.to(on)[k] * z  # μ_k + σ_k z
        return x.to(device=device, dtype=torch.float32)[:, None]  # (n, 1)


def gaussian_1d(mean: float, std: float) -> GaussianMixture1D:
    """The single Gaussian N(mean, std²) as a one-component mixture."""
    return GaussianMixture1D([mean], [std])


@dataclass(frozen=True)
class ParallelLine:
    r"""Uniform on the vertical segment :math:`\{\theta\}\times[0, 1]` (Arjovsky et al. 2017, Example 1).

    ``ParallelLine(0.0)`` is :math:`P_0`, ``ParallelLine(theta)`` is :math:`P_\theta`.
    It has no density in the plane: all its mass sits on a line.
    """

    theta: float = 0.0

    def sample(self, n: int, generator: Rng = None, device="cpu", noise: float = 0.0) -> torch.Tensor:
        """n points (θ, u), u ~ U[0, 1], as (n, 2); ``noise`` adds N(0, noise² I) (instance noise)."""
        _check_n(n)
        if noise < 0:
            raise ValueError(f"noise (a standard deviation) must be >= 0, got {noise!r}")
        g, on = _rng(generator, device)
        u = torch.rand(n, generator=g, device=on)
        x = torch.stack([torch.full_like(u, float(self.theta)), u], dim=1)  # (n, 2)
        if noise > 0:
            x = x + noise * torch.randn(x.shape, generator=g, device=on)
        return x.to(device)


class GaussianMixture2D:
    r"""Equal-weight mixture of isotropic Gaussians :math:`\frac1K\sum_k \mathcal N(\mu_k, \sigma^2 I)` in 2-D."""

    def __init__(self, centres, std: float, name: str = "mixture"):
        self.centres = torch.as_tensor(centres, dtype=torch.float32)
        if self.centres.ndim != 2 or self.centres.shape[1] != 2:
            raise ValueError(f"centres must have shape (K, 2), got {tuple(self.centres.shape)}")
        if not std > 0:
            raise ValueError(f"std must be positive, got {std!r}")
        self.std = float(std)
        self.name = name
        self._copies: dict[str, torch.Tensor] = {}  # the centres on each device sampled on

    def __repr__(self) -> str:
        return f"GaussianMixture2D({self.name}: {len(self.centres)} modes, std {self.std})"

    def _centres_on(self, device) -> torch.Tensor:
        """The centres on ``device``, copied there once: a copy at every sample would make a
        GPU wait for the host at every training step."""
        key = str(device)
        if key not in self._copies:
            self._copies[key] = self.centres.to(device)
        return self._copies[key]

    def sample(self, n: int, generator: Rng = None, device="cpu") -> torch.Tensor:
        """n samples as an (n, 2) float32 tensor on ``device``."""
        _check_n(n)
        g, on = _rng(generator, device)
        k = torch.randint(len(self.centres), (n,), generator=g, device=on)  # uniform mode
        eps = torch.randn(n, 2, generator=g, device=on)
        return (self._centres_on(on)[k] + self.std * eps).to(device)  # μ_k + σ ε


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """8 Gaussians at angles 2πk/8 on a circle (VEEGAN/PacGAN protocol: radius 1, std 0.01)."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture2D(centres, std, name="ring8")


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """25 Gaussians on a 5×5 grid centred at 0 (PacGAN protocol: spacing 2, i.e. −4…4; std 0.05)."""
    ticks = (torch.arange(5, dtype=torch.float64) - 2) * spacing
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture2D(torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1), std, name="grid25")


# The book's 2-D mixtures by name (each one's ``name`` is its key): the recipes, the
# benchmarks and the chapters look them up here.
MIXTURES = {"ring8": ring8, "grid25": grid25}
