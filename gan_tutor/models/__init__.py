"""Networks: MLPs for the toy chapters (:mod:`.mlp`), the DCGAN generator and
discriminator for images (:mod:`.dcgan`), and the layers of Salimans et al. 2016
they can use (:mod:`.layers`).

Every generator owns its noise prior (``noise(n, generator)``), so a training loop
never needs to know how z is drawn; every discriminator returns one **logit** per
sample, shape (N,), and the losses in :mod:`gan_tutor.losses` apply the sigmoid.
"""

from .dcgan import D_NORMS, G_NORMS, SIZES, DCGANDiscriminator, DCGANGenerator, dcgan_init_
from .layers import MinibatchDiscrimination, VirtualBatchNorm
from .mlp import Discriminator, Generator, InstanceNoise, ParallelLineGenerator, mlp

__all__ = ["mlp", "Generator", "Discriminator", "ParallelLineGenerator", "InstanceNoise",
           "DCGANGenerator", "DCGANDiscriminator", "dcgan_init_", "SIZES", "G_NORMS", "D_NORMS",
           "MinibatchDiscrimination", "VirtualBatchNorm"]
