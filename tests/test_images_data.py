"""Tests for gan_tutor.data.images: the offline digits (range, split, sampling) and the
torchvision sets, checked offline by writing tiny MNIST / Fashion-MNIST / CIFAR-10 files in
torchvision's on-disk formats, and a network failure simulated by patching urlopen.
"""

import pickle
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torchvision import datasets, transforms

from gan_tutor.data import (IMAGE_DATASETS, IMAGE_SIZES, DatasetUnavailable, ImageData, digits_split,
                            load_images)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# sklearn's digits: 1,797 images, per class n_c = 178 182 177 183 181 182 181 179 174 180
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# --- the offline digits ---------------------------------------------------------------------

@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("train", [True, False])
def test_digits_shapes_dtype_and_metadata(size, train):
    data = load_images("digits", size, train=train)
    n = 1442 if train else 355  # held out: Σ_c ⌊n_c/5⌋ = 35+36+35+36+36+36+36+35+34+36 = 355; 1797 − 355 = 1442
    assert isinstance(data, ImageData) and isinstance(data, torch.utils.data.Dataset)
    assert data.images.shape == (n, 1, size, size) and data.images.dtype == torch.float32
    assert data.labels.shape == (n,) and data.labels.dtype == torch.long
    assert (data.channels, data.size, len(data)) == (1, size, n)
    assert data.classes == [str(c) for c in range(10)]
    image, label = data[3]
    assert image.shape == (1, size, size) and isinstance(label, int) and label == int(data.labels[3])


@pytest.mark.parametrize("size", IMAGE_SIZES)
def test_digits_range_attains_minus_one_and_one_exactly(size):
    # x ↦ 2x/16 − 1 sends 0 → −1 and 16 → 1 exactly (k/16 is a dyadic fraction). Bilinear
    # interpolation (align_corners=False) makes each pixel a convex combination of input pixels with
    # weights from {1/4, 3/4} (×2) or {1/8, 3/8, 5/8, 7/8} (×4), all dyadic, so values stay in [−1, 1],
    # and a pixel whose inputs are all −1 (the always-blank corners) or all 1 (any 2×2 block of 16s,
    # which 138 of the 1,797 digits have) comes out exactly −1 or 1.
    images = torch.cat([load_images("digits", size, train=t).images for t in (True, False)])
    assert images.min().item() == -1.0 and images.max().item() == 1.0


def test_digits_at_size_8_are_sklearns_pixels_mapped_to_minus_one_one():
    raw = load_digits()
    for train in (True, False):
        data, idx = load_images("digits", 8, train=train), digits_split(train).numpy()
        expected = torch.as_tensor(raw.images[idx], dtype=torch.float32)[:, None] / 8 - 1  # 2x/16 − 1 = x/8 − 1
        torch.testing.assert_close(data.images, expected, rtol=0, atol=0)
        assert torch.equal(data.labels, torch.as_tensor(raw.target[idx]))


def test_digits_larger_sizes_are_bilinear_resizes_of_size_8():
    small = load_images("digits", 8).images
    for size in (16, 32):
        ref = torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
        torch.testing.assert_close(load_images("digits", size).images, ref, rtol=0, atol=0)


