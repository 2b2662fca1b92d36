"""Data for the book: toy distributions with known densities (``toy``) and image
data sets scaled to [-1, 1] (``images``: the offline digits, MNIST, Fashion-MNIST,
CIFAR-10)."""

from .images import (IMAGE_DATASETS, IMAGE_SIZES, SPLIT_SEED, DatasetUnavailable, ImageData, digits_split,
                     load_images)
from .toy import (MIXTURES, GaussianMixture1D, GaussianMixture2D, ParallelLine, gaussian_1d, grid25, normal_pdf,
                  ring8)

__all__ = ["normal_pdf", "GaussianMixture1D", "gaussian_1d", "ParallelLine",
           "GaussianMixture2D", "ring8", "grid25", "MIXTURES",
           "ImageData", "load_images", "DatasetUnavailable", "digits_split", "IMAGE_DATASETS", "IMAGE_SIZES",
           "SPLIT_SEED"]
