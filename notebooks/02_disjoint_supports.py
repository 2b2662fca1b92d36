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
# # 02 · When JS and KL say nothing: disjoint supports
#
# Chapter 01 showed that a generator trained against a perfect discriminator
# minimises $\mathrm{JS}(p_\text{data}, p_G)$. That sounds like a fine goal, until
# we ask what JS does when the two distributions **do not overlap**.
#
# They usually do not. A 64×64 colour image is a point in $\mathbb{R}^{12288}$,
# but natural images occupy a thin, low-dimensional set inside it (a
# *manifold*), and so does everything a generator can produce: $G$ maps a
# 100-dimensional $z$ into that huge space, so its samples lie on a set of
# dimension at most 100. Two low-dimensional sets in a high-dimensional space
# meet, if at all, in a set of measure zero (Arjovsky & Bottou 2017, §2.1),
# just as two random curves in 3-D space almost surely never touch.
#
# This chapter shows, on the smallest example there is, what that does to the
# divergences and to the generator's gradient, and tries the first remedy.

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

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from gan_tutor import divergences as dv
from gan_tutor import losses, plots, runtime
from gan_tutor.checks import check_close, check_less
from gan_tutor.data import ParallelLine
from gan_tutor.models import Discriminator, InstanceNoise, ParallelLineGenerator
from gan_tutor.train import fit_discriminator, generator_grad_norm
from gan_tutor.widgets import ParallelLinesExplorer

rt = runtime.setup(seed=0)
device = rt.device
print(rt)

# %% [markdown]
# ## 1 · Two parallel lines
#
# The example of Arjovsky, Chintala & Bottou (2017, Example 1): let $Z \sim U[0, 1]$,
# let the data $P_0$ be the law of $(0, Z)$ — uniform on a vertical segment at
# $x = 0$ — and let the generator produce $P_\theta$, the law of $(\theta, Z)$:
# the same segment shifted to $x = \theta$. The generator has a single parameter
# $\theta$, and the right answer is obviously $\theta = 0$.

# %%
gen = runtime.generator(0)
p0 = ParallelLine(0.0).sample(400, gen, device)
p_theta = ParallelLine(0.7).sample(400, gen, device)
plots.plot_points({r"data $P_0$": p0, r"generator $P_\theta$, θ = 0.7": p_theta},
                  lim=((-1.5, 1.5), (-0.25, 1.25)), title="Two distributions on parallel lines")
plt.show()

# %% [markdown]
# For $\theta \neq 0$ the two segments are disjoint: wherever one distribution has
# mass, the other has none. Work out each divergence from its definition:
#
# - **KL:** $\mathrm{KL}(P_0 \,\|\, P_\theta) = \int \log\frac{dP_0}{dP_\theta}\,dP_0 = +\infty$,
#   because $P_0$ puts all its mass where $P_\theta$ has none.
# - **JS:** the mixture $m = \tfrac12(P_0 + P_\theta)$ gives each segment half its
#   mass, so on $P_0$'s support $\log\frac{dP_0}{dm} = \log 2$, and the same for
#   $P_\theta$: $\mathrm{JS} = \tfrac12\log 2 + \tfrac12\log 2 = \log 2$.
# - **Total variation:** $\sup_A |P_0(A) - P_\theta(A)| = 1$ (take $A$ = the segment at 0).
# - **Wasserstein-1** (earth mover's): the cheapest way to move $P_0$ onto $P_\theta$
#   moves every point horizontally by $|\theta|$, so $W_1 = |\theta|$.
#
# At $\theta = 0$ all four are 0. So KL, JS and TV **jump** at 0 and are constant
# everywhere else: they say "different" but not "how far", and their gradient
# with respect to $\theta$ is zero wherever it exists. Only $W_1$ is continuous
# and tells the generator which way to move.
#
# `divergences.parallel_lines(theta)` returns these closed forms. Check $W_1$
# independently with an exact optimal-transport solver (POT) on samples: both
# sets reuse the same draws of $Z$, so the optimal plan is the horizontal shift
# and the sample $W_1$ is $|\theta|$ exactly.

# %%
print(f"{'θ':>6} {'KL':>8} {'JS':>8} {'TV':>8} {'W1':>8}")
for theta in [0.0, 0.01, 0.5, 1.0, -2.0]:
    d = dv.parallel_lines(theta)
    print(f"{theta:6.2f} {d['kl']:8.4f} {d['js']:8.4f} {d['tv']:8.4f} {d['w1']:8.4f}")

