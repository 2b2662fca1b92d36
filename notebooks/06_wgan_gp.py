# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · WGAN-GP: the gradient penalty
#
# Chapter 05 built the Wasserstein critic and kept it Lipschitz the crude way:
# every weight clipped to $[-c, c]$. Gulrajani, Ahmed, Arjovsky, Dumoulin and
# Courville (2017), "Improved Training of Wasserstein GANs", replaced the
# clipping by a **penalty on the critic's gradient with respect to its input**.
# This chapter derives that penalty from a gradient characterisation of the
# Lipschitz property and from the shape of the optimal critic, checks it against
# closed forms, shows why such a critic must not use batch norm, draws the critic
# it produces next to a clipped one, and trains both kinds of WGAN on the 2-D
# mixtures; then a WGAN-GP on the digits of chapter 04.

# %% tags=["nbval-ignore-output"]
# Setup. On Colab (or any kernel without the package) this first installs gan_tutor
# from the book's repository, REPO (a fork changes it here and in book.toml); then it
# picks the device once (CUDA when present), fixes the CPU thread count and seeds
# every generator.
import os
import subprocess
import sys

REPO = "https://github.com/gan-tutor/gan_tutor"
try:
    import gan_tutor
except ImportError:
    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"gan_tutor @ git+{REPO}"],
                          capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if _pip.returncode != 0:
        _why = [line.strip() for line in _pip.stderr.splitlines() if "fatal:" in line or "ERROR" in line]
        raise RuntimeError(
            f"Could not install gan_tutor from {REPO} ({(_why or ['pip failed'])[0]}). Check that "
            "this runtime reaches the internet and that the repository is public; or upload a "
            "gan_tutor wheel, run `%pip install gan_tutor-*.whl` in a cell, then run this cell again.") from None
    import gan_tutor

import copy
import math
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import ot
import torch

from gan_tutor import losses, penalties, plots, runtime
from gan_tutor.checks import check_close, check_less
from gan_tutor.data import grid25, ring8
from gan_tutor.diagnostics import critic_layer_grad_norms
from gan_tutor.divergences import w1_samples
from gan_tutor.models import DCGANDiscriminator, Discriminator, Generator
from gan_tutor.recipes import (TOY2D, ImageTracker, LinearDecay, ModeTracker, dcgan_trainer, digits_setup, generate,
                               sample_from, toy2d_recipe, toy2d_trainer)
from gan_tutor.train import VARIANTS, fit_discriminator
from gan_tutor.widgets import TrainingPanel

rt = runtime.setup(seed=0)
device = rt.device
print(rt)

# %% [markdown]
# ## 1 · Lipschitz means: gradient norm at most 1
#
# The Kantorovich–Rubinstein duality of chapter 05 takes the best critic among
# the 1-Lipschitz functions, those with $|f(x) - f(y)| \le \lVert x - y\rVert$ for
# all $x, y$. For a differentiable $f$ that is a statement about its gradient:
#
# $$f \text{ is 1-Lipschitz} \iff \lVert\nabla f(x)\rVert_2 \le 1 \text{ at every } x .$$
#
# ($\Leftarrow$) Along the segment $x_t = x + t(y - x)$, the fundamental theorem
# of calculus and Cauchy–Schwarz give
#
# $$|f(y) - f(x)| = \Big|\int_0^1 \nabla f(x_t)\cdot(y - x)\,dt\Big|
#   \le \lVert y - x\rVert \int_0^1 \lVert\nabla f(x_t)\rVert\,dt \le \lVert y - x\rVert .$$
#
# ($\Rightarrow$) Step from $x$ by $h$ along the unit vector
# $u = \nabla f(x)/\lVert\nabla f(x)\rVert$: the difference quotient
# $\big(f(x + hu) - f(x)\big)/h$ is at most 1, and tends to
# $\nabla f(x)\cdot u = \lVert\nabla f(x)\rVert$ as $h \to 0$.
#
# So the Lipschitz constant *is* the largest gradient norm, and a condition on
# every pair of points becomes a condition at every single point, which a loss
# can penalise. (Networks with (Leaky)ReLU are differentiable everywhere except
# on a set of measure zero; the same argument goes through.) Both halves,
# numerically, for a small smooth network (tanh, in float64) standing in for $f$:
# the integral along 1,000 random segments by the midpoint rule, and the
# difference quotient along the gradient.

# %%
torch.manual_seed(0)
f = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                        torch.nn.Linear(32, 1)).double().to(device)
with torch.no_grad():
    f[0].weight.mul_(4.0)  # a steeper first layer, so that the gradient turns along each segment
g = runtime.generator(1, device)
x = torch.randn(1000, 2, generator=g, device=device, dtype=torch.float64)
y = torch.randn(1000, 2, generator=g, device=device, dtype=torch.float64)
t = (torch.arange(512, device=device, dtype=torch.float64) + 0.5) / 512  # midpoints of 512 pieces of [0, 1]
x_t = x[:, None] + t[None, :, None] * (y - x)[:, None]  # points on each segment, (1000, 512, 2)
grad = penalties.input_gradients(f, x_t.reshape(-1, 2), create_graph=False).reshape(1000, 512, 2)  # ∇f(x_t)
with torch.no_grad():
    rise = (f(y) - f(x)).squeeze(1)  # f(y) − f(x), (1000,)
integral = (grad * (y - x)[:, None]).sum(-1).mean(1)  # ∫₀¹ ∇f(x_t)·(y − x) dt
# the midpoint rule's error falls as 1/n²: it was 1.3e-5 with n = 256 pieces, so about 3e-6 with 512
check_close("max |f(y) − f(x) − ∫ ∇f(x_t)·(y − x) dt| over 1,000 segments", (rise - integral).abs().max(), 0.0,
            tol=1e-5, digits=6)
ratio = rise.abs() / (y - x).norm(dim=1)  # |f(y) − f(x)| / ‖y − x‖
mean_norm = grad.norm(dim=-1).mean(1)  # ∫₀¹ ‖∇f(x_t)‖ dt
# (≤ 0 exactly; the midpoint rule's 1e-5 is the slack)
check_less("max over segments of  |f(y) − f(x)|/‖y − x‖ − ∫ ‖∇f(x_t)‖ dt", (ratio - mean_norm).max(), 1e-5)

h = 1e-6
g_x = penalties.input_gradients(f, x, create_graph=False)  # ∇f(x), (1000, 2)
u = g_x / g_x.norm(dim=1, keepdim=True)
with torch.no_grad():
    quotient = ((f(x + h * u) - f(x)).squeeze(1) / h)
