r"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016), one class
each for every image size in :data:`SIZES` and any number of channels.

The architecture guidelines of the paper (§3), all followed here:

* no pooling and no upsampling layers: **strided convolutions** in D and
  **transposed (fractionally strided) convolutions** in G, each 4×4 with stride 2,
  doubling (G) or halving (D) the side;
* **batch norm** in both networks, except at G's output layer and D's input layer;
* no fully connected hidden layers: G's first layer is a transposed convolution
  that projects :math:`z` (read as a 1×1 map) to a 4×4 map, and D's last 4×4
  feature map is flattened into one logit by a single linear map;
* **ReLU** in G, with **Tanh** at the output (images in (−1, 1)); **LeakyReLU(0.2)** in D;
* every weight drawn from :math:`\mathcal N(0, 0.02^2)` (§4), see :func:`dcgan_init_`.

The number of stride-2 blocks follows from the image size:
:math:`k = \log_2(\text{size}/4)` — 2, 3, 4 for 16, 32, 64. Channel widths go
``width·2^{k-1}, …, 2·width, width`` in G (4×4 up to the output) and the reverse in D,
so ``DCGANGenerator(z_dim=100, size=64, channels=3, width=128)`` is the generator of the
paper's Figure 1 (z → 4×4×1024 → 8×8×512 → 16×16×256 → 32×32×128 → 64×64×3; its
"project and reshape" of z is our transposed convolution of the 1×1 map).

Two options go beyond the paper, for later chapters: ``norm`` (virtual batch norm in
G, Salimans et al. 2016 §3.4; layer norm or no norm in D, for a WGAN-GP critic, whose
penalty is per sample and so must not mix samples through batch statistics) and
``minibatch_features`` (minibatch discrimination, Salimans et al. 2016 §3.2).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data.toy import Rng, _check_n, _rng
from .layers import MinibatchDiscrimination, VirtualBatchNorm
from .mlp import InstanceNoise

__all__ = ["SIZES", "G_NORMS", "D_NORMS", "dcgan_init_", "DCGANGenerator", "DCGANDiscriminator"]

SIZES = (16, 32, 64)
G_NORMS = ("batch", "virtual")
D_NORMS = ("batch", "layer", "none")


