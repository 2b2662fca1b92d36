r"""Penalties on the discriminator/critic or on its parameters, added to its loss
with a weight γ (the ``penalty``, or ``grad_penalty``, of a :class:`gan_tutor.train.Variant`), and
weight clipping, the crude constraint they replace.

**On the critic's input gradient** (chapters 05–07). Each takes the critic and
(N, d) points or (N, C, H, W) images, and works **per sample**: the gradient
:math:`\nabla_x f(x_i)` of sample i is flattened to a vector and its own norm
taken (``dim=1`` after ``flatten(1)``). Taking one norm over the whole batch, or
over the wrong axis, is the bug GAN codebases keep repeating; the tests check
every penalty against a linear critic, whose gradient is w everywhere.

- :func:`clip_weights_`: every parameter clamped to [−c, c] (WGAN);
- :func:`gradient_penalty`: :math:`\mathbb E_{\hat x}[(\lVert\nabla f(\hat x)\rVert_2 - 1)^2]` at random
  interpolates (WGAN-GP; one-sided :math:`\max(0, \cdot)^2` on request);
- :func:`wgan_div_penalty`: :math:`k\,\mathbb E_{x\sim P_u}\lVert\nabla f(x)\rVert_2^p` (WGAN-div), and
  :func:`gradient_power`, its :math:`\mathbb E\lVert g\rVert_2^p` given the gradients (the trainer
  takes them, with the scores, from one pass: :func:`scores_and_gradients`);
- :func:`r1_penalty`: :math:`\mathbb E_{x\sim P_r}\lVert\nabla f(x)\rVert_2^2` (R1).

**On the critic's differences** (GAN-QP, chapter 07): :func:`qp_penalty`,
:math:`\mathbb E\,[(f(x_r) - f(x_f))^2 / \lVert x_r - x_f\rVert_2]` over pairs, needs no
input gradient at all.

The critic's optimiser must see these as functions of its weights, so the input
gradient is taken with ``create_graph=True`` and the penalty backpropagates
through it (a double backward).

**Historical averaging** (Salimans et al. 2016, §3.3), a penalty on the
distance of the parameters from their own running average,

.. math:: \Omega(\theta_t) = \Big\lVert \theta_t - \frac1t \sum_{i=1}^{t} \theta_i \Big\rVert_2^2 ,

"inspired by the fictitious play algorithm": it damps the oscillations of a
player that keeps circling an equilibrium. The paper adds it to each player's
cost; :class:`HistoricalAverage` works for either network.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["clip_weights_", "interpolates", "scores_and_gradients", "input_gradients", "gradient_norms",
           "gradient_penalty", "wgan_div_penalty", "gradient_power", "r1_penalty", "qp_penalty", "HistoricalAverage"]


# --- weight clipping ---------------------------------------------------------------------

@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    r"""Clamp every parameter of ``module`` to :math:`[-c, c]`, in place (Arjovsky et al.
    2017, Algorithm 1: :math:`w \leftarrow \operatorname{clip}(w, -c, c)` after each critic step).

    A network whose weights are bounded is K-Lipschitz for some K that depends on
    c and the architecture, so the critic estimates K·W1, not W1. Chapter 05 shows
    the price: a small c starves the critic, a large c barely constrains it.
    """
    c = float(c)
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"the clipping bound c must be a positive number, got {c!r}")
    for p in module.parameters():
        p.clamp_(-c, c)


# --- gradients of the critic at given points ---------------------------------------------

def check_pair(real: torch.Tensor, fake: torch.Tensor) -> None:
    """Refuse anything but two same-shaped floating-point batches, (N, d) or (N, C, H, W)."""
    for name, t in (("real", real), ("fake", fake)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.ndim < 2:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a floating-point batch, (N, d) points or (N, C, H, W) images; got {got}")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape (the penalties pair them sample by sample), "
                         f"got {tuple(real.shape)} and {tuple(fake.shape)}")


def interpolates(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`\hat x_i = \epsilon_i x_i + (1 - \epsilon_i)\tilde x_i`, one
    :math:`\epsilon_i \sim U[0, 1]` per pair, shaped (N, 1, …, 1) so it scales a whole
    sample (Gulrajani et al. 2017, Algorithm 1). ``generator`` (the trainer's) makes it
    repeatable. Returns a detached tensor; the penalties ask for its gradient themselves."""
    check_pair(real, fake)
    eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator, device=real.device,
                     dtype=real.dtype)  # ε ~ U[0, 1], (N, 1, …, 1)
    return (eps * real + (1 - eps) * fake).detach()  # x̂ = ε x + (1 − ε) x̃


