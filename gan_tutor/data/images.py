r"""Image data for the DCGAN chapter, every image scaled to :math:`[-1, 1]`
(the range of the generator's :math:`\tanh` output).

One function, :func:`load_images`, picks a data set by name and returns an
:class:`ImageData`: a ``torch.utils.data.Dataset`` of ``(image, label)`` pairs
that also holds the whole set as tensors and draws random batches with
:meth:`ImageData.sample`, the ``sample(n, generator, device)`` API of the toy
samplers in :mod:`gan_tutor.data.toy`.

* ``"digits"`` (offline): scikit-learn's bundled handwritten digits, 1,797
  grey 8×8 images with values 0…16 (the UCI optdigits test set). Each pixel is
  mapped :math:`x \mapsto 2x/16 - 1`, so 0 → −1 and 16 → 1, and the image is
  then resized with bilinear interpolation (``align_corners=False``). A
  bilinear pixel is a convex combination of input pixels, so the values stay
  in :math:`[-1, 1]`. The train / held-out split is fixed and stratified: a
  permutation of the 1,797 indices drawn with ``torch.randperm`` from a CPU
  generator seeded with :data:`SPLIT_SEED`; in each class c with
  :math:`n_c` images, the first :math:`\lfloor n_c/5\rfloor` in permutation
  order are held out (355 images in all), the other 1,442 are for training.
* ``"mnist"``, ``"fashion_mnist"`` (grey, 28×28) and ``"cifar10"`` (colour,
  32×32), for learners who are online: ``torchvision.datasets`` downloads them
  into ``root`` (default ``cache_dir("data")``). Their 8-bit pixels go through
  the torchvision chain ``ToTensor()`` (:math:`x/255`), ``Resize(size,
  antialias=True)`` (bilinear, on the float image) and ``Normalize(0.5, 0.5)``
  (:math:`(x - 0.5)/0.5`), applied to the whole set at once; ``train=False``
  gives the official test split.

A data set that cannot be had (no network, or files missing with
``download=False``) raises :class:`DatasetUnavailable`, which says where
torchvision looks for the files and how to fall back on the offline digits.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..runtime import cache_dir
from .toy import Rng, _check_n, _rng

__all__ = ["ImageData", "load_images", "DatasetUnavailable", "digits_split", "IMAGE_DATASETS", "IMAGE_SIZES",
           "SPLIT_SEED"]

IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
IMAGE_SIZES = (8, 16, 32)
SPLIT_SEED = 0  # seed of the permutation that fixes the digits' train / held-out split
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}  # name -> class
_CHUNK = 4096  # images converted at a time (bounds the float copy made while resizing)


class DatasetUnavailable(RuntimeError):
    """An image data set could not be downloaded or found on disk."""


class ImageData(Dataset):
    """A set of images in [-1, 1] with integer labels, held as tensors.

    Attributes:
        images: (N, C, H, W) float32, values in [-1, 1], H = W = ``size``.
        labels: (N,) int64 class indices into ``classes``.
        classes: the class names, ``labels`` index into them.
        name: the data set's name; ``train``: which split.
        channels, size: C and H = W, read off ``images``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes, name: str = "images",
                 train: bool = True):
        if images.ndim != 4 or images.shape[2] != images.shape[3] or not images.is_floating_point():
            raise ValueError(f"images must be a float (N, C, H, W) tensor with H = W, got "
                             f"{images.dtype} {tuple(images.shape)}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {tuple(labels.shape)}")
        self.images = images
        self.labels = labels.to(device=images.device, dtype=torch.long)
        self.classes = list(classes)
        self.name, self.train = name, train

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """The pair (image (C, size, size), label)."""
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        split = "train" if self.train else "held-out"
        return (f"ImageData({self.name}, {split}: {len(self)} images of {self.channels}×{self.size}×{self.size}, "
                f"{len(self.classes)} classes, on {self.images.device})")

    def sample(self, n: int, generator: Rng = None, device="cpu") -> torch.Tensor:
        """n images drawn uniformly with replacement, (n, C, size, size) on ``device``.

        The indices are drawn with ``generator`` (a ``torch.Generator``, an int
        seed, or None for the global generator) on the generator's device.
        """
        _check_n(n)
        g, on = _rng(generator, device)
        idx = torch.randint(len(self), (n,), generator=g, device=on)  # (n,) uniform indices
        return self.images[idx.to(self.images.device)].to(device)  # (n, C, H, W)

    def to(self, device) -> "ImageData":
        """The same set with its tensors on ``device`` (sampling then stays on it)."""
        return ImageData(self.images.to(device), self.labels.to(device), self.classes, self.name, self.train)


def load_images(name: str, size: int = 32, root: str | os.PathLike | None = None, download: bool = True,
                train: bool = True) -> ImageData:
    """The image data set ``name`` at ``size``×``size``, scaled to [-1, 1] (see the module docstring).

    Args:
        name: one of ``"digits"`` (offline), ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``.
        size: image side, one of 8, 16, 32.
        root: folder for the downloaded sets (default ``cache_dir("data")``); unused by ``"digits"``.
        download: let torchvision download a missing set; unused by ``"digits"``.
        train: the training split (True) or the held-out / test split (False).
    Returns:
        An :class:`ImageData` on the CPU.
    Raises:
        ValueError: unknown ``name`` or ``size``.
        DatasetUnavailable: the set could be neither downloaded nor found under ``root``.
    """
    if name not in IMAGE_DATASETS:
        raise ValueError(f"unknown image data set {name!r}; valid names: {', '.join(IMAGE_DATASETS)}")
    if not isinstance(size, int) or isinstance(size, bool) or size not in IMAGE_SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, IMAGE_SIZES))}, got {size!r}")
    if name == "digits":
        return _load_digits(size, train)
    root = Path(root).expanduser() if root is not None else cache_dir("data")
    return _load_torchvision(name, size, root, download, train)


