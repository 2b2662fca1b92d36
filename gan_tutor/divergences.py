r"""Divergences between distributions, and the optimal discriminator.

Everything the first chapters measure, on two kinds of input:

* **discrete distributions**: probability vectors ``p`` and ``q`` of the same
  shape, each summing to 1;
* **1-D densities on a uniform grid**: density values ``p(x_i)`` and
  ``q(x_i)`` with spacing ``dx``; integrals become Riemann sums
  :math:`\int f\,dx \approx \sum_i f(x_i)\,dx`.

Definitions (natural logarithms, so :math:`\mathrm{JS} \le \ln 2`):

.. math::

    \mathrm{KL}(p\,\|\,q) = \sum_x p(x)\log\frac{p(x)}{q(x)}, \qquad
    \mathrm{JS}(p, q) = \tfrac12\mathrm{KL}(p\,\|\,m) + \tfrac12\mathrm{KL}(q\,\|\,m),\ m = \tfrac{p+q}{2},

    \mathrm{TV}(p, q) = \tfrac12\sum_x |p(x) - q(x)|, \qquad
    W_1(p, q) = \inf_{\gamma\in\Pi(p,q)} \mathbb{E}_{(x,y)\sim\gamma}\lVert x - y\rVert .

With :math:`0 \log 0 = 0`; KL is :math:`+\infty` when p puts mass where q has none.

The game (Goodfellow et al. 2014, Prop. 1 and Thm. 1): for a fixed generator the
discriminator that maximises
:math:`V(D, G) = \mathbb{E}_{p_\text{data}}[\log D] + \mathbb{E}_{p_G}[\log(1 - D)]`
is :math:`D^* = p_\text{data} / (p_\text{data} + p_G)`, and
:math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JS}(p_\text{data}, p_G)`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .data.toy import normal_pdf

__all__ = [
    "DIVERGENCES", "kl", "js", "tv", "divergence",
    "w1_grid", "w1_samples",
    "kl_gaussians", "tv_gaussians", "w1_gaussians",
    "optimal_discriminator", "generator_objective", "value", "value_at_optimum",
    "parallel_lines",
]

LOG2 = math.log(2.0)


def _as_pair(p, q, dx: float | None):
    """Validate two distributions (or grid densities) and return float64 tensors."""
    p = torch.as_tensor(p, dtype=torch.float64)
    q = torch.as_tensor(q, dtype=torch.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")
    if p.numel() == 0:
        raise ValueError("p and q are empty")
    if dx is not None and (not math.isfinite(dx) or dx <= 0):
        raise ValueError(f"dx (the grid spacing) must be a positive number, got {dx!r}")
    for name, t in (("p", p), ("q", q)):
        if not torch.isfinite(t).all() or (t < 0).any():
            raise ValueError(f"{name} must be finite and non-negative")
        mass = float(t.sum()) * (1.0 if dx is None else dx)
        # Grid densities lose a little mass in the tails; discrete ones must sum to 1.
        tol = 1e-6 if dx is None else 1e-2
        if abs(mass - 1.0) > tol:
            what = "sum" if dx is None else "integrate (sum * dx)"
            hint = f"divide it by {name}.sum()" if dx is None else \
                "check dx, or widen the grid so that it covers the tails"
            raise ValueError(f"{name} must {what} to 1, got {mass:.6g}: {hint}")
    return p, q, (1.0 if dx is None else dx)


def _kl(p: torch.Tensor, q: torch.Tensor, w: float) -> float:
    # KL = Σ p log(p/q) · w, with 0 log 0 = 0 and p log(p/0) = +∞ for p > 0
    if ((p > 0) & (q == 0)).any():
        return math.inf
    terms = torch.special.xlogy(p, p) - torch.special.xlogy(p, q)  # p log p − p log q
    return float(terms.sum() * w)


def kl(p, q, dx: float | None = None) -> float:
    r"""Kullback–Leibler divergence :math:`\mathrm{KL}(p\,\|\,q) = \sum p \log(p/q)`.

    Args:
        p, q: probability vectors (same shape, each summing to 1), or, with
            ``dx``, 1-D densities sampled on a uniform grid of spacing ``dx``.
    Returns:
        KL in nats; ``math.inf`` when p has mass where q has none. On a grid
        that includes a density's far tails, q can underflow to 0 where p has
        not, which makes KL infinite: keep the grid where both are
        representable, or use a closed form (:func:`kl_gaussians`).
    """
    p, q, w = _as_pair(p, q, dx)
    return _kl(p, q, w)


def js(p, q, dx: float | None = None) -> float:
    r"""Jensen–Shannon divergence :math:`\tfrac12\mathrm{KL}(p\|m) + \tfrac12\mathrm{KL}(q\|m)`,
    :math:`m = (p + q)/2`. Symmetric, in :math:`[0, \ln 2]`, and :math:`\ln 2` exactly
    on disjoint supports. Arguments as in :func:`kl`.

    Each term is written :math:`p\log\frac{2p}{p+q}` rather than
    :math:`p\log\frac{p}{m}`: halving p + q can underflow to 0 where p > 0.
    """
    p, q, w = _as_pair(p, q, dx)
    s = p + q
    xlogy = torch.special.xlogy
    # ½ Σ [p log(2p/(p+q)) + q log(2q/(p+q))] · w,  with 0 log 0 = 0
    return float(0.5 * (xlogy(p, 2 * p) - xlogy(p, s) + xlogy(q, 2 * q) - xlogy(q, s)).sum() * w)


def tv(p, q, dx: float | None = None) -> float:
    r"""Total variation distance :math:`\tfrac12\sum |p - q|`, in :math:`[0, 1]`.
    Arguments as in :func:`kl`."""
    p, q, w = _as_pair(p, q, dx)
    return float(0.5 * (p - q).abs().sum() * w)


DIVERGENCES = {"kl": kl, "js": js, "tv": tv}


def divergence(name: str, p, q, dx: float | None = None) -> float:
    """The divergence called ``name`` (one of :data:`DIVERGENCES`) between p and q."""
    try:
        fn = DIVERGENCES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown divergence {name!r}; valid names: {', '.join(sorted(DIVERGENCES))}") from None
    return fn(p, q, dx)


# --- Wasserstein-1 -----------------------------------------------------------------

def w1_grid(p, q, dx: float) -> float:
    r"""1-D Wasserstein-1 distance between grid densities (a Riemann sum, error at most dx · TV):
    :math:`W_1 = \int |F_p(x) - F_q(x)|\,dx`, with F the cumulative distribution."""
    p, q, w = _as_pair(p, q, dx)
    if p.ndim != 1:
        raise ValueError(f"w1_grid takes 1-D densities, got shape {tuple(p.shape)}")
    cdf_gap = torch.cumsum(p - q, 0) * w  # F_p(x_i) − F_q(x_i)
    return float(cdf_gap.abs().sum() * w)


def _points(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty (N,) or (N, d) array of points, got shape {x.shape}")
    return x


def w1_samples(x, y) -> float:
    r"""Exact W1 between two sample sets with uniform weights (empirical measures).

    1-D: :func:`scipy.stats.wasserstein_distance` (sorted samples, exact).
    d > 1: the optimal-transport linear program, solved exactly by POT
    (:func:`ot.emd2`) with Euclidean ground cost :math:`\lVert x_i - y_j\rVert_2`.

    Args:
        x: (N,) or (N, d) points; y: (M,) or (M, d) points, same d.
    """
    x, y = _points(x, "x"), _points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    if x.shape[1] == 1:
        from scipy.stats import wasserstein_distance
        return float(wasserstein_distance(x[:, 0], y[:, 0]))
    import ot
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    cost = ot.dist(x, y, metric="euclidean")  # (N, M) ground cost ‖x_i − y_j‖₂
    return float(ot.emd2(a, b, cost, numItermax=10_000_000))


# --- Gaussian closed forms (1-D) ----------------------------------------------------

def _check_std(*stds: float) -> None:
    for s in stds:
        if not s > 0:
            raise ValueError(f"standard deviations must be positive, got {s!r}")


def kl_gaussians(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_p,\sigma_p^2)\,\|\,\mathcal N(\mu_q,\sigma_q^2))
    = \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12`."""
    _check_std(sigma_p, sigma_q)
    return math.log(sigma_q / sigma_p) + (sigma_p**2 + (mu_p - mu_q) ** 2) / (2 * sigma_q**2) - 0.5


