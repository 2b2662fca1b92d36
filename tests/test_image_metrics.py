"""Tests for gan_tutor.metrics.images and .classifier: the Fréchet distance against closed
forms, the classifier score's extremes, the cached digit classifier, and the metrics on real
digits against noise.

The classifier is trained into a temporary cache (GAN_TUTOR_CACHE): once at size 16 for the
whole module (a few seconds), and twice at size 8 in the cache test (about a second each).
"""

import copy
import math
import pickle

import numpy as np
import pytest
import scipy.linalg
import torch

from gan_tutor.data import load_images
from gan_tutor.metrics import (DigitClassifier, ImageScorer, classifier_path, classifier_score, digit_classifier,
                               frechet_distance, linear_probe)
from gan_tutor.metrics import classifier as classifier_module

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# --- Fréchet distance -------------------------------------------------------------------------

def _with_moments(mean, cov, n=400, seed=0):
    """n rows whose sample mean is exactly ``mean`` and unbiased sample covariance exactly ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance I
    return mean + z @ np.linalg.cholesky(cov).T  # sample covariance L I Lᵀ = cov


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


@pytest.mark.parametrize("mu_a, mu_b, s_a, s_b", [
    ([0.0, 0.0], [1.0, 2.0], [1.0, 2.0], [2.0, 1.0]),   # 1 + 4 + (1−2)² + (2−1)² = 7
    ([0.0, 0.0, 0.0], [3.0, 0.0, -4.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),  # equal Σ: ‖Δμ‖² = 25
    ([1.0, 1.0], [1.0, 1.0], [0.5, 3.0], [2.0, 1.0]),   # equal μ: 1.5² + 2² = 6.25
    ([0.0] * 4, [0.5] * 4, [1.0, 0.1, 2.0, 0.0], [1.0, 0.3, 1.0, 0.0]),  # a dead coordinate (σ = 0 in both)
])
def test_fd_diagonal_gaussians_match_the_closed_form(mu_a, mu_b, s_a, s_b):
    mu_a, mu_b, s_a, s_b = map(np.asarray, (mu_a, mu_b, s_a, s_b))
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((s_a - s_b) ** 2)  # ‖Δμ‖² + Σ_i (σ_a,i − σ_b,i)²
    # a zero σ: build the live coordinates, then append the constant ones
    live = (s_a > 0) | (s_b > 0)
    xa = np.tile(mu_a, (400, 1))
    xb = np.tile(mu_b, (300, 1))
    xa[:, live] = _with_moments(mu_a[live], np.diag(s_a[live] ** 2), 400, seed=1)
    xb[:, live] = _with_moments(mu_b[live], np.diag(s_b[live] ** 2), 300, seed=2)
    # the moments are exact up to float64 rounding (≈ 1e-15 relative); sqrtm adds ≈ 1e-13 relative
    # on these well-conditioned 2–4-dim matrices; values are ≤ 25, so 1e-9 leaves a wide margin
    torch.testing.assert_close(frechet_distance(xa, xb), float(expected), rtol=0, atol=1e-9)


def test_fd_commuting_full_covariances_match_the_closed_form():
    # Σa = R diag(a) Rᵀ, Σb = R diag(b) Rᵀ commute, so (ΣaΣb)^½ = R diag(√(ab)) Rᵀ and
    # Tr(Σa + Σb − 2(ΣaΣb)^½) = Σ_i (√a_i − √b_i)²
    r = _rotation(5, seed=3)
    a, b = np.array([1.0, 4.0, 0.25, 9.0, 2.0]), np.array([4.0, 1.0, 1.0, 9.0, 0.5])
    mu_a, mu_b = np.zeros(5), np.array([1.0, -1.0, 0.0, 2.0, 0.5])
    xa = _with_moments(mu_a, r @ np.diag(a) @ r.T, 500, seed=4)
    xb = _with_moments(mu_b, r @ np.diag(b) @ r.T, 700, seed=5)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # 6.25 + 1 + 1 + .25 + 0 + .5
    torch.testing.assert_close(frechet_distance(xa, xb), float(expected), rtol=0, atol=1e-9)  # as above


def test_fd_general_covariances_match_the_symmetric_form():
    # reference: Tr((ΣaΣb)^½) = Tr((Σa^½ Σb Σa^½)^½) = Σ_i √λ_i(Σa^½ Σb Σa^½), a symmetric eigenproblem
    rng = np.random.default_rng(6)
    xa, xb = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6)), rng.standard_normal((200, 6)) * 2 + 1
    ca, cb = np.cov(xa, rowvar=False), np.cov(xb, rowvar=False)
    ra = scipy.linalg.sqrtm(ca).real
    tr_root = np.sqrt(np.linalg.eigvalsh(ra @ cb @ ra)).sum()
    expected = np.sum((xa.mean(0) - xb.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * tr_root
    # two routes to the same trace, each accurate to ≈ 1e-12 relative on a matrix with trace ≈ 30
    torch.testing.assert_close(frechet_distance(xa, xb), float(expected), rtol=1e-9, atol=1e-9)


def test_fd_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    # Tr(2Σ − 2(Σ²)^½) with sqrtm accurate to ≈ 1e-13 relative and Tr Σ ≈ 8: ≈ 1e-12
    torch.testing.assert_close(frechet_distance(x, x), 0.0, rtol=0, atol=1e-9)
    # fewer rows than features: Σ singular (rank 9 of 20); sqrtm of a singular matrix is accurate to
    # ≈ 1e-8 relative (measured ≈ 1e-8 on the digit features), so with Tr Σ ≈ 20 allow 1e-5
    y = torch.randn(10, 20, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(frechet_distance(y, y), 0.0, rtol=0, atol=1e-5)


def test_fd_of_iid_gaussian_samples_is_within_standard_errors_of_the_closed_form():
    # N(μa, diag σa²) vs N(μb, diag σb²), μa = 0, μb = (1, 2), σa = (1, 2), σb = (2, 1): d² = 5 + 2 = 7.
    # With N = 100,000 per side, to first order d̂² − d² = 2Δμ·δμ + 2Σ_i(σa,i − σb,i)(δσa,i − δσb,i):
    # Var = 4Σ_i Δμ_i²(σa,i² + σb,i²)/N + 4Σ_i (σa,i − σb,i)²(σa,i² + σb,i²)/(2N)
    #     = 4(1·5 + 4·5)/1e5 + 4(5 + 5)/2e5 = 1.0e-3 + 2.0e-4, SD ≈ 0.035 (0.035 over 200 seeds);
    # the bias, Σ(σa² + σb²)/N = 1e-4, is negligible. Allow 4 SD = 0.14.
    rng = np.random.default_rng(7)
    n = 100_000
    xa = rng.standard_normal((n, 2)) * np.array([1.0, 2.0])
    xb = np.array([1.0, 2.0]) + rng.standard_normal((n, 2)) * np.array([2.0, 1.0])
    torch.testing.assert_close(frechet_distance(xa, xb), 7.0, rtol=0, atol=0.14)


def test_fd_is_biased_upwards_by_finite_samples():
    # Two samples of N(0, I_d), N each: the estimate is not 0. To second order,
    # E d̂² = E‖δμa − δμb‖² + ¼E‖δΣa − δΣb‖_F² = 2d/N + (2/N)(d + d(d−1)/2)/2 = (2d + d(d+1)/2)/N,
    # = 18/N for d = 4 (0.0185 measured over 400 seeds at N = 1000). One estimate has
    # Var = (2/N)²·2d + (1/N)²·2(d + d(d−1)/2) = 52/N², SD 0.0072; the mean of 20 has SD 0.0016;
    # allow 4 of those, 0.0065.
    rng = np.random.default_rng(8)
    d, n = 4, 1000
    mean = np.mean([frechet_distance(rng.standard_normal((n, d)), rng.standard_normal((n, d))) for _ in range(20)])
    torch.testing.assert_close(float(mean), 18 / n, rtol=0, atol=0.0065)


def test_fd_rejects_bad_inputs():
    with pytest.raises(ValueError, match="same width"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"2-D array \(N, F\)"):
        frechet_distance(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="at least 2 rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


# --- classifier score -------------------------------------------------------------------------

def test_classifier_score_extremes():
    k = 10
    confident = torch.eye(k).repeat(7, 1)  # (70, 10): one-hot, every class 7 times
    # p(y) uniform, KL(onehot ‖ uniform) = log K for every x, so exp(E KL) = K
    torch.testing.assert_close(classifier_score(confident), float(k), rtol=1e-12, atol=0)
    # p(y|x) = p(y) for every x: KL = 0, score = e⁰ = 1
    torch.testing.assert_close(classifier_score(torch.full((50, k), 1.0 / k)), 1.0, rtol=1e-12, atol=0)
    torch.testing.assert_close(classifier_score(torch.eye(k)[[3] * 20]), 1.0, rtol=1e-12, atol=0)  # mode collapse
    # confident, but only 2 of the 10 classes: exp(log 2) = 2
    torch.testing.assert_close(classifier_score(torch.eye(k)[[0, 1] * 10]), 2.0, rtol=1e-12, atol=0)


@pytest.mark.parametrize("q", [0.5, 0.7, 0.9, 0.99])
def test_classifier_score_of_two_mirrored_predictions(q):
    # half the rows (q, 1−q), half (1−q, q): p(y) = (½, ½), KL = log 2 − H(q) for every row,
    # score = 2·exp(−H(q)), H(q) = −q log q − (1−q) log(1−q); q = ½ gives 1
    probs = torch.tensor([[q, 1 - q], [1 - q, q]], dtype=torch.float64).repeat(5, 1)
    h = -(q * math.log(q) + (1 - q) * math.log(1 - q))
    torch.testing.assert_close(classifier_score(probs), 2 * math.exp(-h), rtol=1e-12, atol=0)


def test_classifier_score_rejects_non_probabilities():
    with pytest.raises(ValueError, match="softmax"):
        classifier_score(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        classifier_score(torch.ones(3))


# --- the cached classifier ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("cache")
        mp.setenv("GAN_TUTOR_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def clf16(cache):
    return digit_classifier(16)


@pytest.fixture(scope="module")
def digits16():
    return load_images("digits", 16, train=True), load_images("digits", 16, train=False)


@pytest.fixture
def trainings(monkeypatch, tmp_path):
    """A fresh cache, and a counter of calls to the (real) trainer."""
    monkeypatch.setenv("GAN_TUTOR_CACHE", str(tmp_path))
    calls = []
    real = classifier_module.train_digit_classifier

    def counted(size, *args, **kwargs):
        calls.append(size)
        return real(size, *args, **kwargs)

    monkeypatch.setattr(classifier_module, "train_digit_classifier", counted)
    return calls


def _equal_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


_UNPICKLED = []


def _record_unpickling():
    _UNPICKLED.append(True)
    return {}


class _Booby:
    def __reduce__(self):
        return (_record_unpickling, ())


def test_classifier_cache_round_trip_and_retraining(trainings, tmp_path):
    first = digit_classifier(8)
    path = classifier_path(8)
    assert trainings == [8] and path.parent == tmp_path / "models" and path.exists()
    assert first.meta["size"] == 8 and first.meta["heldout_accuracy"] > 0.9

    again = digit_classifier(8)  # valid file: loaded, not trained
    assert trainings == [8] and _equal_weights(first, again)
    assert again.meta["heldout_accuracy"] == first.meta["heldout_accuracy"] and not again.training

    path.write_bytes(b"\x00 this is not a checkpoint")  # corrupted
    with pytest.warns(UserWarning, match="retraining"):
        retrained = digit_classifier(8)
    assert trainings == [8, 8]
    assert _equal_weights(first, retrained)  # training is seeded: the same network again
    assert _equal_weights(first, digit_classifier(8)) and trainings == [8, 8]  # and it was cached


def test_classifier_cache_rejects_foreign_and_outdated_files(trainings, monkeypatch):
    # a cheap stand-in for training: what matters is whether the loader calls it
    monkeypatch.setattr(classifier_module, "train_digit_classifier",
                        lambda size: (trainings.append(size) or DigitClassifier(size).eval(),
                                      {"format": classifier_module.FORMAT_VERSION, "size": size, "seed": 0,
                                       "epochs": classifier_module.EPOCHS, "split_seed": 0,
                                       "heldout_accuracy": 0.1}))
    digit_classifier(8)
    assert trainings == [8]
    path = classifier_path(8)
    blob = torch.load(path, weights_only=True)
    torch.save({**blob, "format": blob["format"] + 1}, path)  # an older / newer format
    with pytest.warns(UserWarning, match="other settings"):
        digit_classifier(8)
    assert trainings == [8, 8]
    # an arbitrary pickle is never executed: weights_only refuses it
    path.write_bytes(pickle.dumps({"state_dict": _Booby()}, protocol=2))
    with pytest.warns(UserWarning, match="retraining"):
        digit_classifier(8)
    assert trainings == [8, 8, 8] and not _UNPICKLED
    digit_classifier(8, retrain=True)  # asked for
    assert trainings == [8, 8, 8, 8]
    with pytest.raises(ValueError, match="8, 16, 32"):
        digit_classifier(28)


def test_classifier_is_accurate_on_held_out_digits(clf16, digits16):
    _, heldout = digits16
    with torch.no_grad():
        logits, feats = clf16(heldout.images), clf16.features(heldout.images)
    assert logits.shape == (355, 10) and feats.shape == (355, 64)
    accuracy = float((logits.argmax(1) == heldout.labels).float().mean())
    assert accuracy == pytest.approx(clf16.meta["heldout_accuracy"], abs=1e-6) and accuracy > 0.95
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 16\)"):
        clf16(torch.zeros(2, 1, 8, 8))


# --- the metrics on real digits and on noise -------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
def test_real_digits_score_near_the_floor_and_noise_far_from_it(clf16, digits16, device):
    train, heldout = digits16
    scorer = ImageScorer(copy.deepcopy(clf16).to(device), train.images)
    n = len(heldout)  # 355: every set is scored with this many images (the FD is biased by 1/N)
    floor = scorer.floor(heldout.images)
    # The floor is mostly finite-sample bias: Tr Σ (1/355 + 1/1442) ≈ 558 · 0.0035 ≈ 2 from the means
    # alone, and 3.5 measured; 355 distinct training images drawn with seeds 0–4 scored 1.7–6.3.
    subset = train.images[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]]
    assert floor / 3 < scorer.fd(subset) < 3 * floor
    noise = torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1  # U[−1, 1] pixels
    assert scorer.fd(noise) > 50 * floor  # measured ≈ 620 vs 3.5
    # held-out digits are confidently and evenly classified (≈ 9.3 of at most 10); noise is
    # classified alike whatever the image (≈ 1.6)
    real_score, noise_score = scorer.score(heldout.images), scorer.score(noise)
    assert 8.5 < real_score <= 10 and 1 <= noise_score < 3


def test_linear_probe_pixels_versus_random_features():
    train, heldout = load_images("digits", 8), load_images("digits", 8, train=False)
    assert linear_probe(train.images, train.labels, heldout.images, heldout.labels) > 0.9  # measured 0.966
    # features independent of the labels: any rule then has expected accuracy Σ_c P(ŷ = c)P(y = c),
    # ≈ 1/10 with held-out classes of 34–36 of 355; SE = √(0.1·0.9/355) = 0.016, so allow 4 SE
    g = torch.Generator().manual_seed(0)
    chance = linear_probe(torch.randn(len(train), 64, generator=g), train.labels,
                          torch.randn(len(heldout), 64, generator=g), heldout.labels)
    torch.testing.assert_close(chance, 0.1, rtol=0, atol=4 * math.sqrt(0.1 * 0.9 / 355))
    with pytest.raises(ValueError, match="disagree"):
        linear_probe(train.images, train.labels[:5], heldout.images, heldout.labels)
