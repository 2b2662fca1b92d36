"""gan_tutor: the building blocks of an interactive course on generative adversarial networks.

Modules (each with one job): ``runtime`` (device, threads, seeds, CI step
budgets), ``divergences``, ``losses``, ``penalties``, ``data``, ``models``,
``train``, ``plots``, ``widgets``, ``checks`` and ``book`` (the table of contents).
"""

__version__ = "0.1.0"
