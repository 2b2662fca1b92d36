r"""Two layers from "Improved Techniques for Training GANs" (Salimans et al. 2016).

**Minibatch discrimination** (§3.2) lets the discriminator look at a whole batch:
a learned tensor :math:`T \in \mathbb R^{A\times B\times C}` maps each feature
vector :math:`x_i \in \mathbb R^A` to :math:`M_i = x_i T \in \mathbb R^{B\times C}`;
row :math:`b` of :math:`M_i` is compared with the same row of every sample in the
batch,

.. math:: c_b(x_i, x_j) = \exp\big(-\lVert M_{i,b} - M_{j,b}\rVert_{L_1}\big), \qquad
          o(x_i)_b = \sum_{j=1}^{n} c_b(x_i, x_j),

and the layer outputs :math:`[x_i, o(x_i)] \in \mathbb R^{A+B}`. A collapsed
generator (all fakes alike) gives every :math:`o(x_i)_b \approx n`, something a
discriminator can see and punish, while varied real samples give
:math:`o \approx 1`.

**Virtual batch normalisation** (§3.4) normalises each example "based on the
statistics collected on a reference batch of examples that are chosen once and
fixed at the start of training, and on x itself": the statistics of the
*virtual batch* made of the reference batch and the one example. Unlike batch
norm, one sample's output does not depend on the other samples it is generated
with.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MinibatchDiscrimination", "VirtualBatchNorm"]


def _positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return v


class MinibatchDiscrimination(nn.Module):
    r"""Minibatch discrimination (Salimans et al. 2016, §3.2): :math:`x \mapsto [x, o(x)]`.

    .. math:: M_i = x_i T \in \mathbb R^{B\times C},\quad
              o(x_i)_b = \sum_{j=1}^{n} \exp\big(-\lVert M_{i,b} - M_{j,b}\rVert_{L_1}\big)

    The sum **includes** :math:`j = i`, as in the paper's equation, so each
    :math:`o(x_i)_b \ge 1`: exactly n for a batch of identical rows, and → 1 for
    rows far apart. (The authors' code excludes j = i, giving n − 1 and 0; the two
    differ by a constant the next linear layer absorbs.)

    T is stored as an (A, B·C) matrix, initialised N(0, 1/A) so that each entry of
    :math:`M_i` has about the scale of one input feature (not the paper's
    data-dependent initialisation).

    Args:
        in_features: A, the length of each input vector.
        out_features: B, the number of kernels (features added).
        kernel_dims: C, the length of each kernel's rows.
    Shapes: input (N, A), output (N, A + B).
    """

    def __init__(self, in_features: int, out_features: int, kernel_dims: int = 5):
        super().__init__()
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        self.kernel_dims = _positive_int("kernel_dims", kernel_dims)
        self.T = nn.Parameter(torch.empty(in_features, out_features * kernel_dims))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.T, 0.0, self.in_features ** -0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MinibatchDiscrimination expects input of shape (N, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        m = (x @ self.T).view(-1, self.out_features, self.kernel_dims).transpose(0, 1)  # M_i = x_i T, (B, N, C)
        # cdist is (m[:, :, None] - m[:, None]).abs().sum(-1) without the (B, N, N, C) intermediate
        l1 = torch.cdist(m, m, p=1)  # ‖M_{i,b} − M_{j,b}‖_L1 for every kernel b, (B, N, N)
        o = torch.exp(-l1).sum(2).T  # o(x_i)_b = Σ_j c_b(x_i, x_j), j = i included, (N, B)
        return torch.cat([x, o], dim=1)  # (N, A + B)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, kernel_dims={self.kernel_dims}"


class VirtualBatchNorm(nn.Module):
    r"""Virtual batch normalisation of 2-D feature maps (Salimans et al. 2016, §3.4).

    The input is the concatenation ``[reference batch; batch]``: its first
    ``n_ref`` rows are the reference batch (R examples), the rest the examples to
    normalise. Per channel, with means and (biased) variances over the spatial
    positions of one example (:math:`\mu_i, \sigma_i^2`) or over the reference
    batch (:math:`\mu_\text{ref}, \sigma_\text{ref}^2`):

    * the reference rows are batch-normalised with their own statistics;
    * example i is normalised with the statistics of the virtual batch
      {reference batch, x_i} — the paper's variant, "based on the statistics
      collected on a reference batch ... and on x itself":

    .. math:: \mu = \frac{R\,\mu_\text{ref} + \mu_i}{R + 1},\qquad
              \sigma^2 = \frac{R\,\big(\sigma^2_\text{ref} + (\mu_\text{ref} - \mu)^2\big)
                               + \sigma_i^2 + (\mu_i - \mu)^2}{R + 1},\qquad
              y_i = \gamma\,\frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    (σ² by the law of total variance: it equals batch norm's variance over the
    R + 1 examples without the cancellation of E[x²] − μ²). So :math:`y_i` is
    exactly what batch norm would give x_i in the batch [reference; x_i], and it
    does not depend on the other examples. There are no running statistics: train
    and eval mode compute the same thing. The reference batch is passed through
    the network with every forward pass, so its statistics always belong to the
    current weights and gradients flow through them, as in the paper (hence
    "computationally expensive ... we use it only in the generator").

    Args:
        num_features: channels C.
        n_ref: R, the number of reference rows at the top of every input.
        eps: ε added to the variance.
    Shapes: input and output (R + N, C, H, W).
    """

    def __init__(self, num_features: int, n_ref: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = _positive_int("num_features", num_features)
        self.n_ref = _positive_int("n_ref", n_ref)
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(num_features))  # γ
        self.bias = nn.Parameter(torch.zeros(num_features))  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_features or x.shape[0] < self.n_ref:
            raise ValueError(f"VirtualBatchNorm expects (R + N, {self.num_features}, H, W) with the R = {self.n_ref} "
                             f"reference rows first, got {tuple(x.shape)}")
        r = self.n_ref
        ref, batch = x[:r], x[r:]  # (R, C, H, W), (N, C, H, W)
        mu_ref = ref.mean((0, 2, 3), keepdim=True)  # μ_ref, (1, C, 1, 1)
        var_ref = ref.var((0, 2, 3), unbiased=False, keepdim=True)  # σ²_ref
        mu_i = batch.mean((2, 3), keepdim=True)  # μ_i, (N, C, 1, 1)
        var_i = batch.var((2, 3), unbiased=False, keepdim=True)  # σ²_i
        mu = (r * mu_ref + mu_i) / (r + 1)  # μ = (R μ_ref + μ_i)/(R + 1)
        var = (r * (var_ref + (mu_ref - mu) ** 2) + var_i + (mu_i - mu) ** 2) / (r + 1)  # σ² of the virtual batch
        ref_hat = (ref - mu_ref) / torch.sqrt(var_ref + self.eps)  # the reference batch: plain batch norm
        batch_hat = (batch - mu) / torch.sqrt(var + self.eps)  # (x_i − μ)/√(σ² + ε)
        gamma, beta = self.weight.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
        return torch.cat([ref_hat, batch_hat]) * gamma + beta  # γ x̂ + β, (R + N, C, H, W)

    def extra_repr(self) -> str:
        return f"{self.num_features}, n_ref={self.n_ref}, eps={self.eps}"