# the quotient's error is about h·|f''|/2 plus float64 rounding 1e-16/h: ~1e-6 at most
check_close("max |(f(x + hu) − f(x))/h − ‖∇f(x)‖| along u = ∇f/‖∇f‖", (quotient - g_x.norm(dim=1)).abs().max(),
            0.0, tol=1e-5, digits=6)
print(f"this network's Lipschitz constant is at least {ratio.max():.3f} (the largest ratio over the pairs) "
      f"and at least {g_x.norm(dim=1).max():.3f} (the largest gradient norm at the points x)")

# %% [markdown]
# ## 2 · The optimal critic has gradient norm 1 between coupled points
#
# Gulrajani et al. (2017, Proposition 1) say more about the *optimal* critic.
# Let $f^*$ be an optimal 1-Lipschitz critic between $P_r$ and $P_g$ and $\pi$ an
# optimal coupling of the two (a transport plan that attains $W_1$). Then for
# pairs $(x, y) \sim \pi$, real $x$ and generated $y$,
#
# $$f^*(x) - f^*(y) = \lVert x - y\rVert ,$$
#
# because $W_1 = \mathbb E_\pi\lVert x - y\rVert = \mathbb E_\pi\big[f^*(x) - f^*(y)\big]$
# while every single term $f^*(x) - f^*(y)$ is at most $\lVert x - y\rVert$:
# equality of the means forces equality pair by pair. On the segment from $y$ to
# $x$, $f^*$ therefore climbs $\lVert x - y\rVert$ over a distance
# $\lVert x - y\rVert$ with slope never above 1, so with slope exactly 1 all the
# way: at every point $x_t$ of the segment
#
# $$\nabla f^*(x_t) = \frac{x - y}{\lVert x - y\rVert}, \qquad \lVert\nabla f^*(x_t)\rVert = 1$$
#
# (wherever $f^*$ is differentiable: a slope of 1 along a unit direction, with
# no direction steeper than 1, leaves only that direction for the gradient).
# The optimal critic has gradient norm 1 on the lines between coupled points,
# and its gradient points from the generated sample to the real one (the book's
# critic scores real samples high).
#
# **The problem for the rest of this part.** Real: the ring of eight Gaussians.
# Generated: the samples of an untrained MLP generator (four hidden layers of
# 128 LeakyReLU units), which sit in a small blob near the origin. With all
# the fakes at one point $c$ the optimal critic is easy to name, a cone
# $f^*(x) = \lVert x - c\rVert$ + const, with gradient norm 1 everywhere. We fit
# a critic *alone* against these two samplers (`train.fit_discriminator`, each
# step exactly the trainer's critic step: the penalty of section 3 with the
# paper's $\gamma = 10$, Adam(0, 0.9)) for 300 steps, and measure its gradient
# norm at random interpolates between real and generated samples, before and
# after; and on the segments of the optimal coupling between 1,000 real and
# 1,000 generated points (computed by optimal transport, `ot.emd`).

# %%
ring = ring8()
torch.manual_seed(0)  # the weights of this part: fixed here, not by a training recipe
g0 = Generator(2, 2, hidden=128, depth=4).to(device)  # untrained: z ~ N(0, I) in 2-D to a blob near 0
init_critic = Discriminator(2, hidden=128, depth=3).to(device)  # untrained
gp_critic = copy.deepcopy(init_critic)


def samplers():
    """Seeded samplers of real (ring) and generated (g0) batches: every fit below sees the same batches."""
    real_rng, fake_rng = runtime.generator(1, device), runtime.generator(2, device)
    return (lambda n: ring.sample(n, real_rng, device)), (lambda n: sample_from(g0, g0.noise(n, fake_rng)))


FIT_STEPS, FIT_LR, FIT_GAMMA = 300, 1e-3, 10.0  # steps, Adam's rate, and the paper's λ for the critic fits of this part
fit_discriminator(gp_critic, *samplers(), FIT_STEPS, lr=FIT_LR, variant="wgan_gp",
                  generator=runtime.generator(3, device), gamma=FIT_GAMMA)

real_eval, fake_eval = ring.sample(1000, generator=10, device=device), generate(g0, 1000, seed=11)
x_hat = penalties.interpolates(real_eval, fake_eval, generator=runtime.generator(12, device))
FITTED = f"after {FIT_STEPS} steps"
norms = {"initialisation, at x̂": penalties.gradient_norms(init_critic, x_hat),
         f"{FITTED}, at x̂": penalties.gradient_norms(gp_critic, x_hat)}

# the optimal coupling of the two sets: equal weights, so the plan is a permutation (one partner each)
cost = ot.dist(real_eval.cpu().double().numpy(), fake_eval.cpu().double().numpy(), metric="euclidean")
partner = torch.as_tensor(ot.emd(ot.unif(1000), ot.unif(1000), cost).argmax(1), device=device)
xr, yg = real_eval, fake_eval[partner]
x_c = penalties.interpolates(xr, yg, generator=runtime.generator(13, device))  # on the coupled segments
grad_c = penalties.input_gradients(gp_critic, x_c, create_graph=False)
direction = (xr - yg) / (xr - yg).norm(dim=1, keepdim=True)  # (x − y)/‖x − y‖
norms[f"{FITTED}, on coupled segments"] = grad_c.norm(dim=1)
for name, v in norms.items():
    q = torch.quantile(v, torch.tensor([0.1, 0.5, 0.9], device=device)).tolist()
    print(f"‖∇f‖ {name:<38}: median {q[1]:.2f}, 10–90 % range {q[0]:.2f}–{q[2]:.2f}")
check_close("median ‖∇f‖ at x̂ after fitting", norms[f"{FITTED}, at x̂"].median(), 1.0, tol=0.1, digits=2)
check_close("median slope ∇f·(x − y)/‖x − y‖ along the coupled segments", (grad_c * direction).sum(1).median(),
            1.0, tol=0.1, digits=2)
check_less("median ‖∇f‖ at x̂ at initialisation", norms["initialisation, at x̂"].median(), 0.5)

fig, ax = plt.subplots(figsize=(7, 3.4))
plots.plot_histogram(norms, ax=ax, bins=60, xlabel="gradient norm ‖∇f‖", mark=1.0,
                     title="The critic's gradient norm between real and generated samples")
plt.show()