def test_split_is_disjoint_complete_stratified_and_fixed():
    train, heldout = digits_split(True), digits_split(False)
    assert len(train) + len(heldout) == 1797
    assert set(train.tolist()).isdisjoint(heldout.tolist())
    assert sorted(train.tolist() + heldout.tolist()) == list(range(1797))
    labels = torch.as_tensor(load_digits().target)
    assert torch.bincount(labels[heldout], minlength=10).tolist() == [n // 5 for n in DIGIT_COUNTS]
    assert torch.bincount(labels[train], minlength=10).tolist() == [n - n // 5 for n in DIGIT_COUNTS]
    assert torch.equal(train, digits_split(True)) and torch.equal(heldout, digits_split(False))
    a, b = load_images("digits", 16), load_images("digits", 16)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_sample_is_uniform_with_replacement_through_the_generator():
    data = load_images("digits", 16, train=False)
    x = data.sample(1000, generator=7)
    assert x.shape == (1000, 1, 16, 16) and x.dtype == torch.float32
    # the documented draw: indices ~ U{0, …, N−1} from the generator, with replacement
    idx = torch.randint(len(data), (1000,), generator=torch.Generator().manual_seed(7))
    assert torch.equal(x, data.images[idx])
    assert torch.equal(x, data.sample(1000, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(x, data.sample(1000, generator=8))
    torch.manual_seed(3)
    y = data.sample(5)  # generator=None: the global generator
    torch.manual_seed(3)
    assert torch.equal(y, data.sample(5))


@pytest.mark.parametrize("device", DEVICES)
def test_sample_lands_on_the_device(device):
    data = load_images("digits", 8)
    x = data.sample(4, generator=0, device=device)
    assert x.device.type == device
    on = data.to(device)
    assert on.images.device.type == device and on.labels.device.type == device
    g = torch.Generator(device=device).manual_seed(0)
    assert on.sample(4, generator=g, device=device).device.type == device


@pytest.mark.parametrize("name", ["Digits", "mnist-fashion", "celeba", ""])
def test_unknown_name_lists_the_valid_ones(name):
    with pytest.raises(ValueError, match="digits, mnist, fashion_mnist, cifar10"):
        load_images(name, 16)


@pytest.mark.parametrize("size", [7, 28, 64, 16.0, 16.5, "16", True])
def test_bad_size_lists_the_valid_sizes(size):
    with pytest.raises(ValueError, match="8, 16, 32"):
        load_images("digits", size)


@pytest.mark.parametrize("n", [0, -3, 2.0])
def test_sample_rejects_a_bad_count(n):
    with pytest.raises(ValueError, match="positive integer"):
        load_images("digits", 8).sample(n, generator=0)


# --- torchvision sets, offline --------------------------------------------------------------

def _write_idx(path, array: np.ndarray):
    """The idx-ubyte format torchvision reads: magic 0x0000 08 nd (uint8, nd dims), big-endian int32 dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _tiny_pixels(n, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    x[0], x[1] = 0, 255  # a blank and a full image: constant images stay constant under any resize
    return x


def _write_mnist(root, cls_name):
    raw = root / cls_name / "raw"  # MNIST._check_exists: all four unzipped files in root/<ClassName>/raw
    raw.mkdir(parents=True)
    made = {}
    for split, n, seed in (("train", 7, 0), ("t10k", 5, 1)):
        images, labels = _tiny_pixels(n, (28, 28), seed), np.arange(n) % 10
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
        made[split == "train"] = (images, labels)
    return made


def _reference(cls, root, train, size, channels):
    """torchvision's own dataset with the chain ToTensor → Resize(antialias) → Normalize(0.5, 0.5)."""
    chain = transforms.Compose([transforms.ToTensor(), transforms.Resize((size, size), antialias=True),
                                transforms.Normalize([0.5] * channels, [0.5] * channels)])
    ds = cls(str(root), train=train, transform=chain, download=False)
    return torch.stack([ds[i][0] for i in range(len(ds))]), torch.tensor([ds[i][1] for i in range(len(ds))])


@pytest.fixture
def no_network(monkeypatch):
    """urlopen raises URLError (what a machine without network sees); the calls are recorded."""
    calls = []

    def refuse(request, *args, **kwargs):
        calls.append(getattr(request, "full_url", request))
        raise urllib.error.URLError("simulated: no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


@pytest.mark.parametrize("name, cls", [("mnist", datasets.MNIST), ("fashion_mnist", datasets.FashionMNIST)])
@pytest.mark.parametrize("size", IMAGE_SIZES)
def test_mnist_family_round_trips_from_torchvisions_files(tmp_path, no_network, name, cls, size):
    made = _write_mnist(tmp_path, cls.__name__)
    for train in (True, False):
        pixels, labels = made[train]
        data = load_images(name, size, root=tmp_path, download=False, train=train)
        assert data.images.shape == (len(pixels), 1, size, size) and data.images.dtype == torch.float32
        assert data.labels.tolist() == labels.tolist()
        assert data.classes == list(cls.classes) and data.channels == 1
        ref_images, ref_labels = _reference(cls, tmp_path, train, size, 1)
        # same operations (x/255, bilinear antialiased resize, (x − 0.5)/0.5) in float32, batched vs one
        # image at a time: equal up to float32 rounding, a few ulp of values ≤ 1 (≈ 1e-7 each)
        torch.testing.assert_close(data.images, ref_images, rtol=0, atol=1e-6)
        assert torch.equal(data.labels, ref_labels)
        # constant images: 0 → (0 − 0.5)/0.5 = −1 and 255 → (1 − 0.5)/0.5 = 1 at every pixel (resize
        # weights sum to 1, so only rounding of Σ w_i ≈ 1, about 1e-7, can show)
        torch.testing.assert_close(data.images[0], torch.full((1, size, size), -1.0), rtol=0, atol=1e-6)
        torch.testing.assert_close(data.images[1], torch.full((1, size, size), 1.0), rtol=0, atol=1e-6)
    assert not no_network  # download=False never touches the network


def test_files_present_and_download_true_needs_no_network(tmp_path, no_network):
    _write_mnist(tmp_path, "MNIST")
    data = load_images("mnist", 16, root=tmp_path, download=True)
    assert len(data) == 7 and not no_network  # torchvision finds the files and downloads nothing


def test_cifar10_round_trips_channels_last_batches(tmp_path, monkeypatch):
    # CIFAR-10's files carry md5 sums we cannot forge, so this test trusts any present file
    import torchvision.datasets.cifar as cifar
    monkeypatch.setattr(cifar, "check_integrity", lambda fpath, md5=None: __import__("os").path.isfile(fpath))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    made = {}
    for name, _ in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list:
        rows = rng.integers(0, 256, size=(3, 3 * 32 * 32), dtype=np.uint8)  # row = R plane, G plane, B plane
        labels = rng.integers(0, 10, size=3).tolist()
        (folder / name).write_bytes(pickle.dumps({"data": rows, "labels": labels}))
        made[name] = (rows, labels)
    classes = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": classes}))

    test = load_images("cifar10", 32, root=tmp_path, download=False, train=False)
    rows, labels = made["test_batch"]
    assert test.images.shape == (3, 3, 32, 32) and test.channels == 3 and test.classes == classes
    assert test.labels.tolist() == labels
    # at size 32 there is no resize: pixel (c, i, j) is row[c·1024 + 32 i + j] mapped by p ↦ (p/255 − 0.5)/0.5
    expected = (torch.as_tensor(rows, dtype=torch.float32).reshape(3, 3, 32, 32) / 255 - 0.5) / 0.5
    torch.testing.assert_close(test.images, expected, rtol=0, atol=0)
    train = load_images("cifar10", 16, root=tmp_path, download=False, train=True)
    assert train.images.shape == (15, 3, 16, 16)
    ref_images, ref_labels = _reference(datasets.CIFAR10, tmp_path, True, 16, 3)
    torch.testing.assert_close(train.images, ref_images, rtol=0, atol=1e-6)  # as for MNIST: float32 rounding
    assert torch.equal(train.labels, ref_labels)


# --- the errors a learner sees --------------------------------------------------------------

# each downloadable set and the folder under root where torchvision looks for its files
FOLDERS = [("mnist", "MNIST/raw"), ("fashion_mnist", "FashionMNIST/raw"), ("cifar10", "cifar-10-batches-py")]


@pytest.mark.parametrize("name, folder", FOLDERS)
def test_missing_files_without_download_name_the_folder(tmp_path, no_network, name, folder):
    with pytest.raises(DatasetUnavailable, match="download=False") as info:
        load_images(name, 16, root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / folder) in message
    assert "load_images('digits'" in message
    expected_file = "train-images-idx3-ubyte" if "MNIST" in folder else "data_batch_1"
    assert expected_file in message
    assert isinstance(info.value, RuntimeError) and not no_network


@pytest.mark.parametrize("name, folder", FOLDERS)
def test_failed_download_says_so_and_points_to_digits(tmp_path, no_network, name, folder):
    with pytest.raises(DatasetUnavailable, match="could not download") as info:
        load_images(name, 16, root=tmp_path, download=True)
    message = str(info.value)
    assert "no network" in message and "simulated: no network" in message
    assert str(tmp_path / folder) in message and "load_images('digits', size=16)" in message
    assert no_network, "the download path was not exercised"
    assert all(url.startswith("http") for url in no_network)


def test_corrupted_cifar_files_are_reported(tmp_path, no_network):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, _ in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list:
        (folder / name).write_bytes(b"not a CIFAR batch")  # present, but the md5 check fails
    with pytest.raises(DatasetUnavailable, match="corrupted") as info:
        load_images("cifar10", 32, root=tmp_path, download=False)
    assert str(folder) in str(info.value)


def test_default_root_is_the_cache(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("GAN_TUTOR_CACHE", str(tmp_path))
    with pytest.raises(DatasetUnavailable) as info:
        load_images("mnist", 16, download=False)
    assert str(tmp_path / "data" / "MNIST" / "raw") in str(info.value)
    assert IMAGE_DATASETS == ("digits", "mnist", "fashion_mnist", "cifar10")
