r"""Measuring generated images in a classifier's feature space.

**Fréchet distance** (Heusel et al. 2017, eq. 6, the FID with Inception-v3
replaced by :func:`gan_tutor.metrics.digit_classifier`). Fit a Gaussian to the
features of each set, :math:`\mathcal N(\mu_a, \Sigma_a)` and
:math:`\mathcal N(\mu_b, \Sigma_b)`; their Fréchet (Wasserstein-2) distance is

.. math:: d^2 = \lVert\mu_a - \mu_b\rVert^2
          + \operatorname{Tr}\big(\Sigma_a + \Sigma_b - 2(\Sigma_a\Sigma_b)^{1/2}\big).

:math:`\Sigma_a\Sigma_b` is similar to the positive semi-definite
:math:`\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}`, so its principal square root is
real; ``scipy.linalg.sqrtm`` can still return tiny imaginary parts from
rounding, and we keep the real part. Singular covariances are common here
(ReLU units that never fire on real digits, or fewer images than features);
the trace of the root is still :math:`\sum_i\sqrt{\lambda_i}` over the
non-negative eigenvalues, and ``sqrtm``'s "singular matrix" warning is silenced
(its trace agrees with :math:`\sum_i\sqrt{\lambda_i(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2})}`
to about 1e-8 relative on the digit features). For diagonal covariances the formula is
:math:`\lVert\Delta\mu\rVert^2 + \sum_i(\sigma_{a,i} - \sigma_{b,i})^2`.

*The estimate depends on the number of images.* Means and covariances
estimated from N samples carry O(1/N) errors that the squared distance turns
into a positive bias (for two samples of one distribution, about
:math:`\operatorname{Tr}\Sigma\,(1/N_a + 1/N_b)` from the means alone), so a
distance is comparable only with distances computed from as many images.
:meth:`ImageScorer.floor` scores *held-out real* images against the reference:
the value a perfect generator would get with that many images. Score generated
sets with the same count as the floor.

**Classifier score** (the Inception Score of Salimans et al. 2016, Sec. 4, with
the digit classifier): :math:`\exp\big(\mathbb E_x\,\mathrm{KL}(p(y\mid x)\,\Vert\,p(y))\big)`,
:math:`p(y) = \mathbb E_x\,p(y\mid x)`. It lies between 1 (every image gets the
same prediction) and K, the number of classes (confident predictions spread
evenly over all K classes).

**Linear probe** (Radford et al. 2016, Sec. 5.1): how linearly separable the
classes are in a feature space, measured by the held-out accuracy of a
logistic regression; used to compare a discriminator's features with pixels.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch
import torch.nn as nn

__all__ = ["frechet_distance", "classifier_score", "ImageScorer", "linear_probe"]


def _numpy(x, what: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (N, F), got shape {x.shape}")
    return x


def _moments(feats, what: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Sample mean (F,) and unbiased covariance (F, F) of (N, F) features, in float64."""
    x = _numpy(feats, what)
    if len(x) < 2:
        raise ValueError(f"{what} need at least 2 rows to estimate a covariance, got {len(x)}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _frechet(mu_a, cov_a, mu_b, cov_b) -> float:
    diff = mu_a - mu_b
    with warnings.catch_warnings():  # singular Σ (dead ReLU units, fewer images than features) is expected
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)  # (Σa Σb)^{1/2}
    if not np.isfinite(covmean).all():  # a singular product can defeat sqrtm: nudge both covariances
        eps = 1e-6 * np.eye(len(cov_a))
        covmean = scipy.linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)  # the exact root is real; drop rounding's imaginary parts
    d2 = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean)  # ‖Δμ‖² + Tr(Σa + Σb − 2(ΣaΣb)^½)
    return max(float(d2), 0.0)  # rounding can leave −1e-12 for identical sets


def frechet_distance(feats_a, feats_b) -> float:
    r"""Fréchet distance between Gaussians fitted to two feature sets (see the module docstring).

    :math:`\lVert\mu_a-\mu_b\rVert^2 + \operatorname{Tr}(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2})`,
    means and unbiased covariances estimated from the rows.

    Args:
        feats_a, feats_b: (N_a, F) and (N_b, F) features (tensors or arrays); biased by
            O(1/N), so compare only distances computed from equal counts.
    Returns:
        The squared distance d² (the quantity reported as "FID"), a float ≥ 0.
    """
    mu_a, cov_a = _moments(feats_a, "feats_a")
    mu_b, cov_b = _moments(feats_b, "feats_b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feats_a and feats_b must have the same width F, got {len(mu_a)} and {len(mu_b)}")
    return _frechet(mu_a, cov_a, mu_b, cov_b)