# %% [markdown]
# At initialisation the critic is nearly flat between the two sets; after 300
# steps its gradient norm at the interpolates is concentrated around 1, and
# along the segments of the optimal coupling it climbs towards the real point
# at slope about 1, as the proposition says.
#
# ## 3 · The gradient penalty
#
# Imposing $\lVert\nabla f\rVert \le 1$ at *every* point of the space is out of
# reach for a neural network (clipping was a crude sufficient condition).
# Section 2 says where the constraint matters and what it should look like
# there: gradient norm 1, on lines between real and generated samples. WGAN-GP
# (Gulrajani et al. 2017, eq. 3) turns that into a price added to the critic's
# loss:
#
# $$\mathcal L_f = \underbrace{\mathbb E_{\tilde x\sim P_g} f(\tilde x) - \mathbb E_{x\sim P_r} f(x)}_{\text{chapter 05}}
#   + \gamma\,\mathbb E_{\hat x}\Big[\big(\lVert\nabla_{\hat x} f(\hat x)\rVert_2 - 1\big)^2\Big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon)\tilde x,\quad \epsilon \sim U[0, 1].$$
#
# It is the soft version of the constraint: instead of forbidding gradients of
# the wrong size, the loss charges for them, quadratically, at random points
# $\hat x$ where the optimal critic's norm is known. (The paper calls the weight
# λ and uses λ = 10; the book's loop calls every penalty weight γ.) Three
# simplifications against the proposition, all deliberate:
#
# - the pairs $(x, \tilde x)$ are independent draws from the two batches, not
#   the optimal coupling, which would cost a transport problem at every step;
# - the penalty is **two-sided**: it also charges norms *below* 1. The literal
#   constraint is one-sided, $\max(0, \lVert\nabla f\rVert - 1)^2$
#   (`gradient_penalty(..., one_sided=True)`); the authors chose two-sided
#   because the optimal critic has norm 1 on most of that region anyway, and
#   found it does not constrain the critic much in practice;
# - it is **soft**: a critic can pay a little penalty for a larger gap, so its
#   estimate of $W_1$ comes out somewhat high (the closed form below).
#
# `gan_tutor.penalties.gradient_penalty` computes the penalty **per sample**:
# each gradient is flattened and gets its own norm. By hand, and against the
# package, on the critic just fitted:

# %%
real, fake = real_eval[:256], fake_eval[:256]
x_hat = penalties.interpolates(real, fake, generator=runtime.generator(14, device))  # x̂ = εx + (1 − ε)x̃
grad = penalties.input_gradients(gp_critic, x_hat)  # ∇f(x̂), (256, 2), differentiable in the critic's weights
by_hand = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()  # E[(‖∇f(x̂)‖₂ − 1)²]
package = penalties.gradient_penalty(gp_critic, real, fake, generator=runtime.generator(14, device))
check_close("penalty by hand vs penalties.gradient_penalty", by_hand.item(), package.item(), tol=1e-6, digits=6)
print(f"penalty of the untrained critic: {penalties.gradient_penalty(init_critic, real, fake).item():.3f} "
      f"(its norms are near 0: about (0 − 1)² = 1); of the fitted one: {package.item():.4f}")

# %% [markdown]
# **A linear critic** $f(x) = w\cdot x + b$ has gradient $w$ at every point, so
# its penalty is exactly $(\lVert w\rVert - 1)^2$, for any batch and any
# interpolates, for points and for images alike (an image critic's gradient is
# flattened before its norm is taken):

# %%
lin = torch.nn.Linear(2, 1).to(device)
with torch.no_grad():
    lin.weight.copy_(torch.tensor([[0.6, -1.2]]))  # ‖w‖ = √1.8 = 1.341641, (‖w‖ − 1)² = 0.116718
check_close("points: GP of f(x) = w·x + b, ‖w‖ = √1.8", penalties.gradient_penalty(lin, real, fake).item(), 0.116718,
            tol=1e-5, digits=6)
image_critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16, 1)).to(device)
with torch.no_grad():
    image_critic[1].weight.fill_(0.1)  # ‖w‖ = 0.1·√256 = 1.6, (‖w‖ − 1)² = 0.36
images = torch.rand(8, 1, 16, 16, generator=runtime.generator(15, device), device=device) * 2 - 1
check_close("images: GP of a linear critic with ‖w‖ = 1.6",
            penalties.gradient_penalty(image_critic, images, -images).item(), 0.36, tol=1e-5, digits=6)

# %% [markdown]
# **A closed form for the whole critic step.** Real $P_r = \mathcal N(0, 1)$,
# generated $P_g = \mathcal N(\Delta, 1)$, so $W_1 = \Delta$, attained by the
# linear critic $f(x) = -x$. Give the critic that form with a free slope,
# $f(x) = -s\,x + b$, $s > 0$ (pointing towards the real samples). Its gradient
# has norm $s$ everywhere, so the penalty is $(s - 1)^2$ wherever $\hat x$ falls,
# and the critic minimises
#
# $$\mathcal L(s) = \mathbb E_g f - \mathbb E_r f + \gamma (s - 1)^2 = -s\Delta + \gamma (s - 1)^2
# \quad\Longrightarrow\quad s^* = 1 + \frac{\Delta}{2\gamma},
# \qquad \hat W = \mathbb E_r f - \mathbb E_g f = s^*\Delta = \Delta\Big(1 + \frac{\Delta}{2\gamma}\Big).$$
#
# The soft constraint lets the critic steepen past slope 1, and its estimate of
# $W_1$ overshoots by $\Delta^2/(2\gamma)$: 10 % at the paper's γ = 10 for
# Δ = 2, a factor 2 at γ = 1; as γ → ∞ it tends to $W_1 = \Delta$. Now fit
# `nn.Linear(1, 1)` with the trainer's own critic step, 800 steps of batches of
# 256. (It starts at $s = 0$, for a reason the next cell shows.)

# %%
DELTA, LR_FIT, BATCH_FIT, STEPS_FIT = 2.0, 5e-3, 256, 800
for gamma in (1.0, 10.0, 100.0):
    lin = torch.nn.Linear(1, 1).to(device)
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    g = runtime.generator(20, device)
    fit_discriminator(lin, lambda n: torch.randn(n, 1, generator=g, device=device),
                      lambda n: DELTA + torch.randn(n, 1, generator=g, device=device), STEPS_FIT, batch_size=BATCH_FIT,
                      lr=LR_FIT, variant="wgan_gp", generator=g, gamma=gamma)
    s = -lin.weight.item()
    # A batch's gap Δ̂ has sd √(2/256) = 0.088, which moves that batch's optimum s by 0.088/(2γ); Adam without
    # momentum (β1 = 0) keeps jittering by about its learning rate. So |s − s*| ≤ 0.088/(2γ) + 2·lr, times Δ on Ŵ.
    tol = DELTA * (math.sqrt(2 / BATCH_FIT) / (2 * gamma) + 2 * LR_FIT)
    check_close(f"γ = {gamma:>5g}: fitted Ŵ = sΔ vs Δ(1 + Δ/(2γ))", s * DELTA, DELTA * (1 + DELTA / (2 * gamma)),
                tol=round(tol, 3), digits=2)