def _scores(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """critic(x) as (N,), after checking that it gave one score per sample."""
    scores = critic(x)
    if scores.shape not in ((x.shape[0],), (x.shape[0], 1)):
        raise ValueError(f"the critic must return one score per sample, (N,) or (N, 1) with N = {x.shape[0]}; "
                         f"got {tuple(scores.shape)}")
    return scores.reshape(x.shape[0])


def scores_and_gradients(critic: nn.Module, x: torch.Tensor, create_graph: bool = True
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The critic's scores :math:`f(x_i)`, shape (N,), and :math:`\nabla_x f(x_i)` for every
    sample, shape of ``x``, from one forward pass.

    Sample i's score depends on sample i only (no batch norm in a penalised critic),
    so the gradient of :math:`\sum_i f(x_i)` with respect to x is row by row each
    :math:`\nabla f(x_i)`. ``create_graph=True`` keeps it differentiable in the
    critic's weights, as a penalty needs. The scores stay attached too, so a loss on
    them and a penalty on the gradient can share the pass (the trainer does this for
    WGAN-div, whose penalty is taken at the batch's own samples)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2:
        raise ValueError(f"x must be a floating-point batch, (N, d) points or (N, C, H, W) images; "
                         f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = _scores(critic, x)
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=create_graph, allow_unused=True)
    return scores, (torch.zeros_like(x) if grad is None else grad)  # a critic that ignores its input: ∇f = 0


def input_gradients(critic: nn.Module, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    r""":math:`\nabla_x f(x_i)` for every sample, shape of ``x`` (see :func:`scores_and_gradients`)."""
    return scores_and_gradients(critic, x, create_graph)[1]


def gradient_norms(critic: nn.Module, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    r""":math:`\lVert\nabla_x f(x_i)\rVert_2` per sample, shape (N,): each gradient flattened, then its own norm."""
    return torch.linalg.vector_norm(input_gradients(critic, x, create_graph).flatten(1), dim=1)


# --- penalties ------------------------------------------------------------------------------

def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, one_sided: bool = False) -> torch.Tensor:
    r"""The WGAN-GP penalty (Gulrajani et al. 2017, eq. 3), at random interpolates :math:`\hat x`:

    .. math:: \Omega_\text{GP} = \mathbb E_{\hat x}\big[(\lVert\nabla f(\hat x)\rVert_2 - 1)^2\big]
              \qquad\text{or, one-sided,}\qquad
              \mathbb E_{\hat x}\big[\max(0, \lVert\nabla f(\hat x)\rVert_2 - 1)^2\big].

    The optimal critic has gradient norm 1 on the lines between coupled real and fake
    points, which is where :math:`\hat x` lies. The paper weights it by λ = 10 (γ here).

    Args:
        critic: one score per sample; no batch norm (it would couple the samples'
            gradients).
        real, fake: same-shaped batches, (N, d) or (N, C, H, W).
        generator: draws ε (pass the trainer's, so runs repeat).
        one_sided: penalise only norms above 1 (the Lipschitz constraint itself).
    """
    norms = gradient_norms(critic, interpolates(real, fake, generator), create_graph=True)  # ‖∇f(x̂_i)‖₂, (N,)
    excess = (norms - 1).clamp(min=0) if one_sided else norms - 1
    return excess.pow(2).mean()  # E[(‖∇f(x̂)‖ − 1)²]


def wgan_div_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, k: float = 2.0, p: float = 6.0,
                     interpolate: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The Wasserstein-divergence penalty (Wu et al. 2018):

    .. math:: \Omega_\text{div} = k\,\mathbb E_{x\sim P_u}\big[\lVert\nabla f(x)\rVert_2^{\,p}\big],

    **added** to the critic loss :func:`gan_tutor.losses.d_loss_wasserstein`, in the
    book's convention where the critic scores real samples high. The critic then
    minimises :math:`\mathbb E_g f - \mathbb E_r f + k\,\mathbb E_u\lVert\nabla f\rVert^p`,
    i.e. computes :math:`W_{k,p} = \max_f \mathbb E_r f - \mathbb E_g f - k\,\mathbb E_u\lVert\nabla f\rVert^p`
    (the paper writes the same with f's sign flipped). Had the sign been wrong, the
    critic could lower its loss without bound by steepening; with it right, a linear
    critic on two point masses Δ apart settles at :math:`\lVert w\rVert = (\Delta/(pk))^{1/(p-1)}`
    (tested).

    :math:`P_u` may be any distribution that covers both supports: by default the
    equal mixture of the real and fake batches (the popular choice: the gradient taken
    at the samples themselves, no interpolation), or, with ``interpolate=True``, random
    interpolates between them. The paper's
    defaults: k = 2, p = 6. In the one training loop γ plays k, and with the pooled
    samples the loop computes :math:`\gamma\cdot` :func:`gradient_power` of the gradient
    from the loss's own pass of the critic (the same value as this function with k = γ).

    ``‖∇f‖^p`` is computed by :func:`gradient_power`, safely at a zero gradient.
    """
    if not (k >= 0 and math.isfinite(k)):
        raise ValueError(f"k (the penalty weight) must be >= 0, got {k!r}")
    _check_power(p)
    check_pair(real, fake)
    points = interpolates(real, fake, generator) if interpolate else torch.cat([real, fake])  # x ~ P_u
    return k * gradient_power(input_gradients(critic, points), p)  # k E‖∇f‖^p


def _check_power(p) -> None:
    if not (p > 1 and math.isfinite(p)):
        raise ValueError(f"p (the power of the gradient norm) must be > 1, got {p!r}")


def gradient_power(grad: torch.Tensor, p: float) -> torch.Tensor:
    r""":math:`\frac1N\sum_i \lVert g_i\rVert_2^{\,p}` for a batch of gradients ``grad`` (N, ...),
    each flattened: WGAN-div's penalty without its k, given the gradients.

    ``‖g‖^p`` is computed as :math:`(\sum_j g_j^2)^{p/2}`, without a square root, and its
    derivative at an exactly zero gradient is 0 (not NaN) for every p > 1.
    """
    _check_power(p)
    if not isinstance(grad, torch.Tensor) or not grad.is_floating_point() or grad.ndim < 2:
        raise ValueError(f"grad must be a floating-point batch of gradients, (N, d) or (N, C, H, W); got "
                         f"{tuple(grad.shape) if isinstance(grad, torch.Tensor) else type(grad).__name__}")
    sq = grad.flatten(1).pow(2).sum(1)  # ‖g_i‖², (N,)
    # (‖g‖²)^{p/2} has derivative 0 at a zero gradient for every p > 1, but pow's own
    # derivative there is infinite for p < 2 (∞ · 0 = NaN): evaluate it only where sq > 0.
    nonzero = sq > 0
    powered = torch.where(nonzero, torch.where(nonzero, sq, torch.ones_like(sq)).pow(p / 2), torch.zeros_like(sq))
    return powered.mean()  # E‖g‖^p


def r1_penalty(critic: nn.Module, real: torch.Tensor) -> torch.Tensor:
    r"""The R1 penalty (Mescheder et al. 2018) on real data only:

    .. math:: \Omega_{R1} = \mathbb E_{x\sim P_r}\big[\lVert\nabla f(x)\rVert_2^2\big].

    The paper's regulariser is :math:`\tfrac{\gamma}{2}\Omega_{R1}`; here γ multiplies Ω
    as for every penalty, so its γ = 10 is 5 here.
    """
    return input_gradients(critic, real).flatten(1).pow(2).sum(1).mean()  # E‖∇f(x)‖²


def qp_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""GAN-QP's quadratic potential (Su 2018), over the pairs (real_i, fake_i) of two batches:

    .. math:: \Omega_\text{QP} = \mathbb E_i\Big[\frac{(f(x_{r,i}) - f(x_{f,i}))^2}
              {\lVert x_{r,i} - x_{f,i}\rVert_2}\Big].

    Added with weight γ to the Wasserstein critic loss, the critic maximises
    :math:`\mathbb E[f(x_r) - f(x_f)] - \gamma\,\Omega_\text{QP}`: for one pair at distance d
    the best difference is :math:`f(x_r) - f(x_f) = d / (2\gamma)`, so the critic's
    differences grow with the distance but stay finite, with no Lipschitz constraint
    and no input gradient. The paper writes the weight as :math:`1/(2\lambda)` with
    λ = 10, i.e. γ = 0.05 on the plain distance used here (the variant's default). Its
    script ``gan_qp_l2.py`` measures d as the root-mean-square difference,
    :math:`\lVert\cdot\rVert_2/\sqrt{D}` for D numbers per sample, so the script's
    λ = 10 is γ = √D/20 here: about 0.07 for 2-D points, 0.8 for 16×16 images.
    Two independent batches pair at random, as in the paper. Each pair's distance is
    its own flattened norm; an identical pair (d = 0, difference 0) adds 0.
    """
    check_pair(real, fake)
    diff = _scores(critic, real) - _scores(critic, fake)  # f(x_r) − f(x_f), (N,)
    dist = torch.linalg.vector_norm((real - fake).flatten(1), dim=1)  # ‖x_r − x_f‖₂ per pair, (N,)
    return (diff.pow(2) / dist.clamp(min=torch.finfo(dist.dtype).tiny)).mean()  # E[(f_r − f_f)² / d]


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
                penalty=lambda disc, real, fake, hyper, rng: ha.penalty(),
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
