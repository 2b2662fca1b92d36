"""Tests for the DCGAN networks (gan_tutor.models.dcgan) and the layers of Salimans et
al. 2016 (gan_tutor.models.layers): minibatch discrimination and virtual batch norm.

What is checked: shapes for every size and 1 or 3 channels; the DCGAN rules (Radford et
al. 2016, §3) read off the module tree — transposed/strided 4×4 convolutions and no
pooling, batch norm everywhere except G's output and D's input, ReLU/Tanh in G and
LeakyReLU(0.2) in D, no hidden linear layer; the N(0, 0.02²) initialisation against its
sampling error; errors naming the valid choices; a forward and backward pass on the
``meta`` device with every op on that device; minibatch discrimination against its
closed forms; virtual batch norm against batch norm on the virtual batch, and G's
outputs independent of the batch they are generated in; and a few steps of the one
training loop with DCGAN networks.

Widths are small (8–16 channels) and images 16×16 where the size does not matter, so
the file runs in a few seconds on one thread.
"""

import math

import pytest
import torch
from torch import nn

from gan_tutor.models import (SIZES, DCGANDiscriminator, DCGANGenerator, MinibatchDiscrimination, VirtualBatchNorm,
                              dcgan_init_)
from gan_tutor.train import Trainer
from test_train_loop import DeviceGuard  # the dispatch-mode guard of the training-loop tests


def _blocks(size: int) -> int:
    return int(math.log2(size // 4))  # k = log2(size/4): 2, 3, 4 stride-2 blocks for 16, 32, 64


def _of_type(module: nn.Module, kind) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, kind)]


# --- shapes ----------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(size, channels):
    torch.manual_seed(0)
    gen = DCGANGenerator(z_dim=16, size=size, channels=channels, width=8)
    disc = DCGANDiscriminator(size=size, channels=channels, width=8)
    z = gen.noise(5, generator=0)
    assert z.shape == (5, 16) and z.dtype == torch.float32
    x = gen(z)
    assert x.shape == (5, channels, size, size)
    # Tanh output: strictly inside (−1, 1) at initialisation (pre-activations are O(1))
    assert bool((x.abs() < 1).all())
    assert disc(x).shape == (5,)  # one logit per sample
    # f(x): the last 4×4 map of width·2^(k−1) channels, flattened
    assert disc.features(x).shape == (5, 8 * 2 ** (_blocks(size) - 1) * 16)
    assert disc.num_features == 8 * 2 ** (_blocks(size) - 1) * 16


def test_paper_figure_1_generator():
    # Radford et al. 2016, Fig. 1: z (100) → 4×4×1024 → 8×8×512 → 16×16×256 → 32×32×128 → 64×64×3
    gen = DCGANGenerator(z_dim=100, size=64, channels=3, width=128)
    maps, h = [], torch.zeros(2, 100, 1, 1)
    for layer in gen.net:
        h = layer(h)
        if isinstance(layer, nn.ConvTranspose2d):
            maps.append(tuple(h.shape[1:]))
    assert maps == [(1024, 4, 4), (512, 8, 8), (256, 16, 16), (128, 32, 32), (3, 64, 64)]