for theta in [0.01, 0.5, -2.0]:
    # σ = 0 is log 2 by definition; check it as the limit of the noisy closed form instead (σ = 1e-3:
    # the lines are ≥ 10σ apart, so the deficit is below the overlap e^{-(θ/σ)²/8} ≈ 4e-6 < tol)
    check_close(f"JS at θ = {theta} (σ → 0 limit, σ = 1e-3)", dv.parallel_lines(theta, 1e-3)["js"], math.log(2),
                tol=1e-5)
    a = ParallelLine(0.0).sample(300, generator=7)    # the same seed: the same draws of Z
    b = ParallelLine(theta).sample(300, generator=7)
    check_close(f"W1 from 300 samples at θ = {theta} (POT)", dv.w1_samples(a, b), abs(theta), tol=1e-5)

# %%
thetas = np.linspace(-1.5, 1.5, 301)
curves = [dv.parallel_lines(t) for t in thetas]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
plots.plot_lines(thetas, {"JS": [c["js"] for c in curves], "W1": [c["w1"] for c in curves]},
                 ax=axes[0], xlabel="θ", title="JS jumps to log 2; W1 = |θ|")
axes[0].axhline(math.log(2), color="grey", ls=":")
axes[0].plot([0], [0], "o", color="C0")
plots.plot_lines(thetas, {"TV": [c["tv"] for c in curves]}, ax=axes[1], xlabel="θ",
                 title="TV jumps to 1 (KL jumps to +∞)")
axes[1].plot([0], [0], "o", color="C0")
plt.show()

# %% [markdown]
# ## 2 · A perfect discriminator starves the generator
#
# In a GAN the divergence is not computed; it is *estimated by the discriminator*.
# On disjoint supports a discriminator can be perfect: there is a smooth $D$ that
# is 1 on the data, 0 on the fakes. Then $D(G(z)) \to 0$, and the game's own
# generator loss
#
# $$
# \mathcal{L}_G^\text{sat} = \mathbb{E}_z \log\big(1 - D(G(z))\big), \qquad
# \frac{\partial\, \log(1 - \sigma(l))}{\partial l} = -\sigma(l) = -D(G(z)) \to 0,
# $$
#
# *saturates*: its gradient vanishes as $D$ gets better (Arjovsky & Bottou 2017,
# Theorem 2.4). Goodfellow et al. already suggested the **non-saturating** loss
# $-\mathbb{E}_z \log D(G(z))$, whose gradient with respect to the logit is
# $-(1 - D(G(z))) \to -1$ instead; chapter 03 studies it.
#
# The experiment: the one-parameter generator $G_\theta(z) = (\theta, z)$ at
# $\theta = 0.5$, an MLP discriminator trained longer and longer against it, and
# after each stage the norm of the generator's gradient $\lVert\nabla_\theta \mathcal{L}_G\rVert$
# under both losses (`train.generator_grad_norm`).

# %% tags=["nbval-ignore-output"]
def gradient_vs_discriminator_training(disc, stages, theta=0.5, seed=0):
    """Train disc against G_θ in stages; after each, G's gradient norm under both losses."""
    G = ParallelLineGenerator(theta=theta).to(device)
    rng = runtime.generator(seed, device)
    real = ParallelLine(0.0)
    done, rows = 0, []
    for total in stages:
        if total > done:
            fit_discriminator(disc, lambda n: real.sample(n, rng, device), lambda n: G(G.noise(n, rng)),
                              steps=total - done, batch_size=256, lr=1e-3)
            done = total
        with torch.no_grad():
            d_fake = torch.sigmoid(disc(G(G.noise(4096, rng)))).mean().item()
        rows.append((total, d_fake,
                     generator_grad_norm(G, disc, losses.g_loss_saturating, n=4096, generator=rng),
                     generator_grad_norm(G, disc, losses.g_loss_nonsaturating, n=4096, generator=rng)))
    return rows


last = runtime.steps(full=3000, ci=1500)
stages = [0, 10, 30, 100, 300, 1000, last]
torch.manual_seed(0)
rows = gradient_vs_discriminator_training(Discriminator(in_dim=2).to(device), stages)
print(f"{'D steps':>8} {'mean D(G(z))':>13} {'‖∇θ‖ saturating':>16} {'‖∇θ‖ non-sat.':>14}")
for total, d_fake, g_sat, g_ns in rows:
    print(f"{total:8d} {d_fake:13.2e} {g_sat:16.2e} {g_ns:14.2e}")