def dcgan_init_(module: nn.Module) -> nn.Module:
    r"""DCGAN initialisation, in place: every convolution and linear weight
    :math:`\sim \mathcal N(0, 0.02^2)` (Radford et al. 2016, §4), every normalisation
    scale :math:`\sim \mathcal N(1, 0.02^2)` (the convention of the PyTorch DCGAN
    example; the paper says only "all weights"), every bias 0. Other parameters
    (minibatch discrimination's T) keep their own initialisation. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)  # w ~ N(0, 0.02²)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, VirtualBatchNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)  # γ ~ N(1, 0.02²)
            nn.init.zeros_(m.bias)  # β = 0
    return module


def _check_args(size, channels, width, norm, norms: tuple[str, ...], who: str) -> int:
    """Validate the shared constructor arguments; returns k = log2(size/4), the number of stride-2 blocks."""
    if isinstance(size, bool) or not isinstance(size, int) or size not in SIZES:
        raise ValueError(f"{who}: size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
    for name, v, hint in (("channels", channels, " (1 grey, 3 RGB)"), ("width", width, "")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{who}: {name} must be a positive integer{hint}, got {v!r}")
    if norm not in norms:
        raise ValueError(f"{who}: unknown norm {norm!r}; valid choices: {', '.join(norms)}")
    return int(math.log2(size // 4))


class DCGANGenerator(nn.Module):
    r"""DCGAN generator :math:`G: z \mapsto x`, :math:`z \sim \mathcal N(0, I_{z\_dim})`,
    :math:`x \in (-1, 1)^{C\times\text{size}\times\text{size}}`.

    Layers (size 32, k = 3): z (N, z_dim, 1, 1) → ConvT 4×4 stride 1 → 4×4×4w → BN, ReLU
    → ConvT 4×4 stride 2 → 8×8×2w → BN, ReLU → 16×16×w → BN, ReLU → ConvT → 32×32×C → Tanh.

    Args:
        z_dim: length of z.
        size: image side, one of :data:`SIZES`.
        channels: image channels C.
        width: channels of the last hidden layer (the paper's 128; ngf in the PyTorch example).
        norm: ``"batch"`` or ``"virtual"`` (:class:`~gan_tutor.models.layers.VirtualBatchNorm`
            against the reference batch ``z_ref``, see :meth:`set_reference`).
        ref_size: R, the number of reference noise vectors (only with ``norm="virtual"``).
    """

    def __init__(self, z_dim: int = 64, size: int = 32, channels: int = 1, width: int = 64,
                 norm: str = "batch", ref_size: int = 64):
        super().__init__()
        k = _check_args(size, channels, width, norm, G_NORMS, "DCGANGenerator")
        if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
            raise ValueError(f"DCGANGenerator: z_dim must be a positive integer, got {z_dim!r}")
        if isinstance(ref_size, bool) or not isinstance(ref_size, int) or ref_size < 1:
            raise ValueError(f"DCGANGenerator: ref_size must be a positive integer, got {ref_size!r}")
        self.z_dim, self.size, self.channels, self.norm = z_dim, size, channels, norm
        self.ref_size = ref_size if norm == "virtual" else 0

        def normalise(c: int) -> nn.Module:
            return nn.BatchNorm2d(c) if norm == "batch" else VirtualBatchNorm(c, ref_size)

        c = width * 2 ** (k - 1)  # channels of the 4×4 map
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), normalise(c), nn.ReLU()]  # 1×1 → 4×4
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), normalise(c // 2), nn.ReLU()]  # side × 2
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]  # output layer: no norm, Tanh
        self.net = nn.Sequential(*layers)
        if norm == "virtual":
            # the reference batch, chosen once (Salimans et al. 2016, §3.4); a buffer, so it follows .to() and is saved
            self.register_buffer("z_ref", torch.randn(ref_size, z_dim))
        dcgan_init_(self)

    def noise(self, n: int, generator: Rng = None) -> torch.Tensor:
        """n draws of z ~ N(0, I), (n, z_dim), on this module's device and in its dtype."""
        _check_n(n)
        param = next(self.parameters())
        g, on = _rng(generator, param.device)
        return torch.randn(n, self.z_dim, generator=g, device=on, dtype=param.dtype).to(param.device)

    def set_reference(self, z_ref: torch.Tensor) -> None:
        """Fix the reference batch of virtual batch norm: z_ref (ref_size, z_dim), copied
        onto this module's device (e.g. ``gen.set_reference(gen.noise(gen.ref_size, generator=0))``)."""
        if self.norm != "virtual":
            raise ValueError(f"set_reference needs norm='virtual'; this generator has norm={self.norm!r}")
        if not isinstance(z_ref, torch.Tensor) or tuple(z_ref.shape) != (self.ref_size, self.z_dim):
            shape = tuple(z_ref.shape) if isinstance(z_ref, torch.Tensor) else type(z_ref).__name__
            raise ValueError(f"z_ref must have shape (ref_size, z_dim) = ({self.ref_size}, {self.z_dim}), got {shape}")
        with torch.no_grad():
            self.z_ref.copy_(z_ref)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGANGenerator expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        if self.norm == "virtual":
            z = torch.cat([self.z_ref, z])  # the reference batch rides along: (R + N, z_dim)
        x = self.net(z[:, :, None, None])  # (R + N, C, size, size)
        return x[self.ref_size:]  # drop the reference rows (R = 0 with batch norm): (N, C, size, size)


class DCGANDiscriminator(nn.Module):
    r"""DCGAN discriminator (or critic): x (N, C, size, size) → one logit per sample, (N,).

    Layers (size 32, k = 3): x → Conv 4×4 stride 2 → 16×16×w → LeakyReLU(0.2) (no norm at
    the input layer) → Conv → 8×8×2w → norm, LeakyReLU → Conv → 4×4×4w → norm, LeakyReLU
    → flatten: the features f(x), (N, 16·4w) → [minibatch discrimination] → Linear → logit.

    Args:
        size: image side, one of :data:`SIZES`.
        channels: image channels C.
        width: channels of the first layer (ndf in the PyTorch example).
        norm: ``"batch"``, ``"layer"`` (``GroupNorm(1, C)``: each sample normalised over
            (C, H, W), per-channel scale and shift) or ``"none"``.
        minibatch_features: B > 0 inserts :class:`~gan_tutor.models.layers.MinibatchDiscrimination`
            with B kernels of ``minibatch_dims`` dimensions between f(x) and the linear map.
        input_noise: σ ≥ 0 of :class:`~gan_tutor.models.InstanceNoise` added to every input,
            real and fake (chapter 02). On a small data set it keeps D from memorising the
            training images. Its ``generator`` attribute (``self.input_noise.generator``) can
            be set to a trainer's generator so that the noise, too, is seeded and checkpointed.
    """

    def __init__(self, size: int = 32, channels: int = 1, width: int = 64, norm: str = "batch",
                 minibatch_features: int = 0, minibatch_dims: int = 5, input_noise: float = 0.0):
        super().__init__()
        k = _check_args(size, channels, width, norm, D_NORMS, "DCGANDiscriminator")
        if isinstance(minibatch_features, bool) or not isinstance(minibatch_features, int) or minibatch_features < 0:
            raise ValueError(f"DCGANDiscriminator: minibatch_features must be an integer >= 0 (0 = off), "
                             f"got {minibatch_features!r}")
        self.size, self.channels, self.norm = size, channels, norm
        self.input_noise = InstanceNoise(input_noise)

        def normalise(c: int) -> list[nn.Module]:
            return {"batch": [nn.BatchNorm2d(c)], "layer": [nn.GroupNorm(1, c)], "none": []}[norm]

        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]  # input layer: no norm
        c = width
        for _ in range(k - 1):
            # a bias is redundant before batch norm (its mean subtraction removes it)
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm != "batch"), *normalise(2 * c), nn.LeakyReLU(0.2)]
            c *= 2
        self.net = nn.Sequential(*layers)  # (N, c, 4, 4)
        self.num_features = c * 4 * 4  # F
        self.minibatch = (MinibatchDiscrimination(self.num_features, minibatch_features, minibatch_dims)
                          if minibatch_features else nn.Identity())
        self.head = nn.Linear(self.num_features + minibatch_features, 1)  # the last 4×4 map → one logit
        dcgan_init_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """f(x): the last 4×4 feature map, flattened, (N, F) — for feature matching and linear probes."""
        expected = (self.channels, self.size, self.size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"DCGANDiscriminator expects images of shape (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        return self.net(self.input_noise(x)).flatten(1)  # (N, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.minibatch(self.features(x))  # (N, F) or, with minibatch discrimination, (N, F + B)
        return self.head(h).squeeze(-1)  # (N,)
