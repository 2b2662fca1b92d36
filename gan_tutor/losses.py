r"""GAN losses on discriminator logits (and, for feature matching, on D's features),
always in ``(real, fake)`` order.

The discriminator outputs a logit :math:`l`; its probability is
:math:`D = \sigma(l)`. Every loss is written with the numerically stable
identities

.. math:: -\log \sigma(l) = \operatorname{softplus}(-l), \qquad
          -\log(1 - \sigma(l)) = \operatorname{softplus}(l),

never as ``log(sigmoid(l) + eps)``, which saturates at the very logits where the
book's arguments live.

The game (Goodfellow et al. 2014, eq. 1):
:math:`\min_G \max_D V(D,G) = \mathbb E_{x\sim p_\text{data}}[\log D(x)] + \mathbb E_{z}[\log(1 - D(G(z)))]`.
The discriminator *minimises* :math:`-V` (binary cross-entropy with label 1 for
real, 0 for fake); the generator minimises either the game's own term
(saturating) or the non-saturating replacement :math:`-\log D(G(z))`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["d_loss_bce", "g_loss_saturating", "g_loss_nonsaturating", "g_loss_feature_matching", "G_LOSSES",
           "g_loss", "d_loss_wasserstein", "g_loss_wasserstein", "wasserstein_estimate"]


def _check_logits(name: str, t: torch.Tensor, what: str = "logit") -> None:
    """One score per sample: a floating-point (N,) or (N, 1) tensor (``what`` names it)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of {what}s, got {type(t).__name__}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must hold floating-point {what}s, got dtype {t.dtype}")
    if t.ndim == 0 or t.ndim > 2 or (t.ndim == 2 and t.shape[1] != 1):
        raise ValueError(f"{name} must hold one {what} per sample, shape (N,) or (N, 1); got {tuple(t.shape)}")