# --- the DCGAN rules ----------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_generator_follows_the_dcgan_rules(size):
    k = _blocks(size)
    layers = list(DCGANGenerator(size=size, width=8).net)
    convs = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    # k + 1 transposed convolutions, 4×4: the projection 1×1 → 4×4 (stride 1), then k doublings (stride 2)
    assert len(convs) == k + 1
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert [c.stride for c in convs] == [(1, 1)] + [(2, 2)] * k
    # every hidden layer is conv → BN → ReLU; the output layer is conv → Tanh, no BN
    assert len(layers) == 3 * k + 2
    for i in range(k):
        conv, norm, act = layers[3 * i: 3 * i + 3]
        assert isinstance(conv, nn.ConvTranspose2d) and isinstance(norm, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
        assert norm.num_features == conv.out_channels
        assert conv.bias is None  # redundant before batch norm
    assert isinstance(layers[-2], nn.ConvTranspose2d) and isinstance(layers[-1], nn.Tanh)
    assert layers[-2].bias is not None
    # no linear layers, no pooling, no upsampling
    gen = DCGANGenerator(size=size, width=8)
    assert not _of_type(gen, (nn.Linear, nn.Upsample, nn.MaxPool2d, nn.AvgPool2d))


@pytest.mark.parametrize("size", SIZES)
def test_discriminator_follows_the_dcgan_rules(size):
    k = _blocks(size)
    disc = DCGANDiscriminator(size=size, width=8)
    layers = list(disc.net)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert len(convs) == k and all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    # input layer: conv → LeakyReLU, no batch norm; then k − 1 blocks conv → BN → LeakyReLU
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert len(layers) == 2 + 3 * (k - 1)
    for i in range(k - 1):
        conv, norm, act = layers[2 + 3 * i: 5 + 3 * i]
        assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and isinstance(act, nn.LeakyReLU)
    assert len(_of_type(disc, nn.BatchNorm2d)) == k - 1
    assert all(a.negative_slope == 0.2 for a in _of_type(disc, nn.LeakyReLU))
    # one linear map only: the flattened last 4×4 map → the logit; no pooling
    (head,) = _of_type(disc, nn.Linear)
    assert head is disc.head and (head.in_features, head.out_features) == (disc.num_features, 1)
    assert not _of_type(disc, (nn.MaxPool2d, nn.AvgPool2d, nn.ReLU))


@pytest.mark.parametrize("norm, kind, count", [("batch", nn.BatchNorm2d, 2), ("layer", nn.GroupNorm, 2),
                                               ("none", (nn.BatchNorm2d, nn.GroupNorm), 0)])
def test_discriminator_norms(norm, kind, count):
    disc = DCGANDiscriminator(size=32, width=8, norm=norm)  # k = 3: two normalised blocks
    assert len(_of_type(disc, kind)) == count
    if norm == "layer":
        assert all(m.num_groups == 1 for m in _of_type(disc, nn.GroupNorm))  # over (C, H, W) of one sample
    assert not _of_type(disc, nn.BatchNorm2d) or norm == "batch"


def test_virtual_generator_has_vbn_where_batch_norm_was():
    gen = DCGANGenerator(size=32, width=8, norm="virtual", ref_size=4)
    assert len(_of_type(gen, VirtualBatchNorm)) == 3 and not _of_type(gen, nn.BatchNorm2d)
    assert all(m.n_ref == 4 for m in _of_type(gen, VirtualBatchNorm))
    assert gen.z_ref.shape == (4, 64) and "z_ref" in gen.state_dict()


# --- initialisation -------------------------------------------------------------------------

def test_dcgan_initialisation_statistics():
    # Radford et al. 2016, §4: weights ~ N(0, 0.02²). For n i.i.d. draws the sample mean has
    # standard error σ/√n and the sample std σ/√(2n); we allow 5 standard errors on each
    # (a false alarm has probability ≈ 6e-7 per check; the seed fixes the draw anyway).
    torch.manual_seed(0)
    nets = [DCGANGenerator(size=32, width=32), DCGANDiscriminator(size=32, width=32)]
    sigma = 0.02
    for net in nets:
        for m in _of_type(net, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w, n = m.weight.detach().double(), m.weight.numel()
            torch.testing.assert_close(w.mean(), torch.tensor(0.0, dtype=torch.float64), rtol=0,
                                       atol=5 * sigma / math.sqrt(n))
            torch.testing.assert_close(w.std(), torch.tensor(sigma, dtype=torch.float64), rtol=0,
                                       atol=5 * sigma / math.sqrt(2 * n))
            if m.bias is not None:
                assert bool((m.bias == 0).all())
        for m in _of_type(net, nn.BatchNorm2d):
            # γ ~ N(1, 0.02²) on C channels: mean within 5σ/√C of 1; β = 0
            g, c = m.weight.detach().double(), m.num_features
            torch.testing.assert_close(g.mean(), torch.tensor(1.0, dtype=torch.float64), rtol=0,
                                       atol=5 * sigma / math.sqrt(c))
            assert bool((m.bias == 0).all())


def test_dcgan_init_is_in_place_and_leaves_other_parameters():
    layer = MinibatchDiscrimination(16, 4, 3)
    t_before = layer.T.detach().clone()
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(1, 2), layer)
    with torch.no_grad():
        net[0].bias.fill_(5.0)
        net[1].bias.fill_(5.0)
    assert dcgan_init_(net) is net
    assert bool((net[0].bias == 0).all()) and bool((net[1].bias == 0).all())
    assert torch.equal(layer.T, t_before)  # T keeps its own N(0, 1/A) initialisation


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [DCGANGenerator, DCGANDiscriminator])
@pytest.mark.parametrize("size", [8, 24, 128, "32", 32.0, True])
def test_bad_size_names_the_valid_sizes(cls, size):
    with pytest.raises(ValueError, match="16, 32, 64"):
        cls(size=size)