sat = [r[2] for r in rows]
check_less("saturating ‖∇θ‖ after the longest training, as a fraction of its peak", sat[-1] / max(sat), 0.01)
check_less("non-saturating ‖∇θ‖: untrained D's value / longest-trained D's", rows[0][3] / rows[-1][3], 1.0)

# %% tags=["nbval-ignore-output"]
ax = plots.plot_lines([r[0] + 1 for r in rows], {"saturating  log(1 − D(G(z)))": sat,
                                                 "non-saturating  −log D(G(z))": [r[3] for r in rows]},
                      xlabel="discriminator steps + 1", ylabel="‖∇θ L_G‖", logy=True,
                      title="The generator's gradient as D approaches perfection")
ax.set_xscale("log")
plt.show()

# %% [markdown]
# The better the discriminator, the less the saturating loss tells the generator:
# after a few thousand steps its gradient is many orders of magnitude below its
# peak, although $\theta = 0.5$ is far from the answer. The non-saturating
# gradient does not vanish (it grows, and with it its variance: Arjovsky & Bottou
# show it becomes unstable instead). This is the dilemma of the original GAN:
# train $D$ too little and it is a poor ruler; train it well and the ruler gives
# no gradient.
#
# ## 3 · A remedy that does not cure the cause: instance noise
#
# If the supports are the problem, make them overlap: add noise
# $\varepsilon \sim \mathcal N(0, \sigma^2 I)$ to **both** real and generated
# samples before the discriminator sees them (Arjovsky & Bottou 2017, §3.1;
# Sønderby et al. 2017). Each line becomes a blurred band; for the parallel lines
# the divergences become those of $\mathcal N(0, \sigma^2)$ and $\mathcal N(\theta, \sigma^2)$
# (the vertical coordinates have the same law in both), so
#
# $$
# \mathrm{KL} = \frac{\theta^2}{2\sigma^2}, \qquad
# \mathrm{TV} = 2\Phi\Big(\frac{|\theta|}{2\sigma}\Big) - 1, \qquad
# \mathrm{JS}\text{ by numerical integration}, \qquad W_1 = |\theta| \text{ still}.
# $$
#
# JS is now smooth in $\theta$, and the more noise, the wider the range of $\theta$
# over which it has a slope.

# %%
sigmas = [0.0, 0.05, 0.1, 0.3, 1.0]
print("JS(P0, Pθ) at θ = 0.5 with instance noise σ:")
js_at_half = []
for sigma in sigmas:
    js_at_half.append(dv.parallel_lines(0.5, sigma)["js"])
    print(f"  σ = {sigma:4.2f}: JS = {js_at_half[-1]:.4f}")
check_less("JS falls as σ grows (σ ≥ 0.05): largest JS(σ_k+1) − JS(σ_k)", max(np.diff(js_at_half[1:])), 0.0)
check_close("KL with σ = 0.3 at θ = 0.5 (= θ²/2σ²)", dv.parallel_lines(0.5, 0.3)["kl"], 0.5**2 / (2 * 0.3**2), tol=1e-12)

# %%
thetas = np.linspace(-2, 2, 161)
ax = plots.plot_lines(thetas, {f"σ = {s}": [dv.parallel_lines(t, s)["js"] for t in thetas] for s in sigmas},
                      xlabel="θ", ylabel="JS(P₀, P_θ)", title="Instance noise makes JS informative again")
ax.axhline(math.log(2), color="grey", ls=":")
plt.show()

# %% [markdown]
# And it does what we wanted for the generator. Repeat the experiment of
# section 2 with the noise in front of the discriminator, `nn.Sequential(InstanceNoise(σ), disc)`:
# real and fake samples now overlap, the discriminator cannot become perfect, and
# the saturating loss keeps its gradient however long $D$ trains.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
noisy_disc = nn.Sequential(InstanceNoise(0.3), Discriminator(in_dim=2)).to(device)
noisy = gradient_vs_discriminator_training(noisy_disc, [30, runtime.steps(full=3000, ci=1000)])
for total, d_fake, g_sat, g_ns in noisy:
    print(f"σ = 0.3, {total:5d} D steps: mean D(G(z)) = {d_fake:.3f}, saturating ‖∇θ‖ = {g_sat:.3f}")