def d_loss_bce(d_real: torch.Tensor, d_fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""Discriminator loss: binary cross-entropy, real → 1 − ε, fake → 0.

    .. math:: \mathcal L_D = -\mathbb E_{x}\big[(1-\varepsilon)\log D(x) + \varepsilon\log(1 - D(x))\big]
                             - \mathbb E_{z}\big[\log(1 - D(G(z)))\big]

    With ε = 0 this is :math:`-V(D, G)`; zero logits give :math:`\ln 2` per term.
    One-sided label smoothing (Salimans et al. 2016, §3.4) softens only the real
    target; the fake target stays 0 (smoothing it would put :math:`p_G` into the
    optimal discriminator's numerator, see chapter 03).

    Args:
        d_real: logits on real samples, (N,) or (N, 1).
        d_fake: logits on generated samples, (M,) or (M, 1).
        label_smoothing: ε in [0, 1).
    Returns:
        A scalar tensor.
    """
    _check_logits("d_real", d_real)
    _check_logits("d_fake", d_fake)
    eps = float(label_smoothing)
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1) (0 = no smoothing), got {label_smoothing!r}")
    real_target = torch.full_like(d_real, 1.0 - eps)  # 1 − ε
    loss_real = F.binary_cross_entropy_with_logits(d_real, real_target)  # −E[(1−ε) log D(x) + ε log(1 − D(x))]
    loss_fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))  # −E[log(1 − D(G(z)))]
    return loss_real + loss_fake


def g_loss_saturating(d_fake: torch.Tensor) -> torch.Tensor:
    r"""The game's own generator loss (minimised): :math:`\mathbb E_z[\log(1 - D(G(z)))]`.

    :math:`\log(1 - \sigma(l)) = -\operatorname{softplus}(l)`. Its gradient with
    respect to the logit is :math:`-\sigma(l) = -D(G(z))`, which vanishes when the
    discriminator confidently rejects the fakes — early in training.
    """
    _check_logits("d_fake", d_fake)
    return -F.softplus(d_fake).mean()  # E[log(1 − D(G(z)))]


def g_loss_nonsaturating(d_fake: torch.Tensor) -> torch.Tensor:
    r"""The non-saturating generator loss (Goodfellow et al. 2014, §3): :math:`-\mathbb E_z[\log D(G(z))]`.

    :math:`-\log\sigma(l) = \operatorname{softplus}(-l)`; its gradient with respect
    to the logit is :math:`-(1 - D(G(z)))`, close to −1 exactly where the
    saturating loss's gradient is close to 0.
    """
    _check_logits("d_fake", d_fake)
    return F.softplus(-d_fake).mean()  # −E[log D(G(z))]


def g_loss_feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    r"""Feature matching (Salimans et al. 2016, §3.1): the generator matches the mean of
    the discriminator's features on real data,

    .. math:: \mathcal L_G = \big\lVert \mathbb E_{x\sim p_\text{data}} f(x) - \mathbb E_{z} f(G(z)) \big\rVert_2^2,

    with the expectations estimated by batch means. f is an intermediate layer of D
    (``DCGANDiscriminator.features``); D itself is trained as usual. Unlike the other
    generator losses this takes **features**, not logits, and needs real data, so it
    is not in :data:`G_LOSSES`. Only the fakes need a gradient: compute the real
    features under ``torch.no_grad()`` (they are a target, constant for G).

    Args:
        real_features: f(x) on real samples, (N, F).
        fake_features: f(G(z)) on generated samples, (M, F).
    Returns:
        A scalar tensor.
    """
    for name, t in (("real_features", real_features), ("fake_features", fake_features)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of features, got {type(t).__name__}")
        if not t.is_floating_point() or t.ndim != 2:
            raise ValueError(f"{name} must be a floating-point (N, F) batch of feature vectors, "
                             f"got {tuple(t.shape)} {t.dtype}")
    if real_features.shape[1] != fake_features.shape[1]:
        raise ValueError(f"real and fake features must have the same length F, got {real_features.shape[1]} "
                         f"and {fake_features.shape[1]}")
    diff = real_features.mean(0) - fake_features.mean(0)  # E f(x) − E f(G(z)), (F,)
    return diff.pow(2).sum()  # ‖·‖²₂


# --- the Wasserstein losses (chapters 05–07) --------------------------------------------
#
# A critic f outputs a real score, no sigmoid. By the Kantorovich–Rubinstein duality
#   W1(P_r, P_g) = sup_{‖f‖_L ≤ 1}  E_{x~P_r} f(x) − E_{x~P_g} f(x),
# so the critic scores real samples high: it *minimises* the negative of that gap.

def _check_scores(name: str, t: torch.Tensor) -> None:
    _check_logits(name, t, what="critic score")


def wasserstein_estimate(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    r"""The critic's estimate of the Wasserstein-1 distance (Arjovsky et al. 2017, eq. 3):

    .. math:: \hat W = \mathbb E_{x\sim P_r} f(x) - \mathbb E_{x\sim P_g} f(x).

    It equals W1 only when f is the optimal 1-Lipschitz critic; a K-Lipschitz
    critic (weight clipping) estimates K·W1 at best.
    """
    _check_scores("f_real", f_real)
    _check_scores("f_fake", f_fake)
    return f_real.mean() - f_fake.mean()  # E_r f − E_g f


def d_loss_wasserstein(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    r"""Critic loss (minimised): :math:`\mathcal L_f = \mathbb E_{x\sim P_g} f(x) - \mathbb E_{x\sim P_r} f(x)`,
    the negative of :func:`wasserstein_estimate`. Its Lipschitz constraint (clipping,
    a gradient penalty) or the WGAN-div penalty comes on top, from :mod:`gan_tutor.penalties`.

    Args:
        f_real: critic scores on real samples, (N,) or (N, 1).
        f_fake: critic scores on generated samples, (M,) or (M, 1).
    """
    return -wasserstein_estimate(f_real, f_fake)  # E_g f − E_r f


def g_loss_wasserstein(f_fake: torch.Tensor) -> torch.Tensor:
    r"""Generator loss (minimised): :math:`\mathcal L_G = -\mathbb E_z f(G(z))`.

    The real term of the critic's gap does not depend on G, so G minimises
    :math:`\hat W` by raising the critic's scores of its samples. Its gradient with
    respect to each score is :math:`-1/M`: it never saturates, however good the critic.
    """
    _check_scores("f_fake", f_fake)
    return -f_fake.mean()  # −E_z f(G(z))


G_LOSSES = {"saturating": g_loss_saturating, "nonsaturating": g_loss_nonsaturating}


def g_loss(name: str):
    """The generator loss called ``name``: one of :data:`G_LOSSES`."""
    try:
        return G_LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown generator loss {name!r}; valid names: {', '.join(sorted(G_LOSSES))}") from None
