r"""A small digit classifier whose feature space the image metrics use.

The Inception Score and the FID measure samples in the feature space of
Inception-v3, a network trained on ImageNet. For the book's 8×8 digits
(scikit-learn's, :func:`gan_tutor.data.load_images`) a much smaller network
does the same job and trains in seconds on one CPU thread:

.. code-block:: text

    x (N, 1, S, S) in [-1, 1]
    → conv 3×3, 16 ch, ReLU → max-pool 2 → conv 3×3, 32 ch, ReLU → max-pool 2   (N, 32, S/4, S/4)
    → flatten → linear → 64, ReLU                                   = features(x)  (N, 64)
    → linear → 10                                                   = logits       (N, 10)

It is trained once per image size on the digits' training split (cross-entropy,
Adam with lr 1e-3, batches of 64, 30 epochs, each image shifted by a random
whole number of pixels in [−m, m] in each direction, m = max(1, S/16) with −1 (background)
padding), with every random number drawn from generators seeded with
:data:`TRAIN_SEED`, so a retrain gives the same network on the same machine and
thread count. The state dict and a little metadata (format version, size, seed,
epochs, split seed, held-out accuracy) are cached in ``cache_dir("models")`` and
read back with ``torch.load(..., weights_only=True)``, which never unpickles
arbitrary objects; a file that is missing, unreadable or made with other
settings is retrained and rewritten.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.images import IMAGE_SIZES, SPLIT_SEED, load_images
from ..runtime import cache_dir

__all__ = ["DigitClassifier", "digit_classifier", "train_digit_classifier", "classifier_path", "TRAIN_SEED",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1  # bump when the architecture or the training recipe changes: old caches are retrained
TRAIN_SEED = 0
EPOCHS, BATCH, LR = 30, 64, 1e-3


def _check_size(size) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size not in IMAGE_SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, IMAGE_SIZES))}, got {size!r}")


class DigitClassifier(nn.Module):
    """A two-block CNN for (N, 1, size, size) digits in [-1, 1]: ``features`` (N, 64) and logits (N, 10)."""

    def __init__(self, size: int = 16, width: int = 16, features: int = 64, classes: int = 10):
        super().__init__()
        _check_size(size)
        self.size = size
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),              # (N, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # (N, 2w, S/4, S/4)
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, features), nn.ReLU())  # (N, F)
        self.head = nn.Linear(features, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations, (N, 64)."""
        if x.ndim != 4 or x.shape[1:] != (1, self.size, self.size):
            raise ValueError(f"expected images of shape (N, 1, {self.size}, {self.size}), got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, (N, 10); softmax gives p(y | x)."""
        return self.head(self.features(x))


def _shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Each image moved by (dy, dx) ~ U{−m…m}², the uncovered border filled with −1 (background)."""
    n, _, h, w = x.shape
    m = max_shift
    padded = F.pad(x, (m, m, m, m), value=-1.0)  # (N, 1, H + 2m, W + 2m)
    dy, dx = (torch.randint(0, 2 * m + 1, (n, 1), generator=g) for _ in range(2))  # crop offsets
    rows = (dy + torch.arange(h))[:, :, None]  # (N, H, 1)
    cols = (dx + torch.arange(w))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)  # (N, 1, H, W)


@torch.no_grad()
def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((model(images).argmax(1) == labels).float().mean())


def train_digit_classifier(size: int = 16, seed: int = TRAIN_SEED, epochs: int = EPOCHS
                           ) -> tuple[DigitClassifier, dict]:
    """Train a :class:`DigitClassifier` on the digits' training split, on the CPU (see the module docstring).

    Returns:
        The model in eval mode, and its metadata: ``format``, ``size``, ``seed``, ``epochs``,
        ``split_seed``, ``heldout_accuracy`` (on the 355 held-out digits) and ``train_seconds``.
    """
    start = time.perf_counter()
    train, heldout = load_images("digits", size, train=True), load_images("digits", size, train=False)
    with torch.random.fork_rng(devices=[]):  # the initial weights from the seed, global RNG untouched
        torch.manual_seed(seed)
        model = DigitClassifier(size)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(train), generator=g).split(BATCH):
            x = _shift(train.images[idx], max(1, size // 16), g)  # (B, 1, S, S)
            loss = F.cross_entropy(model(x), train.labels[idx])  # −E log p(y | x)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    meta = {"format": FORMAT_VERSION, "size": size, "seed": seed, "epochs": epochs, "split_seed": SPLIT_SEED,
            "heldout_accuracy": _accuracy(model, heldout.images, heldout.labels),
            "train_seconds": time.perf_counter() - start}
    return model, meta


def classifier_path(size: int = 16) -> Path:
    """The cache file of the classifier for ``size``: ``cache_dir("models")/digit_classifier_{size}px.pt``."""
    return cache_dir("models") / f"digit_classifier_{size}px.pt"


def _load(path: Path, size: int) -> tuple[DigitClassifier, dict]:
    """The cached classifier; raises if the file is unreadable or was made with other settings."""
    blob = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain types only
    meta = {k: v for k, v in blob.items() if k != "state_dict"}
    wanted = {"format": FORMAT_VERSION, "size": size, "seed": TRAIN_SEED, "epochs": EPOCHS, "split_seed": SPLIT_SEED}
    differ = {k: (meta.get(k), v) for k, v in wanted.items() if meta.get(k) != v}
    if differ:
        raise ValueError(f"made with other settings (found, wanted): {differ}")
    model = DigitClassifier(size)
    model.load_state_dict(blob["state_dict"])  # strict: every shape must match
    return model.eval(), meta


def digit_classifier(size: int = 16, device="cpu", retrain: bool = False) -> DigitClassifier:
    """The trained digit classifier for ``size``×``size`` images, in eval mode on ``device``.

    Loaded from :func:`classifier_path` when present and valid; otherwise (or with
    ``retrain=True``) trained with :func:`train_digit_classifier` (a few seconds)
    and cached. ``model.meta`` holds the metadata, e.g. ``model.meta["heldout_accuracy"]``.
    """
    _check_size(size)
    path = classifier_path(size)
    model = None
    if path.exists() and not retrain:
        try:
            model, meta = _load(path, size)
        except Exception as err:  # corrupted, truncated, foreign or outdated file: retrain and overwrite
            warnings.warn(f"retraining the digit classifier: could not use {path} ({type(err).__name__}: {err})",
                          stacklevel=2)
    if model is None:
        model, meta = train_digit_classifier(size)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save({**meta, "state_dict": model.state_dict()}, tmp)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    model.meta = meta
    return model.to(device)