@pytest.mark.parametrize("cls", [DCGANGenerator, DCGANDiscriminator])
@pytest.mark.parametrize("kwargs", [{"channels": 0}, {"channels": 1.5}, {"width": 0}, {"width": -8}])
def test_bad_channels_or_width(cls, kwargs):
    with pytest.raises(ValueError, match="positive integer"):
        cls(**kwargs)


@pytest.mark.parametrize("norm", ["layer", "none", "instance", None])
def test_generator_bad_norm_names_the_choices(norm):
    with pytest.raises(ValueError, match="valid choices: batch, virtual"):
        DCGANGenerator(norm=norm)


@pytest.mark.parametrize("norm", ["virtual", "instance", "spectral", None])
def test_discriminator_bad_norm_names_the_choices(norm):
    with pytest.raises(ValueError, match="valid choices: batch, layer, none"):
        DCGANDiscriminator(norm=norm)


def test_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="z_dim"):
        DCGANGenerator(z_dim=0)
    with pytest.raises(ValueError, match="minibatch_features"):
        DCGANDiscriminator(minibatch_features=-1)
    gen, disc = DCGANGenerator(z_dim=8, size=16, width=8), DCGANDiscriminator(size=16, channels=3, width=8)
    for z in (torch.zeros(2, 9), torch.zeros(2, 8, 1, 1), torch.zeros(8)):
        with pytest.raises(ValueError, match=r"\(N, 8\)"):
            gen(z)
    for x in (torch.zeros(2, 1, 16, 16), torch.zeros(2, 3, 32, 32), torch.zeros(3, 16, 16)):
        with pytest.raises(ValueError, match=r"\(N, 3, 16, 16\)"):
            disc(x)
        with pytest.raises(ValueError, match=r"\(N, 3, 16, 16\)"):
            disc.features(x)
    with pytest.raises(ValueError, match="norm='virtual'"):
        gen.set_reference(torch.zeros(4, 8))
    vgen = DCGANGenerator(z_dim=8, size=16, width=8, norm="virtual", ref_size=4)
    with pytest.raises(ValueError, match=r"\(4, 8\)"):
        vgen.set_reference(torch.zeros(5, 8))
    with pytest.raises(ValueError, match="positive integer"):
        gen.noise(0)


def test_noise_is_reproducible_and_follows_dtype():
    gen = DCGANGenerator(z_dim=8, size=16, width=8)
    torch.testing.assert_close(gen.noise(6, generator=3), gen.noise(6, generator=3), rtol=0, atol=0)
    assert gen.double().noise(2).dtype == torch.float64


# --- device-agnostic: forward and backward on the meta device -------------------------------------

@pytest.mark.parametrize("which, norm", [("G", "batch"), ("G", "virtual"),
                                         ("D", "batch"), ("D", "layer"), ("D", "none")])