check_less("with noise: peak / final saturating ‖∇θ‖", max(r[2] for r in noisy) / noisy[-1][2], 10.0)

# %% [markdown]
# Why it does not cure the cause: the generator now minimises the divergence
# between the *blurred* distributions, which is a different objective. Too
# little noise and the gradient vanishes again; too much and the blurred
# distributions match long before the sharp ones do, so $\sigma$ has to be
# annealed by hand. The lasting fix is to change the ruler: a distance like
# $W_1$ that is continuous in $\theta$ even on disjoint supports. Chapters 05–07
# build GANs on it.
#
# ## 4 · Explore: θ and σ
#
# Move $\theta$ and watch KL, JS and TV stay flat while $W_1$ changes; then add
# instance noise and watch JS and TV acquire a slope around 0.

# %% tags=["nbval-ignore-output"]
explorer = ParallelLinesExplorer(theta=0.5, sigma=0.0)
explorer

# %% [markdown]
# Driven from code: at $\theta = 0$ every divergence vanishes, and with noise the
# numbers are the closed forms above.

# %%
explorer.theta.value, explorer.sigma.value = 0.0, 0.0
for name, v in explorer.values.items():
    check_close(f"{name} at θ = 0", v, 0.0, tol=1e-12)
explorer.theta.value, explorer.sigma.value = 0.5, 0.3
check_close("KL at θ = 0.5, σ = 0.3 (= θ²/2σ²)", explorer.values["KL(P₀‖P_θ)"], 0.5**2 / (2 * 0.3**2), tol=1e-9)
check_close("W1 at θ = 0.5, σ = 0.3 (= |θ|)", explorer.values["W1(P₀, P_θ)"], 0.5, tol=1e-12)

# %% [markdown]
# ## What to take away
#
# - Distributions on low-dimensional supports almost never overlap; then KL is
#   $+\infty$, JS is $\log 2$ and TV is 1, whatever the distance between them.
# - A discriminator can then be perfect, and the saturating generator loss gets
#   no gradient from it; the non-saturating loss keeps a gradient (chapter 03).
# - Instance noise makes the supports overlap and JS informative, at the price of
#   optimising a blurred objective.
# - $W_1$ is continuous on disjoint supports. Keep it in mind for chapter 05.

# %% [markdown]
# ## Exercises
#
# 1. **The four divergences by hand.** For $P_0$ and $P_\theta$ (uniform on
#    parallel segments a distance $|\theta|$ apart), write down
#    $\mathrm{KL}(P_0\Vert P_\theta)$, $\mathrm{JS}$, $\mathrm{TV}$ and $W_1$ for $\theta = 0$
#    and $\theta \ne 0$. Which of them could guide a generator towards $\theta = 0$?
# 2. **Why the saturating loss starves.** With $D = \sigma(l)$, differentiate
#    $\log(1 - \sigma(l))$ and $-\log \sigma(l)$ with respect to the logit $l$.
#    What happens to each as $D(G(z)) \to 0$?
# 3. **Explore instance noise.** In the explorer, set σ = 0.1 and move θ from 2
#    to 0. Predict the shape of the JS curve against the σ = 0 one, and what
#    happens to it as σ grows.
#
# ### Solutions
#
# 1. At $\theta = 0$ all four are 0. For $\theta \ne 0$: KL $= \infty$,
#    JS $= \log 2$, TV $= 1$, whatever $|\theta|$ is, while $W_1 = |\theta|$. Only
#    $W_1$ changes with θ, so only it has a gradient to follow.
# 2. $\frac{d}{dl}\log(1-\sigma(l)) = -\sigma(l) \to 0$ as $D = \sigma(l) \to 0$:
#    a confident discriminator leaves the saturating generator no gradient.
#    $\frac{d}{dl}\bigl(-\log\sigma(l)\bigr) = -(1 - \sigma(l)) \to -1$: the
#    non-saturating loss keeps a full-size gradient exactly there.
# 3. The noise makes the two distributions overlap, so JS rises smoothly from 0
#    instead of jumping to $\log 2$ at any θ ≠ 0. The larger σ, the wider and
#    flatter the rise, and the smaller its slope at any given θ.