# %% [markdown]
# **The two-sided penalty's trap.** The same loss on the other side of zero,
# $s < 0$ (a critic that scores the *fakes* higher), is
# $\mathcal L(s) = -s\Delta + \gamma(|s| - 1)^2$, and it has a second, *local*
# minimum there: $\mathcal L'(s) = -\Delta + 2\gamma(s + 1) = 0$ at
# $s = -(1 - \Delta/(2\gamma)) = -0.9$ for Δ = 2, γ = 10, whenever $\Delta < 2\gamma$.
# To cross to the right side the critic would have to pass through $s = 0$,
# where the two-sided penalty charges γ for a slope of 0. The one-sided penalty
# is zero for every $|s| \le 1$: no barrier. Start both from $s = -0.5$, with
# point masses (real at 0, fake at Δ) so that the loss is exactly $\mathcal L(s)$:

# %%
one_sided = replace(VARIANTS["wgan_gp"], name="WGAN-GP, one-sided",
                    penalty=lambda d, r, f, hp, g: penalties.gradient_penalty(d, r, f, g, one_sided=True))
GAMMA_TRAP, S_START, TRAP_STEPS, TRAP_LR = 10.0, -0.5, 400, 1e-2
ends = {}
for label, variant in (("two-sided", "wgan_gp"), ("one-sided", one_sided)):
    lin = torch.nn.Linear(1, 1).to(device)
    torch.nn.init.constant_(lin.weight, -S_START)  # f(x) = −s x with s = −0.5: the wrong side
    torch.nn.init.zeros_(lin.bias)
    fit_discriminator(lin, lambda n: torch.zeros(n, 1, device=device), lambda n: torch.full((n, 1), DELTA, device=device),
                      TRAP_STEPS, batch_size=64, lr=TRAP_LR, variant=variant, generator=runtime.generator(21, device),
                      gamma=GAMMA_TRAP)
    ends[label] = -lin.weight.item()
    print(f"{label}: s from {S_START:+.1f} to {ends[label]:+.2f}, Ŵ = sΔ = {ends[label] * DELTA:+.2f}")
# a deterministic loss; Adam jitters by about lr/2 around its minimum: tolerance 2 lr
check_close("two-sided: s stays at −(1 − Δ/(2γ))", ends["two-sided"], -(1 - DELTA / (2 * GAMMA_TRAP)), tol=2 * TRAP_LR,
            digits=2)
check_close("one-sided: s reaches 1 + Δ/(2γ)", ends["one-sided"], 1 + DELTA / (2 * GAMMA_TRAP), tol=2 * TRAP_LR, digits=2)

# %% [markdown]
# The two-sided critic settles with the wrong sign, reporting $\hat W = -1.8$ for a
# $W_1$ of 2, and stays there; the one-sided one crosses to the global minimum.
# An MLP critic can land in the same mirrored basin, depending on its
# initialisation (`tests/test_wasserstein.py` records such fits). The book's
# `wgan_gp` variant keeps the paper's two-sided form;
# `gradient_penalty(..., one_sided=True)` is there for the other.
#
# %% [markdown]
# ## 4 · Two rules for the critic: no batch norm, Adam without momentum
#
# **No batch norm.** The penalty needs, for each sample $\hat x_i$, the gradient
# of *that sample's* score with respect to *that sample*.
# `penalties.input_gradients` gets all of them from one backward pass of
# $\sum_j f(\hat x_j)$: row $i$ of the result is
# $\sum_j \partial f(\hat x_j)/\partial \hat x_i$, which equals
# $\nabla f(\hat x_i)$ only if no other sample's score depends on $\hat x_i$.
# Batch norm breaks exactly that (chapter 04, section 2): in training mode every
# score depends on every sample of the batch through the batch's mean and
# variance. The "gradient" the penalty would constrain mixes in the other
# samples' scores and changes with the company a sample keeps; the critic is
# not even a function of one input, so "its gradient norm at $x$" means nothing.
# The same image, in two different batches, through chapter 04's DCGAN critic
# with each of its normalisations:

# %%
images = torch.rand(4, 1, 16, 16, generator=runtime.generator(30, device), device=device) * 2 - 1
for norm in ("batch", "layer", "none"):
    torch.manual_seed(0)
    critic = DCGANDiscriminator(size=16, width=32, norm=norm).to(device).train()
    in_one = penalties.input_gradients(critic, images[[0, 1, 2]], create_graph=False)[0]  # x0 among x1, x2
    in_other = penalties.input_gradients(critic, images[[0, 3]], create_graph=False)[0]  # x0 beside x3
    change = ((in_one - in_other).norm() / in_one.norm()).item()
    print(f"norm = {norm:<5}: ‖∇f(x0) in one batch − in another‖ / ‖∇f(x0)‖ = {change:.3f}")
    if norm != "batch":
        check_close(f"norm = {norm}: x0's gradient does not depend on its batch", change, 0.0, tol=1e-6)

# %% [markdown]
# Layer norm (`GroupNorm(1, C)`: each sample normalised over its own channels
# and pixels) keeps samples independent, and so does no normalisation at all;
# Gulrajani et al. recommend layer norm as the drop-in replacement.
# `DCGANDiscriminator(norm="layer")`, or `dcgan_trainer(..., d_norm="layer")`,
# builds that critic; the MLP critics of the toy problems have no
# normalisation. The trainer refuses a critic with batch norm for a variant
# whose penalty reads the critic sample by sample (WGAN-GP, WGAN-div, GAN-QP),
# and says which option to pass instead.
#
# **Adam with β1 = 0, β2 = 0.9.** Arjovsky et al. (2017) had found the clipped
# critic unstable under momentum-based optimisers such as Adam and used
# RMSProp. WGAN-GP goes back to Adam but switches its momentum off ($\beta_1 = 0$)
# and shortens the memory of its second-moment estimate ($\beta_2 = 0.9$ instead
# of 0.999), with learning rate $10^{-4}$ and five critic steps per generator
# step (Algorithm 1). These are the registered variant's defaults:

# %%
gp = VARIANTS["wgan_gp"]
print(f"{gp.name}: optimizer {gp.optimizer} {gp.optimizer_kwargs}, knobs {gp.knobs}")
print(f"defaults: n_critic {gp.defaults.n_critic}, γ {gp.defaults.gamma:g}, "
      f"lr {gp.defaults.lr_d:g} (critic) / {gp.defaults.lr_g:g} (generator)")
check_close("Adam's β1 (no momentum)", gp.optimizer_kwargs["betas"][0], 0.0, tol=0)

# %% [markdown]
# ## 5 · Penalised and clipped critics, side by side
#
# The clipped critic of chapter 05 on the same problem, fitted the same way from
# the same initial weights and batches: variant `wgan_clip` (RMSProp, $c = 0.01$),
# 300 steps at the toy recipe's rate $10^{-3}$ (`TOY2D["wgan_clip"]`), by which
# its gap has stopped growing. `plots.plot_critic` draws each critic's values as
# filled contours (darker = higher, i.e. "real") and its gradient as arrows on
# **one scale for both panels**: the key's arrow has norm 1.