def test_forward_and_backward_on_meta(which, norm):
    if which == "G":
        net = DCGANGenerator(z_dim=8, size=16, width=8, norm=norm, ref_size=4).to("meta")
        with DeviceGuard("meta") as guard:
            out = net(net.noise(3))
            out.sum().backward()
        assert out.shape == (3, 1, 16, 16)
    else:
        net = DCGANDiscriminator(size=16, width=8, norm=norm, minibatch_features=4).to("meta")
        with DeviceGuard("meta") as guard:
            out = net(torch.randn(3, 1, 16, 16, device="meta"))
            out.sum().backward()
        assert out.shape == (3,)
    assert out.device.type == "meta"
    assert any("convolution" in op for op in guard.ops)  # the guard saw the network's ops
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in net.parameters())


# --- minibatch discrimination ------------------------------------------------------------------

def test_minibatch_discrimination_shape_and_passthrough():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=12, out_features=5, kernel_dims=3)
    assert layer.T.shape == (12, 15)  # (A, B·C)
    x = torch.randn(7, 12)
    out = layer(x)
    assert out.shape == (7, 12 + 5)
    assert torch.equal(out[:, :12], x)  # concat(x, o(x)): x unchanged


def test_minibatch_discrimination_closed_form_two_samples():
    # A = 2, B = 1, C = 2, T = I: M_i = x_i. x_1 = (0, 0), x_2 = (1, −2): ‖M_1 − M_2‖_L1 = 3, so
    # o(x_i) = c(x_i, x_i) + c(x_i, x_j) = e^0 + e^−3 = 1.049787 for both (j = i included)
    layer = MinibatchDiscrimination(2, 1, 2).double()
    with torch.no_grad():
        layer.T.copy_(torch.eye(2, dtype=torch.float64))
    out = layer(torch.tensor([[0.0, 0.0], [1.0, -2.0]], dtype=torch.float64))
    torch.testing.assert_close(out[:, 2], torch.full((2,), 1 + math.exp(-3), dtype=torch.float64),
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("n", [1, 4, 9])
def test_minibatch_discrimination_identical_and_far_apart_rows(n):
    torch.manual_seed(1)
    layer = MinibatchDiscrimination(6, 4, 3)
    # n identical rows: every ‖M_i,b − M_j,b‖ = 0, c_b = 1, o_b = Σ_j 1 = n exactly
    same = layer(torch.randn(1, 6).expand(n, 6))[:, 6:]
    torch.testing.assert_close(same, torch.full((n, 4), float(n)), rtol=0, atol=0)
    # rows i·10⁴·u apart: ‖M_i,b − M_j,b‖_L1 = 10⁴ |i − j| ‖(uT)_b‖_L1 ≫ 100, so e^−‖·‖ underflows to 0
    # for j ≠ i and o_b = c_b(x_i, x_i) = 1
    u = torch.randn(6)
    far = layer(torch.arange(n, dtype=torch.float32)[:, None] * 1e4 * u)[:, 6:]
    torch.testing.assert_close(far, torch.ones(n, 4), rtol=0, atol=1e-12)


def test_minibatch_discrimination_against_the_paper_by_loops():
    # the reference: o(x_i)_b = Σ_j exp(−Σ_c |M_i,b,c − M_j,b,c|), M_i = x_i T reshaped (B, C), in plain loops
    torch.manual_seed(4)
    layer = MinibatchDiscrimination(4, 3, 2).double()
    x = torch.randn(5, 4, dtype=torch.float64) * 0.5
    t = layer.T.detach().view(4, 3, 2)  # T as the paper's A × B × C tensor
    m = torch.einsum("na,abc->nbc", x, t)
    expected = torch.tensor([[sum(math.exp(-float((m[i, b] - m[j, b]).abs().sum())) for j in range(5))
                              for b in range(3)] for i in range(5)], dtype=torch.float64)
    torch.testing.assert_close(layer(x)[:, 4:].detach(), expected, rtol=0, atol=1e-12)


def test_minibatch_discrimination_is_permutation_equivariant_and_differentiable():
    torch.manual_seed(2)
    layer = MinibatchDiscrimination(5, 3, 2).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    perm = torch.randperm(6)
    torch.testing.assert_close(layer(x[perm]), layer(x)[perm], rtol=0, atol=1e-12)
    layer(x)[:, 5:].sum().backward()
    assert layer.T.grad is not None and bool(layer.T.grad.abs().sum() > 0)  # the gradient reaches T
    # against central differences (rows distinct, so no |·| kink at 0 among the j ≠ i terms;
    # the j = i terms are constant, e^0)
    assert torch.autograd.gradcheck(lambda inp: layer(inp), (x.clone().requires_grad_(),), eps=1e-6, atol=1e-7)


def test_minibatch_discrimination_bad_input():
    layer = MinibatchDiscrimination(4, 2, 3)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        layer(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="positive integer"):
        MinibatchDiscrimination(4, 0, 3)


def test_discriminator_with_minibatch_discrimination():
    torch.manual_seed(0)
    disc = DCGANDiscriminator(size=16, width=8, minibatch_features=6, minibatch_dims=4).eval()
    f = disc.num_features
    assert disc.head.in_features == f + 6
    assert disc.minibatch.T.shape == (f, 6 * 4)
    x = torch.rand(1, 1, 16, 16).expand(5, 1, 16, 16)  # five identical images (eval: no batch statistics)
    out = disc.minibatch(disc.features(x))
    torch.testing.assert_close(out[:, f:], torch.full((5, 6), 5.0), rtol=0, atol=0)  # o_b = n = 5
    assert disc(x).shape == (5,)


# --- virtual batch norm -------------------------------------------------------------------------

def test_vbn_is_batch_norm_on_the_virtual_batch():
    # y_i = BN([ref; x_i])[last]: batch norm (training mode, γ = 1, β = 0) on the R + 1 examples
    torch.manual_seed(3)
    r, c = 5, 3
    vbn = VirtualBatchNorm(c, n_ref=r).double()
    bn = nn.BatchNorm2d(c, affine=False).double().train()
    ref = torch.randn(r, c, 4, 4, dtype=torch.float64) * 2 + 1
    x = torch.randn(4, c, 4, 4, dtype=torch.float64) * 3 - 2
    out = vbn(torch.cat([ref, x]))
    assert out.shape == (r + 4, c, 4, 4)
    torch.testing.assert_close(out[:r], bn(ref), rtol=0, atol=1e-12)  # the reference rows: plain BN
    for i in range(4):
        expected = bn(torch.cat([ref, x[i:i + 1]]))[-1]
        torch.testing.assert_close(out[r + i], expected, rtol=0, atol=1e-12)
    # the affine part: γ x̂ + β per channel
    with torch.no_grad():
        vbn.weight.copy_(torch.tensor([2.0, -1.0, 0.5]))
        vbn.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(vbn(torch.cat([ref, x])), out * vbn.weight.view(1, -1, 1, 1) + vbn.bias.view(1, -1, 1, 1),
                               rtol=0, atol=1e-12)


def test_vbn_bad_input():
    vbn = VirtualBatchNorm(3, n_ref=4)
    for x in (torch.zeros(3, 3, 2, 2), torch.zeros(6, 2, 2, 2), torch.zeros(6, 3)):
        with pytest.raises(ValueError, match=r"R = 4 reference rows"):
            vbn(x)


def test_virtual_generator_does_not_couple_samples():
    # Batch norm makes G(z₀) depend on the batch it is generated in; virtual batch norm does not:
    # each sample sees only the reference batch and itself.
    torch.manual_seed(0)
    z = DCGANGenerator(z_dim=8).noise(4, generator=5)  # z₀, z₁, z₂, z₃
    vgen = DCGANGenerator(z_dim=8, size=16, width=8, norm="virtual", ref_size=6)
    with torch.no_grad():
        a, b = vgen(z[[0, 1, 2]])[0], vgen(z[[0, 3]])[0]
    # equal up to float32 rounding in convolutions of different batch sizes (≈ 1e-7 on O(1) values)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert torch.equal(vgen(z[[0, 1, 2]]), vgen(z[[0, 1, 2]]))  # and deterministic
    bgen = DCGANGenerator(z_dim=8, size=16, width=8, norm="batch").train()
    with torch.no_grad():
        a, b = bgen(z[[0, 1, 2]])[0], bgen(z[[0, 3]])[0]
    assert float((a - b).abs().max()) > 1e-3  # with batch statistics the same z₀ gives another image


def test_virtual_generator_is_the_same_in_train_and_eval_and_follows_its_reference():
    torch.manual_seed(0)
    gen = DCGANGenerator(z_dim=8, size=16, width=8, norm="virtual", ref_size=6)
    z = gen.noise(3, generator=1)
    train_out = gen.train()(z)
    torch.testing.assert_close(gen.eval()(z), train_out, rtol=0, atol=0)  # no running statistics
    gen.set_reference(gen.noise(6, generator=2))
    assert float((gen(z) - train_out).abs().max().detach()) > 1e-3  # another reference batch, other statistics
    # the reference batch is saved with the weights: a copy loaded from the state dict agrees
    copy = DCGANGenerator(z_dim=8, size=16, width=8, norm="virtual", ref_size=6)
    copy.load_state_dict(gen.state_dict())
    torch.testing.assert_close(copy(z), gen(z), rtol=0, atol=0)


# --- the one training loop -------------------------------------------------------------------

def _image_trainer(gen, disc, device="cpu", **kwargs):
    def sample_real(n, g):  # "images" uniform in [−1, 1], drawn on the trainer's device
        return torch.rand(n, 1, 16, 16, generator=g, device=device) * 2 - 1

    return Trainer(gen, disc, sample_real, variant="gan", batch_size=8, device=device, **kwargs)


@pytest.mark.parametrize("g_norm, d_norm, mbd", [("batch", "batch", 0), ("virtual", "layer", 4), ("batch", "none", 0)])
def test_dcgan_nets_train_in_the_one_loop(g_norm, d_norm, mbd):
    torch.manual_seed(0)
    gen = DCGANGenerator(z_dim=8, size=16, width=8, norm=g_norm, ref_size=4)
    disc = DCGANDiscriminator(size=16, width=8, norm=d_norm, minibatch_features=mbd)
    t = _image_trainer(gen, disc)
    g0 = {k: v.clone() for k, v in gen.state_dict().items()}
    history = t.train(3)
    assert all(math.isfinite(v) for k in ("d_loss", "g_loss") for v in history[k])
    # G moved (every weight tensor); the reference batch did not (a buffer, not a parameter)
    for name, p in gen.named_parameters():
        assert not torch.equal(p.detach(), g0[name]), name
    if g_norm == "virtual":
        assert torch.equal(gen.z_ref, g0["z_ref"])


def test_dcgan_trainer_step_on_meta():
    gen = DCGANGenerator(z_dim=8, size=16, width=8, norm="virtual", ref_size=4)
    disc = DCGANDiscriminator(size=16, width=8, norm="batch", minibatch_features=4)
    t = _image_trainer(gen, disc, device="meta")
    with DeviceGuard("meta") as guard:
        out = t.step()
    assert all(v.device.type == "meta" for v in out.values())
    assert any("convolution" in op for op in guard.ops)


def test_input_noise_blurs_every_input_and_follows_its_generator():
    x = torch.zeros(4, 1, 16, 16)
    quiet = DCGANDiscriminator(size=16, width=8)
    # σ = 0: no noise, so the same batch twice gives the same features (even with batch norm)
    assert torch.equal(quiet.features(x), quiet.features(x))
    noisy = DCGANDiscriminator(size=16, width=8, input_noise=0.5)
    assert not torch.equal(noisy.features(x), noisy.features(x))
    noisy.input_noise.generator = torch.Generator().manual_seed(1)
    first = noisy.features(x)
    noisy.input_noise.generator = torch.Generator().manual_seed(1)
    assert torch.equal(first, noisy.features(x))
    with pytest.raises(ValueError, match="sigma"):
        DCGANDiscriminator(size=16, input_noise=-0.1)
