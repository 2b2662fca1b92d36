"""gan_tutor: the building blocks of an interactive course on generative adversarial networks.

Modules (each with one job): ``runtime`` (device, threads, seeds, CI step
budgets), ``divergences``, ``losses``, ``penalties``, ``data``, ``models``,
``train``, ``metrics``, ``diagnostics`` (WGAN critics: per-layer gradients, the
estimate against the exact W1), ``recipes``, ``plots``, ``widgets``, ``checks``, ``book`` (the table
of contents) and ``site`` (the HTML edition).
"""

__version__ = "0.1.0"