def tv_gaussians(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> float:
    r"""TV between two 1-D Gaussians of equal std σ: :math:`2\Phi(|\mu_p-\mu_q| / 2\sigma) - 1`
    (the densities cross at the midpoint). Unequal stds have no such short form:
    use :func:`tv` on a grid."""
    _check_std(sigma_p, sigma_q)
    if not math.isclose(sigma_p, sigma_q):
        raise ValueError("tv_gaussians needs equal standard deviations; for unequal ones use tv(p, q, dx) on a grid")
    # Φ(t) = (1 + erf(t/√2))/2, so 2Φ(t) − 1 = erf(t/√2) with t = |Δμ|/(2σ)
    return math.erf(abs(mu_p - mu_q) / (2 * sigma_p) / math.sqrt(2))


def w1_gaussians(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> float:
    r"""W1 between two 1-D Gaussians.

    In 1-D the optimal coupling matches quantiles, :math:`x = \mu_p + \sigma_p z`,
    :math:`y = \mu_q + \sigma_q z`, so :math:`W_1 = \mathbb E|\Delta\mu + \Delta\sigma Z|`
    with :math:`Z\sim\mathcal N(0,1)`: the mean of a folded normal,

    .. math:: W_1 = |\Delta\sigma|\sqrt{2/\pi}\,e^{-\Delta\mu^2/2\Delta\sigma^2}
              + \Delta\mu\,\big(1 - 2\Phi(-\Delta\mu/|\Delta\sigma|)\big),

    which is :math:`|\Delta\mu|` when the stds are equal.
    """
    _check_std(sigma_p, sigma_q)
    dm, ds = mu_p - mu_q, abs(sigma_p - sigma_q)
    if ds == 0:
        return abs(dm)
    phi = 0.5 * (1 + math.erf(-dm / ds / math.sqrt(2)))  # Φ(−Δμ/|Δσ|)
    return ds * math.sqrt(2 / math.pi) * math.exp(-dm**2 / (2 * ds**2)) + dm * (1 - 2 * phi)


# --- The optimal discriminator -----------------------------------------------------

def optimal_discriminator(p_data, p_g, real_label: float = 1.0, fake_label: float = 0.0) -> torch.Tensor:
    r""":math:`D^*(x) = \dfrac{p_\text{data}(x)}{p_\text{data}(x) + p_G(x)}` (Goodfellow et al. 2014, Prop. 1).

    Pointwise, :math:`a\log y + b\log(1-y)` is maximised at :math:`y = a/(a+b)`.
    With smoothed targets α (real) and β (fake) the discriminator maximises
    :math:`p_\text{data}[\alpha\log D + (1-\alpha)\log(1-D)] + p_G[\beta\log D + (1-\beta)\log(1-D)]`,
    whose maximiser is

    .. math:: D^*_{\alpha,\beta}(x) = \frac{\alpha\,p_\text{data}(x) + \beta\,p_G(x)}{p_\text{data}(x) + p_G(x)}

    (Salimans et al. 2016, §3.4): one-sided smoothing (β = 0) only scales D*,
    two-sided smoothing (β > 0) puts p_G in the numerator.
    Where both densities vanish any value is optimal; this returns (α + β)/2 there.

    Args:
        p_data, p_g: probabilities or density values of the same shape.
        real_label, fake_label: the targets α and β, 0 ≤ β < α ≤ 1.
    Returns:
        A float64 tensor of that shape.
    """
    if not 0.0 <= fake_label < real_label <= 1.0:
        raise ValueError(f"labels must satisfy 0 <= fake_label < real_label <= 1, got {real_label!r}, {fake_label!r}")
    p = torch.as_tensor(p_data, dtype=torch.float64)
    q = torch.as_tensor(p_g, dtype=torch.float64)
    if p.shape != q.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")
    total = p + q
    safe = total.clamp_min(torch.finfo(torch.float64).tiny)
    # (α p + β q) / (p + q)
    return torch.where(total > 0, (real_label * p + fake_label * q) / safe,
                       torch.full_like(p, 0.5 * (real_label + fake_label)))


def generator_objective(name: str, p_g, d, dx: float | None = None) -> float:
    r"""What the generator minimises against a fixed discriminator table ``d`` (probabilities):

    * ``"saturating"``: :math:`\mathbb E_{p_G}[\log(1 - D)]` (the game's own term);
    * ``"nonsaturating"``: :math:`\mathbb E_{p_G}[-\log D]`.

    With :math:`D = D^*` of a fixed :math:`p_{G_0}`, the non-saturating objective's
    gradient at :math:`p_G = p_{G_0}` equals that of
    :math:`\mathrm{KL}(p_G\|p_\text{data}) - 2\,\mathrm{JS}(p_\text{data}, p_G)`
    (Arjovsky & Bottou 2017, Thm. 2.5).
    """
    valid = ("saturating", "nonsaturating")
    if name not in valid:
        raise ValueError(f"unknown generator objective {name!r}; valid names: {', '.join(valid)}")
    q = torch.as_tensor(p_g, dtype=torch.float64)
    d = torch.as_tensor(d, dtype=torch.float64)
    if d.shape != q.shape:
        raise ValueError(f"d must have the shape of p_g, {tuple(q.shape)}, got {tuple(d.shape)}")
    w = 1.0 if dx is None else dx
    if name == "saturating":
        return float(torch.special.xlogy(q, 1 - d).sum() * w)  # E_G[log(1 − D)]
    return float(-torch.special.xlogy(q, d).sum() * w)  # E_G[−log D]


def value(d, p_data, p_g, dx: float | None = None, *, logits: bool = False) -> float:
    r"""The value function for a discriminator given as a table ``d`` over the states/grid:
    :math:`V(D, G) = \sum_x p_\text{data}(x)\log D(x) + p_G(x)\log(1 - D(x))` (times dx on a grid).

    ``d`` holds probabilities D(x) in [0, 1], or with ``logits=True`` the logits
    l(x), D = σ(l); then :math:`\log D = \log\sigma(l)` and
    :math:`\log(1-D) = \log\sigma(-l)` are computed stably (a trained network's
    σ(l) rounds to exactly 0 or 1 in the tails, where the logits are still finite).
    """
    p, q, w = _as_pair(p_data, p_g, dx)
    d = torch.as_tensor(d).to(torch.float64)
    if d.shape != p.shape:
        raise ValueError(f"d must have the shape of p_data, {tuple(p.shape)}, got {tuple(d.shape)}")
    if logits:
        log_d, log_1md = F.logsigmoid(d), F.logsigmoid(-d)  # log σ(l), log(1 − σ(l)) = log σ(−l)
        return float((p * log_d + q * log_1md).sum() * w)
    if ((d < 0) | (d > 1)).any():
        raise ValueError("d holds probabilities D(x) and must lie in [0, 1] (pass logits=True for logits)")
    # E_data[log D] + E_G[log(1 − D)], with 0·log 0 = 0
    return float((torch.special.xlogy(p, d) + torch.special.xlogy(q, 1 - d)).sum() * w)


def value_at_optimum(p_data, p_g, dx: float | None = None) -> float:
    r""":math:`V(D^*, G) = \sum_x p_\text{data}\log\frac{p_\text{data}}{p_\text{data}+p_G}
    + p_G\log\frac{p_G}{p_\text{data}+p_G}`, computed from this definition (not from JS);
    it equals :math:`-\log 4 + 2\,\mathrm{JS}(p_\text{data}, p_G)`.

    The logarithms are taken of the densities, not of D*, which rounds to exactly
    0 or 1 where one density is many orders of magnitude below the other.
    """
    p, q, w = _as_pair(p_data, p_g, dx)
    s = p + q
    xlogy = torch.special.xlogy
    # p log D* + q log(1 − D*) = p log p − p log(p+q) + q log q − q log(p+q), with 0 log 0 = 0
    return float((xlogy(p, p) - xlogy(p, s) + xlogy(q, q) - xlogy(q, s)).sum() * w)


# --- The parallel lines (Arjovsky et al. 2017, Example 1) ---------------------------

def parallel_lines(theta: float, sigma: float = 0.0) -> dict[str, float]:
    r"""Divergences between :math:`P_0` (uniform on :math:`\{0\}\times[0,1]`) and
    :math:`P_\theta` (uniform on :math:`\{\theta\}\times[0,1]`).

    Without noise (``sigma = 0``), for θ ≠ 0 the supports are disjoint:
    KL = +∞, JS = ln 2, TV = 1, and only :math:`W_1 = |\theta|` depends on θ.

    With instance noise :math:`\mathcal N(0, \sigma^2 I)` added to both, the
    second coordinates have the same law and are independent of the first, so
    the density ratio depends on the first coordinate only and KL, JS, TV are
    those of :math:`\mathcal N(0,\sigma^2)` vs :math:`\mathcal N(\theta,\sigma^2)`:
    KL = θ²/2σ², TV = 2Φ(|θ|/2σ) − 1, JS by numerical integration
    (:func:`_js_equal_variance`). W1 stays |θ|
    (noise cannot shrink it below the gap between the means, |θ|).

    Returns:
        ``{"kl": ..., "js": ..., "tv": ..., "w1": ...}``
    """
    theta = float(theta)
    if not math.isfinite(theta):
        raise ValueError(f"theta must be finite, got {theta!r}")
    if sigma < 0 or not math.isfinite(sigma):
        raise ValueError(f"sigma (the instance-noise std) must be >= 0, got {sigma!r}")
    w1 = abs(theta)
    if sigma == 0:
        if theta == 0:
            return {"kl": 0.0, "js": 0.0, "tv": 0.0, "w1": 0.0}
        return {"kl": math.inf, "js": LOG2, "tv": 1.0, "w1": w1}
    return {"kl": kl_gaussians(0.0, sigma, theta, sigma), "js": _js_equal_variance(abs(theta) / sigma),
            "tv": tv_gaussians(0.0, sigma, theta, sigma), "w1": w1}


def _js_equal_variance(t: float, n: int = 8001) -> float:
    r"""JS between :math:`\mathcal N(0, 1)` and :math:`\mathcal N(t, 1)` (any σ, with t = |Δμ|/σ).

    By symmetry the two KL-to-mixture terms are equal, and with
    :math:`\log\frac{q}{p}(x) = tx - t^2/2`:
    :math:`\mathrm{JS} = \ln 2 - \mathbb E_{x\sim\mathcal N(0,1)}\big[\log(1 + e^{tx - t^2/2})\big]`,
    integrated on a fixed grid of x in [−12, 12], accurate for every t (a grid
    in the original units would need ever finer spacing as σ → 0).
    """
    x = torch.linspace(-12.0, 12.0, n, dtype=torch.float64)
    dx = 24.0 / (n - 1)
    softplus = torch.logaddexp(torch.zeros_like(x), t * x - t * t / 2)  # log(1 + q/p), exact in float64
    return max(0.0, LOG2 - float((normal_pdf(x, 0.0, 1.0) * softplus).sum() * dx))
