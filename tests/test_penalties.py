"""Tests for gan_tutor.penalties: historical averaging (Salimans et al. 2016, §3.3).

θ̄_t = (1/t) Σ_{i≤t} θ_i over the snapshot at construction and one per update();
Ω = Σ_p ‖θ_p − θ̄_p‖²₂, so ∂Ω/∂θ = 2(θ − θ̄) and Ω = 0 right after construction.
"""

import pytest
import torch
from torch import nn

from gan_tutor import losses
from gan_tutor.data import ring8
from gan_tutor.models import Discriminator, Generator
from gan_tutor.penalties import HistoricalAverage
from gan_tutor.train import Trainer, Variant
from test_train_loop import DeviceGuard


def _set(module: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)


def test_average_of_one_two_three_is_two():
    net = nn.Linear(3, 2)  # weight (2, 3) and bias (2,): 8 numbers
    _set(net, 1.0)
    ha = HistoricalAverage(net)  # θ_1 = 1
    assert ha.t == 1
    assert float(ha.penalty().detach()) == 0.0  # θ = θ̄ = θ_1
    for value in (2.0, 3.0):  # θ_2 = 2, θ_3 = 3
        _set(net, value)
        ha.update()
    assert ha.t == 3
    for name, avg in ha.average().items():
        torch.testing.assert_close(avg, torch.full_like(avg, 2.0), rtol=0, atol=0)  # (1 + 2 + 3)/3 = 2, exact
    # Ω at θ = 3: Σ over the 8 numbers of (3 − 2)² = 8
    assert float(ha.penalty().detach()) == 8.0


def test_average_matches_the_mean_of_random_snapshots():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    snapshots = [{k: v.clone() for k, v in net.state_dict().items()}]
    ha = HistoricalAverage(net)
    for _ in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        snapshots.append({k: v.clone() for k, v in net.state_dict().items()})
        ha.update()
    # the incremental mean θ̄ += (θ − θ̄)/t agrees with (1/t) Σ θ_i to float64 rounding (~1e-16 per step)
    for name, avg in ha.average().items():
        expected = torch.stack([s[name] for s in snapshots]).mean(0)
        torch.testing.assert_close(avg, expected, rtol=0, atol=1e-13)
    expected_penalty = sum(((p - ha.average()[n]) ** 2).sum() for n, p in net.named_parameters())
    torch.testing.assert_close(ha.penalty(), expected_penalty, rtol=1e-14, atol=0)


def test_gradient_is_twice_the_distance_from_the_average():
    torch.manual_seed(1)
    net = nn.Linear(3, 4).double()
    ha = HistoricalAverage(net)
    for _ in range(3):
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(1.5).add_(0.1)
        ha.update()
    grads = torch.autograd.grad(ha.penalty(), list(net.parameters()))
    # ∂/∂θ ‖θ − θ̄‖² = 2(θ − θ̄), θ̄ a constant (a buffer without gradient)
    for (name, p), g in zip(net.named_parameters(), grads):
        torch.testing.assert_close(g, 2 * (p.detach() - ha.average()[name]), rtol=0, atol=1e-14)
    assert not any(b.requires_grad for b in ha.buffers())
    assert list(ha.parameters()) == []  # the watched module is not a submodule


def test_state_dict_round_trip():
    torch.manual_seed(2)
    net = nn.Linear(2, 2)
    ha = HistoricalAverage(net)
    for _ in range(4):
        with torch.no_grad():
            net.weight.add_(1.0)
        ha.update()
    state = ha.state_dict()
    assert all(k.startswith("avg__") for k in state if k != "_extra_state")
    other_net = nn.Linear(2, 2)
    other_net.load_state_dict(net.state_dict())
    other = HistoricalAverage(other_net)  # t = 1, θ̄ = θ: a different state until loaded
    other.load_state_dict(state)
    assert other.t == 5
    for k, v in ha.average().items():
        assert torch.equal(other.average()[k], v)
    # and the two go on identically
    for h, n in ((ha, net), (other, other_net)):
        with torch.no_grad():
            n.bias.add_(3.0)
        h.update()
    for k, v in ha.average().items():
        assert torch.equal(other.average()[k], v)


def test_bad_arguments():
    with pytest.raises(TypeError, match="nn.Module"):
        HistoricalAverage(torch.zeros(3))
    with pytest.raises(ValueError, match="no parameters"):
        HistoricalAverage(nn.ReLU())


def test_penalty_on_meta():
    net = nn.Linear(3, 2).to("meta")
    ha = HistoricalAverage(net)
    with DeviceGuard("meta"):
        ha.update()
        ha.penalty().backward()
    assert all(b.device.type == "meta" for b in ha.buffers())
    assert net.weight.grad.device.type == "meta"


def test_historical_averaging_in_the_one_loop():
    # as a variant's penalty (weighted by γ) and its after-D-step hook: one update per critic step
    torch.manual_seed(0)
    gen, disc = Generator(2, 2, hidden=16), Discriminator(2, hidden=16)
    ha = HistoricalAverage(disc)
    variant = Variant("GAN + historical averaging", losses.d_loss_bce,
                      lambda d_real, d_fake: losses.g_loss_nonsaturating(d_fake),
                      penalty=lambda d, real, fake, hyper, rng: ha.penalty(), after_d_step=lambda d, hyper: ha.update())
    data = ring8()
    t = Trainer(gen, disc, lambda n, g: data.sample(n, g), variant=variant, batch_size=32)
    t.hyper.gamma, t.hyper.n_critic = 0.5, 2
    t.train(3)
    assert ha.t == 1 + 3 * 2  # the construction snapshot + one per critic step
    # Ω after the last update: θ_7 − θ̄ = Σ_i (θ_7 − θ_i)/7, and Adam's early steps move each weight by
    # ≈ lr = 2e-4 (|m̂/√v̂| ≈ 1), so |θ_7 − θ̄| ≲ (6 + 5 + … + 0)·lr/7 = 3 lr per weight and
    # Ω ≲ 337 weights · (6e-4)² = 1.2e-4 (measured 7.9e-5); positive because D moved at every step
    assert 0 < float(ha.penalty().detach()) < 2e-4