# --- the offline digits --------------------------------------------------------------------

def _digits_raw():
    from sklearn.datasets import load_digits
    d = load_digits()
    return torch.as_tensor(d.images, dtype=torch.float32), torch.as_tensor(d.target, dtype=torch.long)


def digits_split(train: bool = True) -> torch.Tensor:
    """Sorted indices of the digits' training (1,442) or held-out (355) images.

    Stratified 80 / 20: in each class c, the first ⌊n_c / 5⌋ of its images in the
    order of ``torch.randperm(1797)`` seeded with :data:`SPLIT_SEED` are held out.
    """
    return _split(_digits_raw()[1], train)


def _split(labels: torch.Tensor, train: bool) -> torch.Tensor:
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    heldout = torch.zeros(len(labels), dtype=torch.bool)
    for c in range(10):
        members = perm[labels[perm] == c]  # class c, in permutation order
        heldout[members[: len(members) // 5]] = True  # ⌊n_c / 5⌋ held out
    return torch.nonzero(~heldout if train else heldout).squeeze(1)


def _load_digits(size: int, train: bool) -> ImageData:
    images, labels = _digits_raw()  # (1797, 8, 8) in 0…16, (1797,)
    keep = _split(labels, train)
    x = images[keep, None] / 16 * 2 - 1  # (N, 1, 8, 8): x ↦ 2x/16 − 1, 0 → −1, 16 → 1
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)  # (N, 1, size, size)
    return ImageData(x.contiguous(), labels[keep], [str(c) for c in range(10)], name="digits", train=train)


# --- MNIST, Fashion-MNIST, CIFAR-10 through torchvision -------------------------------------

def _unit_range(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) → float (N, C, size, size) in [-1, 1]: ToTensor, Resize, Normalize(0.5, 0.5)."""
    out = []
    for chunk in pixels.split(_CHUNK):
        x = chunk.float() / 255  # ToTensor: [0, 255] → [0, 1]
        if x.shape[-1] != size:  # Resize(size, antialias=True), bilinear
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append((x - 0.5) / 0.5)  # Normalize(0.5, 0.5): [0, 1] → [-1, 1]
    return torch.cat(out)  # (N, C, size, size)


def _expected_files(cls, root: Path) -> tuple[Path, list[str], list[str]]:
    """Where torchvision looks for ``cls``'s files under ``root``: (folder, files, archives)."""
    if hasattr(cls, "resources"):  # MNIST family: root/<ClassName>/raw/<name>-idx?-ubyte
        archives = [os.path.basename(url) for url, _ in cls.resources]
        return root / cls.__name__ / "raw", [os.path.splitext(a)[0] for a in archives], archives
    files = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]  # CIFAR: md5-checked batches
    return root / cls.base_folder, files, [cls.filename]


def _unavailable(name: str, cls, root: Path, download: bool, size: int, err: Exception) -> DatasetUnavailable:
    folder, files, archives = _expected_files(cls, root)
    archive_home = folder if hasattr(cls, "resources") else root
    cause = f"{type(err).__name__}: {str(err).strip()}"
    if download:
        what = (f"could not download {cls.__name__} (torchvision.datasets.{cls.__name__}) into {root} "
                f"(no network? downloading needs internet access).\ntorchvision said: {cause}")
    else:
        what = (f"{cls.__name__} was not found, or is incomplete or corrupted, in {folder} and download=False.\n"
                f"torchvision said: {cause}")
    return DatasetUnavailable(
        f"load_images({name!r}): {what}\n"
        f"* Work offline with the bundled digits instead: load_images('digits', size={size}).\n"
        f"* Or put the files there yourself: {folder}{os.sep} must hold {', '.join(files)}; "
        f"or put the original archives ({', '.join(archives)}) in {archive_home}{os.sep}, which download=True "
        f"checks and unpacks without the network. Then call load_images({name!r}, size={size}, root={str(root)!r}).")


_READ_ERRORS = (RuntimeError, OSError, ValueError, TypeError, AssertionError, EOFError, pickle.UnpicklingError,
                tarfile.TarError)  # what torchvision raises on a failed download or a missing / bad file


def _load_torchvision(name: str, size: int, root: Path, download: bool, train: bool) -> ImageData:
    from torchvision import datasets
    cls = getattr(datasets, _TORCHVISION[name])
    try:
        ds = cls(str(root), train=train, download=download)
    except _READ_ERRORS as err:
        raise _unavailable(name, cls, root, download, size, err) from err
    pixels = torch.as_tensor(ds.data)  # MNIST: (N, 28, 28); CIFAR: (N, 32, 32, 3), uint8
    pixels = pixels[:, None] if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)  # (N, C, H, W)
    labels = torch.as_tensor(ds.targets, dtype=torch.long)
    return ImageData(_unit_range(pixels, size), labels, ds.classes, name=name, train=train)