# %%
clip_critic = copy.deepcopy(init_critic)
FIT_CLIP = 0.01  # the paper's c
fit_discriminator(clip_critic, *samplers(), FIT_STEPS, lr=TOY2D["wgan_clip"]["lr"], variant="wgan_clip", clip=FIT_CLIP)

w1 = w1_samples(real_eval.cpu(), fake_eval.cpu())  # exact W1 of the two sets of 1,000 (optimal transport)
critics = {"gradient penalty": gp_critic, "clipping": clip_critic}
nearest = torch.cdist(real_eval, ring.centres.to(device)).argmin(1)  # the mode of each real sample
below = {}
with torch.no_grad():
    print(f"exact W1 between the sets: {w1:.3f}")
    for name, c in critics.items():
        f_real, f_fake = c(real_eval), c(fake_eval)
        est = losses.wasserstein_estimate(f_real, f_fake).item()
        # modes whose real samples the critic scores, on average, below the generated blob
        below[name] = sum(int(f_real[nearest == k].mean() < f_fake.mean()) for k in range(len(ring.centres)))
        print(f"{name:>16} critic: E_r f − E_g f = {est:.3g} ({est / w1:.2g} × W1); "
              f"ring modes scored below the generated samples: {below[name]} of 8")
        if name == "gradient penalty":
            check_close("GP critic's estimate / W1", est / w1, 1.0, tol=0.1, digits=2)
        else:
            check_less("clipped critic's estimate / W1", est / w1, 0.01)
check_close("GP critic: modes scored below the generated samples", below["gradient penalty"], 0, tol=0)
check_less("clipping: ring modes scored above the generated samples (fewer than all 8)", 8 - below["clipping"], 8)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
pts = {"real": real_eval[:300], "generated": fake_eval[:300]}
lim = ((-1.6, 1.6), (-1.6, 1.6))
plots.plot_critic(gp_critic, lim, ax=axes[0], points=pts, title="gradient penalty (γ = 10)")
plots.plot_critic(clip_critic, lim, ax=axes[1], points=pts, title="weight clipping (c = 0.01)")
plt.show()

# %% [markdown]
# Both critics rise from the blob towards the ring (darker = higher), and
# there the likeness ends. The penalised critic is the cone of section 2:
# arrows about as long as the key, pointing out of the blob through every mode,
# and a gap $\mathbb E_r f - \mathbb E_g f$ equal to the exact $W_1$ (0.985 against
# 0.986). The clipped critic's arrows are invisible at this scale (the corner
# gives their norms, a few thousandths) and its gap is about 0.2 % of $W_1$: it
# estimates $K\cdot W_1$ for some $K$ set by $c$ and the architecture (chapter
# 05). Worse, it has the wrong *shape*. A network whose weights all lie in
# $[-0.01, 0.01]$ cannot bend sharply enough to make a cone; it settles on a tilted
# wedge that rises towards one side of the ring and scores two of the eight modes
# *below* the generated samples, so a generator following it would be pushed
# away from those modes. This is what Gulrajani et al. (2017, §3.1, Figure 1a)
# call capacity underuse: a clipped critic learns an overly simple function.
#
# **Gradients through the layers.** Gulrajani et al. (§3.2, Figure 1b) looked inside
# deeper critics: with clipping, the gradient of the critic's loss with respect
# to each layer's weights vanishes or explodes, depending on $c$. A deeper
# critic here, 8 hidden layers of 128 units, fitted from the same start on the
# same problem with clipping at three bounds and with the penalty (learning rate
# $10^{-3}$ for all four, so that the clipped weights reach their bounds), then
# `diagnostics.critic_layer_grad_norms` measures
# $\lVert\partial\mathcal L/\partial W_l\rVert$ for every layer $l$:

# %% tags=["nbval-ignore-output"]
DEEP_STEPS = runtime.steps(120, 40)
settings = {"clip c = 0.1": dict(variant="wgan_clip", clip=0.1), "clip c = 0.01": dict(variant="wgan_clip", clip=0.01),
            "clip c = 0.001": dict(variant="wgan_clip", clip=0.001), "GP γ = 10": dict(variant="wgan_gp", gamma=10.0)}
layer_norms = {}
for name, kw in settings.items():
    torch.manual_seed(0)
    deep = Discriminator(2, 128, 8).to(device)
    fit_discriminator(deep, *samplers(), DEEP_STEPS, lr=1e-3, generator=runtime.generator(3, device), **kw)
    layer_norms[name] = critic_layer_grad_norms(deep, real_eval, fake_eval)
    print(f"{name:<15}: ‖∂L/∂W_l‖ from input to output layer: "
          + " ".join(f"{v:.0e}" for v in layer_norms[name]))

fig, ax = plt.subplots(figsize=(7, 3.6))
for name, values in layer_norms.items():
    v = np.array(values)
    ax.plot(np.arange(1, len(v) + 1), np.where(v > 0, v, np.nan), "o-", label=name)  # 0 cannot be drawn on a log axis
ax.set(yscale="log", xlabel="layer l (1 = input)", ylabel="‖∂L/∂W_l‖", title="The critic's gradient, layer by layer")
ax.legend(frameon=False, fontsize=8)
plt.show()
gp_norms = np.array(layer_norms["GP γ = 10"])
check_less("GP: largest / smallest layer gradient", gp_norms.max() / gp_norms.min(), 100)
# the text's orders of magnitude (this run: about 1e-17, or 0, at c = 0.001 and 1e5–1e6 at c = 0.1, see the
# figure); the bounds leave orders of margin but fail if clipping stopped shrinking or blowing up the gradient
check_less("clip c = 0.001: largest layer gradient", max(layer_norms["clip c = 0.001"]), 1e-10)
check_less("clip c = 0.1: −log10(smallest layer gradient) (every layer above 10³)",
           -math.log10(min(layer_norms["clip c = 0.1"])), -3)