def classifier_score(probs) -> float:
    r"""The Inception-Score idea: :math:`\exp\big(\mathbb E_x\,\mathrm{KL}(p(y\mid x)\Vert p(y))\big)`.

    Args:
        probs: (N, K) class probabilities p(y | x), rows summing to 1 (e.g. a softmax).
    Returns:
        A float in [1, K]: K for confident predictions spread evenly over the K classes,
        1 when every row is the same distribution.
    """
    p = torch.as_tensor(probs).detach().to(device="cpu", dtype=torch.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs must be a non-empty (N, K) array, got shape {tuple(p.shape)}")
    if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise ValueError("probs must be probabilities: non-negative rows summing to 1 (apply softmax to logits)")
    p_y = p.mean(0, keepdim=True)  # (1, K): p(y) = E_x p(y|x)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(1)  # (N,): Σ_y p(y|x) log(p(y|x)/p(y))
    return float(torch.exp(kl.mean()))  # exp(E_x KL)


class ImageScorer:
    """Fréchet distance and classifier score of image sets, against fixed reference images.

    Args:
        classifier: a module with ``features(x)`` (N, F) and ``forward(x)`` logits (N, K),
            e.g. :func:`gan_tutor.metrics.digit_classifier`; put in eval mode.
        reference_images: real images (N, C, H, W), e.g. the digits' training split;
            their feature mean and covariance are computed once.
        batch_size: images per forward pass.
    """

    def __init__(self, classifier: nn.Module, reference_images: torch.Tensor, batch_size: int = 512):
        self.classifier = classifier.eval()
        self.batch_size = batch_size
        self.n_reference = len(reference_images)
        self.mu, self.cov = _moments(self.features(reference_images), "reference features")

    @property
    def device(self) -> torch.device:
        return next(self.classifier.parameters()).device

    @torch.no_grad()
    def _apply(self, fn, images: torch.Tensor) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError(f"images must be an (N, C, H, W) tensor, got "
                             f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
        return torch.cat([fn(x.to(self.device)).cpu() for x in images.detach().split(self.batch_size)])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier's features of ``images``, (N, F) on the CPU."""
        return self._apply(self.classifier.features, images)

    def probs(self, images: torch.Tensor) -> torch.Tensor:
        """p(y | x) = softmax(logits), (N, K) on the CPU."""
        return self._apply(lambda x: self.classifier(x).softmax(1), images)

    def fd(self, images: torch.Tensor) -> float:
        """Fréchet distance of ``images`` to the reference (compare only at equal image counts)."""
        mu, cov = _moments(self.features(images), "image features")
        return _frechet(mu, cov, self.mu, self.cov)

    def score(self, images: torch.Tensor) -> float:
        """Classifier score exp(E_x KL(p(y|x) ‖ p(y))) of ``images``."""
        return classifier_score(self.probs(images))

    def floor(self, heldout_images: torch.Tensor) -> float:
        """The real-vs-real floor: the FD of held-out real images (not in the reference) to the reference.

        A generator is as good as this metric can tell when its FD, from as many images
        as ``heldout_images`` has, reaches this value.
        """
        return self.fd(heldout_images)


def linear_probe(train_features, train_labels, test_features, test_labels, max_iter: int = 2000) -> float:
    """Held-out accuracy of a logistic regression on fixed features.

    The features are standardised (mean 0, variance 1 per column, fitted on the training rows)
    and a multinomial logistic regression (scikit-learn, L2 penalty C = 1) is fitted.

    Args:
        train_features, test_features: (N, ...) features or raw images, flattened to (N, F).
        train_labels, test_labels: (N,) integer classes.
    Returns:
        The fraction of ``test_features`` classified correctly.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def flat(x):
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        return x.reshape(len(x), -1).astype(np.float64)

    def ints(y):
        return (y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)).reshape(-1)

    x_train, x_test, y_train, y_test = flat(train_features), flat(test_features), ints(train_labels), ints(test_labels)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test) or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"features and labels disagree: train {x_train.shape} / {y_train.shape}, "
                         f"test {x_test.shape} / {y_test.shape}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(x_train, y_train)
    return float((probe.predict(x_test) == y_test).mean())
