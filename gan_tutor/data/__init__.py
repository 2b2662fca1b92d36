"""Data for the book: toy distributions with known densities (``toy``)."""

from .toy import (GaussianMixture1D, GaussianMixture2D, ParallelLine, gaussian_1d, grid25, normal_pdf,
                  ring8)

__all__ = ["normal_pdf", "GaussianMixture1D", "gaussian_1d", "ParallelLine",
           "GaussianMixture2D", "ring8", "grid25"]