# %% [markdown]
# Two orders of magnitude of $c$ give more than twenty orders of magnitude of
# gradient: $10^{5}$ to $10^{6}$ in every layer at $c = 0.1$, about $10^{-9}$ at
# $c = 0.01$, $10^{-17}$ at $c = 0.001$ and in its last layers exactly 0, the
# difference between real and generated activations having fallen below
# float32's resolution. The penalised critic's layers all lie between 0.2 and 1.
# Why the layers of a clipped critic move together: by the chain rule (the docstring of `gan_tutor.diagnostics`), the
# gradient for layer $l$ is $\mathbb E[\delta_l\,x_{l-1}^\top]$, a backward factor
# through the layers after $l$ times the forward signal through the layers
# before it. Every layer's gradient passes through all the *other* weight
# matrices, and clipping sets each one's gain through $c$: well above 1 at
# $c = 0.1$, far below at 0.01 and 0.001, raised to the power of the depth. No
# single $c$ suits every depth and width; the penalty instead fixes the scale
# where it matters, the critic's slope at its input, and lets the weights
# arrange themselves.
#
# ## 6 · Training on the mixtures: the paper's settings, a toy recipe, and clipping
#
# Now the whole game. WGAN-GP's Algorithm 1 settings, n_critic = 5, λ = 10
# and Adam at $10^{-4}$, were chosen for images and hours of GPU time. On the
# ring, with the networks and batch of the toy recipe below, 1,600 generator
# steps of them make 8,000 critic steps, as many critic updates as the recipe's
# run will make:

