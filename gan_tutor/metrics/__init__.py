"""Measuring samples: mode coverage on the 2-D mixtures (``modes``), and image
quality in the feature space of a small digit classifier (``classifier``, ``images``):
Fréchet distance, classifier score (the Inception-Score idea) and a linear probe."""

from .classifier import (FORMAT_VERSION, TRAIN_SEED, DigitClassifier, classifier_path, digit_classifier,
                         train_digit_classifier)
from .images import ImageScorer, classifier_score, frechet_distance, linear_probe
from .modes import PROTOCOL_SAMPLES, ModeStats, mode_stats

__all__ = ["ModeStats", "mode_stats", "PROTOCOL_SAMPLES",
           "DigitClassifier", "digit_classifier", "train_digit_classifier", "classifier_path", "TRAIN_SEED",
           "FORMAT_VERSION",
           "frechet_distance", "classifier_score", "ImageScorer", "linear_probe"]