# %% tags=["nbval-ignore-output"]
PAPER_FULL = 1600
PAPER_STEPS = runtime.steps(PAPER_FULL, 50)
# Algorithm 1's rate, n_critic and λ, and no averaged generator (the recipe's g_ema, explained below)
paper_settings = dict(TOY2D["wgan_gp"], lr=1e-4, n_critic=5, gamma=10.0, g_ema=None)
paper_run = toy2d_trainer(ring, "wgan_gp", seed=0, device=device, **paper_settings)
tracker = ModeTracker(ring, every=PAPER_STEPS // 4)
t0 = time.perf_counter()
paper_run.train(PAPER_STEPS, callbacks=[LinearDecay(paper_settings["lr"], PAPER_FULL), tracker])
print(f"the paper's settings: {PAPER_STEPS} steps ({paper_run.hyper.n_critic * PAPER_STEPS} critic steps) "
      f"in {time.perf_counter() - t0:.0f} s")
for step, stats in zip(tracker.steps, tracker.stats):
    print(f"  step {step:>5}: {stats}")
shown = {"real": ring.sample(1000, generator=5, device=device), "generated": generate(paper_run.gen, 1000, seed=6)}
print(f"generated samples: mean {[round(v, 2) for v in shown['generated'].mean(0).tolist()]}, "
      f"std {[round(v, 2) for v in shown['generated'].std(0).tolist()]} (the ring: mean 0, radius 1)")
both = torch.cat(list(shown.values()))
lo, hi = both.quantile(0.01, dim=0), both.quantile(0.99, dim=0)  # a square window around both sets
mid, half = ((lo + hi) / 2).tolist(), float((hi - lo).max()) / 2 + 0.5
fig, ax = plt.subplots(figsize=(4.4, 4.2))
plots.plot_critic(paper_run.disc, ((mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half)), ax=ax,
                  points=shown, title=f"paper's settings, step {PAPER_STEPS}")
plt.show()

# %% [markdown]
# After 8,000 critic steps the paper's settings have not found the ring: at the
# four checkpoints the generator covered 1, 1, 2 and finally 0 of the 8 modes,
# with almost no sample near a mode, and at the end its samples sit off the ring
# altogether, on a bent line south-west of it, centred near (−1.5, −1.75) (the
# picture is zoomed out to show them). The critic is not what fails: its gradient norm is close to 1, as the
# penalty asks.
# The generator, moving at $10^{-4}$ once per five critic steps, is a cloud
# drifting across the plane after a critic that points it at the whole ring at
# once, and it overshoots. The authors' toy script runs 100,000 generator steps;
# on a CPU budget of well under a minute these settings do not get far. That is
# a statement about this budget, not about the method.
#
# The toy recipe (`recipes.TOY2D["wgan_gp"]`, shared with `benchmarks/toy2d.py`)
# departs from Algorithm 1 where a small budget needs it: **one** critic step
# per generator step, learning rate $2\cdot10^{-3}$ for both networks (falling
# linearly to 1 %), batches of 32 for a ReLU generator of 3 × 96 units (the
# toy networks of the GANs; the critic is the MLP of
# sections 2–5), and **γ = 0.1**, the value in the authors' own toy script
# (`gan_toy.py` in their repository, with the comment that a smaller λ "makes
# things faster for toy tasks, but isn't necessary if you increase CRITIC_ITERS
# enough"). By the closed form of section 3, a critic this loosely penalised
# overestimates $W_1$ several times over; the generator does not mind much,
# since it only follows the direction of the critic's gradient and Adam
# normalises its size.
#
# One more setting changes no step of training, only which generator we look
# at. A GAN's generator does not come to rest at the equilibrium: each of its
# steps answers the critic of the moment, the critic answers back, and the
# weights keep circling around it (a simultaneous game's gradient steps rotate
# around a saddle point instead of falling into it; here in the generator's
# 19,000 weights). The recipe therefore keeps a **moving average of the
# generator's weights**, after every step
#
# $$\bar\theta \leftarrow \beta_n\,\bar\theta + (1-\beta_n)\,\theta,\qquad
#   \beta_n = \min\Big(0.999,\ \frac{1+n}{10+n}\Big)\ \text{after } n \text{ updates},$$
#
# in a long run an average over roughly the last $1/(1-0.999) = 1{,}000$
# steps, which sits nearer the centre of the circling than any single point of
# it (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN
# training"; image GANs such as ProGAN and StyleGAN sample from such an
# average). The warm-up $(1+n)/(10+n)$ lets a short run forget its first,
# untrained weights: with a fixed 0.999 they would still weigh 13 % after
# 2,000 steps. The critic still trains against the current weights θ; scores
# and the pictures of the WGAN-GP runs below come from θ̄ (`toy2d_trainer(...,
# g_ema=0.999)`, then `trainer.eval_gen`; `trainer.gen` stays the current
# generator, and the live panel of section 7 shows that one).
#
# Clipping and the penalty, each with its toy recipe, on the ring and on the
# grid: clipping (`TOY2D["wgan_clip"]`: RMSProp at $10^{-3}$, $c = 0.01$,
# n_critic = 5, with the LeakyReLU generator of 4 × 128 units and batches of
# 64 of chapter 05) for 2,000 generator steps, the penalty for 8,000, so that both
# make a similar number of critic updates (10,000 and 8,000). On the grid the
# penalty's recipe takes batches of 128 at $3\cdot10^{-3}$
# (`recipes.toy2d_recipe`, which applies `TOY2D_GRID25`): its 25 narrow modes
# gain from less noisy steps. Eight times per
# run we score 2,500 samples with the protocol of chapter 03 (modes captured,
# % high-quality samples within 3 standard deviations of a mode, reverse KL of
# the mode histogram).

# %% tags=["nbval-ignore-output"]
FULL = {"wgan_gp": 8000, "wgan_clip": 2000}
steps = {"wgan_gp": runtime.steps(FULL["wgan_gp"], 400), "wgan_clip": runtime.steps(FULL["wgan_clip"], 100)}
mixtures = {"ring8": ring, "grid25": grid25()}
runs = {}
for data_name, data in mixtures.items():
    for variant in ("wgan_clip", "wgan_gp"):
        trainer = toy2d_trainer(data, variant, seed=0, device=device, **toy2d_recipe(variant, data))
        tracker = ModeTracker(data, every=steps[variant] // 8)
        t0 = time.perf_counter()
        trainer.train(steps[variant], callbacks=[LinearDecay(trainer.hyper.lr_d, FULL[variant]), tracker])
        runs[data_name, variant] = (trainer, tracker, time.perf_counter() - t0)
        print(f"{data_name:>6} {variant:<9} (n_critic {trainer.hyper.n_critic}): {tracker.stats[-1]} "
              f"after {steps[variant]} steps, {runs[data_name, variant][2]:.0f} s")
        if trainer.gen_ema is not None:  # the same run, scored on its last weights instead of their average
            print(f"{'':>6} {'':<9} the last generator, not the average: {tracker.score(trainer, trainer.gen)}")
if not rt.ci:  # the claims of the text, at full length
    for data_name, data in mixtures.items():
        check_close(f"{data_name}: WGAN-GP captures every mode", runs[data_name, "wgan_gp"][1].stats[-1].modes,
                    len(data.centres), tol=0)
        check_less(f"{data_name}: high-quality share, clipping minus GP",
                   runs[data_name, "wgan_clip"][1].stats[-1].high_quality
                   - runs[data_name, "wgan_gp"][1].stats[-1].high_quality, -0.1)

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(2, 3, figsize=(13, 8), layout="constrained")
for row, (data_name, data) in enumerate(mixtures.items()):
    for variant in ("wgan_clip", "wgan_gp"):
        tracker = runs[data_name, variant][1]
        n_critic = runs[data_name, variant][0].hyper.n_critic
        axes[row, 0].plot([n_critic * step for step in tracker.steps], [100 * s.high_quality for s in tracker.stats],
                          "o-", label=f"{variant} (n_critic {n_critic}"
                          + (", averaged G)" if runs[data_name, variant][0].gen_ema is not None else ")"))
    axes[row, 0].set(xlabel="critic updates", ylabel="% high-quality samples", title=f"{data_name}: sample quality")
    axes[row, 0].legend(frameon=False)
    real = data.sample(1000, generator=5)
    for col, variant in enumerate(("wgan_clip", "wgan_gp"), start=1):
        trainer = runs[data_name, variant][0]
        plots.plot_critic(trainer.disc, ((-5, 5), (-5, 5)) if data_name == "grid25" else ((-1.6, 1.6), (-1.6, 1.6)),
                          ax=axes[row, col], points={"real": real, "generated": generate(trainer.eval_gen, 1000, seed=6)},
                          title=f"{data_name}: {variant}")
plt.show()

# %% [markdown]
# For a similar number of critic updates (the left column's axis) the penalty
# wins clearly on both mixtures (each with its own recipe, so the generators
# differ too). On the ring WGAN-GP's averaged generator ends with all 8 modes,
# 96 % of its samples high quality and a reverse KL of 0.002, an almost even
# split over the modes. Clipping also touches all 8 modes, but only 1.6 % of its
# samples lie within reach of one: its generator spreads a ring-shaped cloud
# around the modes instead of settling on them (reverse KL 0.44). On the grid the
# penalty, with its grid recipe (batches twice the size of clipping's), finds all
# 25 modes with 93 % high-quality samples (reverse KL 0.009), still improving
# when the run ends; clipping finds 16, with 1.4 %.
#
# In these two runs the average and the last generator score alike (95.7 and
# 95.4 % on the ring, 92.6 and 92.7 % on the grid). That is what to expect of
# runs that end well: the average earns its place on runs that happen to stop
# mid-swing, which exercise 4 below looks for.
#
# The critics tell the same story. The clipped one (middle column) is a gentle
# landscape with gradient norms of about $10^{-4}$ whose hills follow the modes
# only roughly; the penalised one (right) has a peak on every mode and arrows
# pointing into them. Its norms, median 1.3 on the ring and 1.05 on the grid,
# are at or above 1: with γ = 0.1 the constraint is loose, as the closed form of
# section 3 predicts. WGAN-GP's samples still show thin bridges between
# neighbouring modes, where the continuous generator must pass from one mode to
# the next; on the grid only a few samples are left on them. These are single
# runs; how the recipes do across many runs is recorded in `BENCHMARKS.md`.
#
# ## 7 · The live panel
#
# The panel of chapter 03 with a WGAN-GP on the ring, from the toy recipe. The
# sliders are the variant's knobs, the penalty weight γ and n_critic, and the
# learning rate; they act at the next step. The γ slider is logarithmic, from
# 0.01 to 100: compare 0.01 (almost no constraint), the recipe's 0.1 and the
# paper's 10, and n_critic 1 against 5, and watch the background, the critic's
# field. (The panel was driven from code first: n_critic set to 2 and 20 steps
# trained.)

# %% tags=["nbval-ignore-output"]
# the live view shows the generator being trained, so this trainer keeps no average (g_ema=None)
panel = TrainingPanel(toy2d_trainer(ring8(), "wgan_gp", seed=1, device=device, **dict(TOY2D["wgan_gp"], g_ema=None)),
                      ring8())
panel.n_critic.value = 2
panel.run(20)
panel

# %%
check_close("n_critic the loop uses", panel.trainer.hyper.n_critic, 2, tol=0)
check_close("γ the loop uses (the slider's value)", panel.trainer.hyper.gamma, panel.gamma.value, tol=0)
check_close("steps trained", panel.trainer.iteration, 20, tol=0)

# %% [markdown]
# ## 8 · WGAN-GP on the digits
#
# The DCGAN networks of chapter 04 as a WGAN-GP: the critic's batch norm
# replaced by layer norm (`d_norm="layer"`; the generator keeps its batch norm,
# since the penalty differentiates only the critic), the paper's λ = 10 and
# Adam(0, 0.9). Its five critic steps per generator step, each with a double
# backward pass through the convolutions, make five times the critic work per
# generator step, too much for this budget. So, as on the toy data: one critic step per
# generator step, a higher rate, $4\cdot10^{-4}$, falling linearly, and batches of
# 32. Unlike chapter 04's DCGAN it needs no instance noise. Scored as in chapter
# 04: Fréchet distance and classifier score on as many images as the held-out
# split, against the floor of held-out real digits.

# %% tags=["nbval-ignore-output"]
SIZE = 16
train, heldout, scorer, floor = digits_setup(SIZE, device)  # chapter 04's digits and yardstick
N_SCORE = len(heldout)
print(f"FD floor (held-out real digits, {N_SCORE} images): {floor:.2f}; "
      f"classifier score of held-out real digits: {scorer.score(heldout.images.to(device)):.2f}")

# %% tags=["nbval-ignore-output"]
IMG_FULL = 3000
IMG_STEPS = runtime.steps(IMG_FULL, 60)
IMG_LR, IMG_BATCH = 4e-4, 32
trainer = dcgan_trainer(train, "wgan_gp", seed=0, device=device, d_norm="layer", lr=IMG_LR, batch_size=IMG_BATCH,
                        n_critic=1)
print(f"critic: {type(trainer.disc).__name__}(norm={trainer.disc.norm!r}); {trainer.variant.optimizer} "
      f"{trainer.variant.optimizer_kwargs}; n_critic {trainer.hyper.n_critic}, γ {trainer.hyper.gamma:g}")
tracker = ImageTracker(scorer, N_SCORE, every=max(IMG_STEPS // 6, 1))
t0 = time.perf_counter()
trainer.train(IMG_STEPS, callbacks=[LinearDecay(IMG_LR, IMG_FULL), tracker])
seconds = time.perf_counter() - t0
print(f"{IMG_STEPS} steps in {seconds:.0f} s; FD {tracker.fd[-1]:.2f} (floor {floor:.2f}, "
      f"{tracker.fd[-1] / floor:.2f} × floor), classifier score {tracker.score[-1]:.2f}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1.5]}, layout="constrained")
plots.plot_images(generate(trainer.gen, 36, seed=4), ax=ax0, title=f"WGAN-GP samples, step {IMG_STEPS}")
plots.plot_fd_curve(tracker.steps, tracker.fd, floor, ax=ax1, label="WGAN-GP (this run)",
                    reference={"chapter 04 DCGAN, 10,000 steps": 5.95})
plt.show()

# %% [markdown]
# In 3,000 steps the WGAN-GP reaches an FD of 6.8, 1.9 times the floor, with a
# classifier score of 6.6 (held-out real digits: 9.3); the samples are
# recognisable digits, some of them ambiguous. Chapter 04's DCGAN
# (non-saturating loss, instance noise, the same learning rate and batch) reached
# FD 5.95, 1.7 times the floor, with score 7.05, after 10,000 steps and 131 s,
# and 12.8 in its 1,500-step comparison run (24 s). Each WGAN-GP step costs more,
# about 16 ms in this run against 13 ms, for the double backward pass of the
# penalty, so at under a minute this run sits between those two DCGAN results: on this
# data and budget the gradient penalty does not beat chapter 04's tuned DCGAN.
# What it buys is a critic whose loss means something (an estimate of a
# distance, chapter 05) and a run that needed no instance noise and no batch
# norm in the critic.
#
# ## What to take away
#
# - A differentiable $f$ is 1-Lipschitz exactly when $\lVert\nabla f\rVert \le 1$
#   everywhere, and the optimal critic has gradient norm 1, pointing from fake to
#   real, on the lines between coupled points.
# - WGAN-GP adds $\gamma\,\mathbb E_{\hat x}(\lVert\nabla f(\hat x)\rVert - 1)^2$ at
#   random interpolates: a soft, two-sided version of that constraint, per sample.
#   Soft means biased: a linear critic between $\mathcal N(0,1)$ and
#   $\mathcal N(\Delta, 1)$ estimates $\Delta(1 + \Delta/(2\gamma))$, not $\Delta$.
# - The critic must score each sample on its own: no batch norm (layer norm or
#   none). Adam without momentum, $\beta = (0, 0.9)$.
# - Side by side with clipping, the penalised critic has the right size (norm
#   about 1, gap about $W_1$), bends where the data bends, and keeps its layers'
#   gradients within one order of magnitude, where clipping puts them anywhere
#   from $10^{-17}$ to $10^{6}$ depending on $c$.
# - On a CPU budget the paper's image settings (n_critic 5, λ = 10, rate
#   $10^{-4}$) are too slow for the toy mixtures; one critic step, γ = 0.1 and a
#   rate of $2\cdot10^{-3}$ find every mode of the ring and the grid, where clipping
#   leaves almost no sample on a mode; on the grid, batches of 128 at
#   $3\cdot10^{-3}$ put more than 90 % of the samples on the modes.
# - The generator keeps circling the equilibrium; sampling from a moving
#   average of its weights ($\beta = 0.999$, `g_ema`) changes no step of
#   training and evens out where a run happens to stop.
#
# Next: WGAN-div, which drops the Lipschitz constraint altogether.

# %% [markdown]
# ## Exercises
#
# 1. **Gradient and Lipschitz.** Prove with the mean value theorem that a
#    differentiable $f$ with $\lVert\nabla f\rVert \le 1$ everywhere is
#    1-Lipschitz, and conversely.
# 2. **A linear critic under the penalty.** For $f(x) = w^\top x$ and mean
#    difference $\Delta = \mathbb E_r x - \mathbb E_g x$, minimise
#    $-w^\top\Delta + \gamma(\lVert w\rVert - 1)^2$. Show that
#    $\lVert w^*\rVert = 1 + \lVert\Delta\rVert/(2\gamma)$ and evaluate it for γ = 0.1
#    and $\lVert\Delta\rVert = 1$ (section 3 did this for a 1-D critic). What
#    does that say about the toy recipe's critic?
# 3. **One-sided or two-sided.** Which regions of input space does the
#    two-sided penalty $(\lVert\nabla f\rVert - 1)^2$ constrain that the one-sided
#    $\max(0, \lVert\nabla f\rVert - 1)^2$ does not?
# 4. **The average's memory.** With a fixed decay β = 0.999 and no warm-up, what
#    weight does the moving average give the initial weights after 2,000 updates?
#
# ### Solutions
#
# 1. $f(y) - f(x) = \nabla f(\xi)^\top (y - x)$ for some ξ on the segment, so
#    $|f(y) - f(x)| \le \lVert y - x\rVert$. Conversely, a directional derivative
#    is a limit of difference quotients, each at most 1 in size.
# 2. Along $\Delta$ with $r = \lVert w\rVert$: $-r\lVert\Delta\rVert + \gamma(r - 1)^2$,
#    minimised at $r = 1 + \lVert\Delta\rVert/(2\gamma) = 6$: the estimate
#    overstates $W_1$ sixfold, but its gradient still points the right way,
#    which is all the generator uses.
# 3. Where $\lVert\nabla f\rVert < 1$: the two-sided penalty pushes those norms
#    up to 1, the one-sided one leaves them alone.
# 4. $0.999^{2000} \approx 0.135$: 13.5 % of the average is still the untrained
#    start, which is why the book's average warms up.
