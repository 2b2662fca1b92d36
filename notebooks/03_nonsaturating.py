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
# # 03 · The non-saturating loss (and label smoothing)
#
# Chapter 02 ended with a dilemma: a good discriminator makes the game's own
# generator loss $\log(1 - D(G(z)))$ go flat. Goodfellow et al. (2014, §3) had
# already proposed the fix that every GAN since has used in some form: let the
# generator *maximise* $\log D(G(z))$ instead. This chapter looks at what that
# changes, what it costs (mode dropping), and at two training habits that came
# with it: several discriminator steps per generator step, and one-sided label
# smoothing. Then we train both versions on the 2-D mixtures and count modes.

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

from gan_tutor import divergences as dv
from gan_tutor import losses, plots, runtime
from gan_tutor.checks import check_close, check_less
from gan_tutor.data import GaussianMixture1D, gaussian_1d, grid25, ring8
from gan_tutor.models import Discriminator
from gan_tutor.recipes import LinearDecay, ModeTracker, toy2d_trainer
from gan_tutor.train import fit_discriminator
from gan_tutor.widgets import TrainingPanel

rt = runtime.setup(seed=0)
device = rt.device
print(rt)

# %% [markdown]
# ## 1 · Two losses with the same fixed point
#
# Both generator losses push $D(G(z))$ up; they differ in *where* they push hard.
# Write $D = \sigma(l)$ with the discriminator's logit $l$:
#
# | | loss (minimised by G) | gradient w.r.t. the logit |
# |---|---|---|
# | saturating | $\log(1 - D(G(z)))$ | $-\sigma(l) = -D(G(z))$ |
# | non-saturating | $-\log D(G(z))$ | $-(1 - \sigma(l)) = -(1 - D(G(z)))$ |
#
# Early in training the fakes are bad and $D(G(z)) \approx 0$: the saturating
# gradient is $\approx 0$ exactly when the generator needs it most, while the
# non-saturating one is $\approx -1$. Near the end, $D(G(z)) \approx \tfrac12$ and
# the two agree. The gradients below come from autograd through
# `losses.g_loss_saturating` and `losses.g_loss_nonsaturating`.

# %%
d_of_fake = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
logits = torch.logit(d_of_fake).requires_grad_()
n = len(logits)
grad_sat, = torch.autograd.grad(losses.g_loss_saturating(logits) * n, logits)  # ×n: per-sample, not the mean
grad_ns, = torch.autograd.grad(losses.g_loss_nonsaturating(logits) * n, logits)

at = int(torch.argmin((d_of_fake - 0.01).abs()))  # D(G(z)) = 0.01: a confident discriminator
check_close("saturating gradient at D(G(z)) = 0.01 (= -D)", grad_sat[at], -0.01, tol=1e-9)
check_close("non-saturating gradient at D(G(z)) = 0.01 (= -(1 - D))", grad_ns[at], -0.99, tol=1e-9)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
with torch.no_grad():
    plots.plot_lines(d_of_fake, {"saturating  log(1 − D)": torch.log1p(-d_of_fake),
                                 "non-saturating  −log D": -torch.log(d_of_fake)},
                     ax=left, xlabel="D(G(z))", ylabel="generator loss", title="The two generator losses")
plots.plot_lines(d_of_fake, {"saturating": grad_sat, "non-saturating": grad_ns}, ax=right,
                 xlabel="D(G(z))", ylabel="∂ loss / ∂ logit", title="... and their gradients")
plt.show()

# %% [markdown]
# ## 2 · What the non-saturating generator minimises
#
# Against the optimal discriminator $D^*$ of the current generator $p_{G_0}$,
# Arjovsky & Bottou (2017, Theorem 2.5) show that the non-saturating update
# follows the gradient of
#
# $$
# \mathrm{KL}\big(p_G \,\|\, p_\text{data}\big) - 2\,\mathrm{JS}\big(p_\text{data}, p_G\big)
# \qquad\text{at } p_G = p_{G_0}.
# $$
#
# Sketch: $-\log D^* = \log\frac{p_\text{data} + p_{G_0}}{p_\text{data}}$; differentiate
# $\mathbb{E}_{p_G}[-\log D^*]$ at $p_G = p_{G_0}$ and compare with the derivatives
# of KL and JS: the extra terms cancel because $\int \nabla p_G = 0$.
#
# Check it numerically: a bimodal $p_\text{data}$, a Gaussian generator
# $p_G = \mathcal{N}(\mu, 0.8^2)$ at $\mu_0 = 0.7$, $D^*$ frozen at $\mu_0$, and the
# derivative in $\mu$ of both sides by central differences
# (`divergences.generator_objective`, `kl`, `js`).

# %%
x = torch.linspace(-7, 7, 8001, dtype=torch.float64)
dx = float(x[1] - x[0])
p_data = GaussianMixture1D(means=[-2.0, 2.0], stds=[0.4, 0.4])
p = p_data.density(x)
mu0, h = 0.7, 1e-4
d_star0 = dv.optimal_discriminator(p, gaussian_1d(mu0, 0.8).density(x))


def nonsaturating(mu):
    return dv.generator_objective("nonsaturating", gaussian_1d(mu, 0.8).density(x), d_star0, dx)


def reverse_kl_minus_2js(mu):
    q = gaussian_1d(mu, 0.8).density(x)
    return dv.kl(q, p, dx) - 2 * dv.js(p, q, dx)


lhs = (nonsaturating(mu0 + h) - nonsaturating(mu0 - h)) / (2 * h)
rhs = (reverse_kl_minus_2js(mu0 + h) - reverse_kl_minus_2js(mu0 - h)) / (2 * h)
check_close("d/dμ E[−log D*]  vs  d/dμ [KL(p_G‖p_data) − 2·JS]", lhs, rhs, tol=1e-5)

# %% [markdown]
# ### Why that drops modes
#
# The **reverse** KL, $\mathrm{KL}(p_G\|p_\text{data}) = \mathbb{E}_{p_G}\log\frac{p_G}{p_\text{data}}$,
# charges a lot for generated samples where there is no data
# ($p_\text{data} \to 0$ under $p_G > 0$) and almost nothing for data that the
# generator never produces ($p_G \to 0$). A generator that sits on one mode and
# ignores the other pays only $\log 2$; one that spreads between the modes pays
# dearly. The forward KL, which maximum likelihood minimises, is the opposite.
#
# Slide a narrow Gaussian $\mathcal N(\mu, 0.4^2)$ across a two-mode $p_\text{data}$
# and see where each objective is smallest:

# %%
mus = np.linspace(-3, 3, 601)
curves = {"forward KL(p_data‖p_G)": [], "reverse KL(p_G‖p_data)": [], "JS": [], "reverse KL − 2·JS": []}
for mu in mus:
    q = gaussian_1d(float(mu), 0.4).density(x)
    js_pq = dv.js(p, q, dx)
    curves["forward KL(p_data‖p_G)"].append(dv.kl(p, q, dx))
    curves["reverse KL(p_G‖p_data)"].append(dv.kl(q, p, dx))
    curves["JS"].append(js_pq)
    curves["reverse KL − 2·JS"].append(curves["reverse KL(p_G‖p_data)"][-1] - 2 * js_pq)
for name, values in curves.items():
    print(f"{name:>24}: smallest at |μ| = {abs(mus[int(np.argmin(values))]):.2f}")
check_close("reverse KL: a generator on one mode pays log 2", min(curves["reverse KL(p_G‖p_data)"]),
            math.log(2), tol=1e-3)

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
plots.plot_lines(mus, {k: np.minimum(v, 6) for k, v in curves.items()}, ax=ax, xlabel="generator mean μ",
                 ylabel="objective (capped at 6)", title="p_data: modes at ±2; p_G = N(μ, 0.4²)")
plt.show()

# %% [markdown]
# Forward KL wants the generator *between* the modes, covering both; reverse KL
# wants it *on* one of them. The $-2\,\mathrm{JS}$ term favours overlap with the
# data but cannot outweigh the reverse KL: the non-saturating GAN is
# **mode-seeking**, and mode dropping (or collapse onto a few modes) is its
# characteristic failure.
#
# ## 3 · $k$ discriminator steps per generator step
#
# Algorithm 1 of Goodfellow et al. takes $k$ discriminator steps, then one
# generator step. The discriminator is the ruler: it should be close to $D^*$
# when the generator reads it. The generator should move slowly, so that the
# ruler stays valid. In `gan_tutor` this is `Hyper.n_critic` (the name WGAN
# made standard), read by the one training loop at every step; the panel below
# lets you change it while a model trains.
#
# ## 4 · Label smoothing: one-sided, never two-sided
#
# Salimans et al. (2016) replace the discriminator's targets 1 and 0 by smoothed
# values $\alpha$ (real) and $\beta$ (fake). Maximising pointwise, as in chapter 01,
#
# $$
# p_\text{data}\big[\alpha\log D + (1-\alpha)\log(1-D)\big] + p_G\big[\beta\log D + (1-\beta)\log(1-D)\big]
# \;\Longrightarrow\;
# D^*_{\alpha,\beta} = \frac{\alpha\,p_\text{data} + \beta\,p_G}{p_\text{data} + p_G}.
# $$
#
# With $\beta = 0$ (**one-sided**, $\alpha = 1 - \varepsilon$) the optimum is just
# $(1-\varepsilon)D^*$: the discriminator is less confident, its gradients gentler,
# and nothing else changes. With $\beta > 0$ (**two-sided**) $p_G$ enters the
# numerator: where the generator puts samples and the data has none, $D^*$ sits
# at $\beta$ instead of 0 and is *flat*, so those bad samples feel no pull toward
# the data. First a check of the formula against a brute-force maximisation:

# %%
y = torch.linspace(1e-6, 1 - 1e-6, 1_000_001, dtype=torch.float64)
alpha, beta = 0.9, 0.1
for a, b in [(0.3, 0.1), (0.0, 0.5), (0.2, 0.0)]:  # (p_data(x), p_G(x)) at one point x
    objective = a * (alpha * torch.log(y) + (1 - alpha) * torch.log(1 - y)) \
        + b * (beta * torch.log(y) + (1 - beta) * torch.log(1 - y))
    check_close(f"argmax D at p_data={a}, p_G={b}", y[objective.argmax()],
                dv.optimal_discriminator(a, b, real_label=alpha, fake_label=beta), tol=1e-5)

# %% [markdown]
# Now a generator with a bad mode at $x = 4$, where there is no data:

# %%
p_real = gaussian_1d(0.0, 1.0)
p_fake = GaussianMixture1D(means=[0.5, 4.0], stds=[1.0, 0.5])
x1 = torch.linspace(-5, 7, 2401, dtype=torch.float64)
p1, q1 = p_real.density(x1), p_fake.density(x1)
one_sided = dv.optimal_discriminator(p1, q1, real_label=0.9, fake_label=0.0)
two_sided = dv.optimal_discriminator(p1, q1, real_label=0.9, fake_label=0.1)
at4 = int(torch.argmin((x1 - 4.0).abs()))
check_close("one-sided D* at the bad mode x = 4 (→ 0: push the samples away)", one_sided[at4], 0.0, tol=1e-3)
check_close("two-sided D* at the bad mode x = 4 (→ β = 0.1: no push)", two_sided[at4], 0.1, tol=1e-3)

fig, ax = plt.subplots(figsize=(7, 3.6))
plots.plot_lines(x1, {"one-sided (α = 0.9, β = 0)": one_sided, "two-sided (α = 0.9, β = 0.1)": two_sided},
                 ax=ax, xlabel="x", ylabel="D*(x)", title="Smoothed optimal discriminators")
plots.overlay_densities(ax, x1, p1, q1, loc="center right")
plt.show()

# %% [markdown]
# A trained discriminator with one-sided smoothing $\varepsilon = 0.1$ lands on
# $0.9\,D^*$, as predicted (`fit_discriminator(..., label_smoothing=0.1)`):

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
disc = Discriminator(in_dim=1).to(device)
real_rng, fake_rng = runtime.generator(1, device), runtime.generator(2, device)
fit_discriminator(disc, lambda m: p_real.sample(m, real_rng, device), lambda m: p_fake.sample(m, fake_rng, device),
                  steps=runtime.steps(full=3000, ci=1000), batch_size=512, lr=2e-3, label_smoothing=0.1)
with torch.no_grad():
    trained = torch.sigmoid(disc(x1.float().to(device)[:, None])).double().cpu()
bulk = (p1 + q1) > 0.05
check_less("max |D(x) − 0.9·D*(x)| where p_data + p_G > 0.05", (trained - one_sided)[bulk].abs().max(), 0.1)
# Smoothed or not? The unsmoothed D* differs from 0.9·D* by 0.1·D* (about 0.05 on average over the
# bulk), so a D that learned 0.9·D* is several times closer to it than to D*.
plain = dv.optimal_discriminator(p1, q1)
check_less("mean |D − 0.9·D*| × 3, against mean |D − D*|", 3 * (trained - one_sided)[bulk].abs().mean(),
           (trained - plain)[bulk].abs().mean())

# %% [markdown]
# ## 5 · Saturating vs non-saturating on the 2-D mixtures
#
# The standard test of mode coverage (VEEGAN, PacGAN): a ring of 8 Gaussians of
# radius 1 and std 0.01, and a 5×5 grid with spacing 2 and std 0.05. Six times
# per run we score 2,500 samples (`metrics.mode_stats`): a sample is *high
# quality* within 3 std of its nearest mode, a mode is *captured* if one
# high-quality sample is nearest to it, and the *reverse KL* compares the
# histogram of high-quality samples over the modes with the uniform one
# (0 = perfectly balanced, $\log K$ = everything on one mode).
#
# Both variants use the same recipe (`recipes.toy2d_trainer`: MLPs of three
# hidden layers of 128 units, Adam, batch 256, learning rate $10^{-3}$ decaying
# linearly); only the generator loss differs. The theory of chapter 02 is about
# a discriminator that *is* ahead, so give it $k = 5$ steps per generator step
# and watch the saturating generator starve.

# %% tags=["nbval-ignore-output"]
full_steps = 1200
steps = runtime.steps(full=full_steps, ci=400)  # CI mode stops early on the same schedule
LR, K = 1e-3, 5  # learning rate (decays linearly to 1 %), discriminator steps per generator step
mixtures = {"ring8": ring8(), "grid25": grid25()}
runs = {}
for data_name, data in mixtures.items():
    for variant in ("gan_saturating", "gan"):
        trainer = toy2d_trainer(data, variant, seed=0, device=device, lr=LR, n_critic=K)
        tracker = ModeTracker(data, every=steps // 6)
        trainer.train(steps, callbacks=[LinearDecay(LR, full_steps), tracker])
        runs[data_name, variant] = (trainer, tracker)
        print(f"{data_name:>6} {trainer.variant.name:>22}, k = {K}: {tracker.stats[-1]}")

sat, ns = (runs["ring8", v][1].stats[-1].modes for v in ("gan_saturating", "gan"))
check_less("ring8: modes captured, saturating minus non-saturating", sat - ns, -1)

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(2, 3, figsize=(13, 8), layout="constrained")
for row, (data_name, data) in enumerate(mixtures.items()):
    plots.plot_lines(runs[data_name, "gan"][1].steps,
                     {f"{runs[data_name, v][0].variant.name}": [s.modes for s in runs[data_name, v][1].stats]
                      for v in ("gan_saturating", "gan")},
                     ax=axes[row, 0], xlabel="step", ylabel="modes captured", title=f"{data_name}: modes over time")
    axes[row, 0].axhline(len(data.centres), color="grey", ls=":")
    real = data.sample(1000, generator=5)
    for col, v in enumerate(("gan_saturating", "gan"), start=1):
        gen = runs[data_name, v][0].gen.eval()
        with torch.no_grad():
            fake = gen(gen.noise(1000, generator=6)).cpu()
        plots.plot_points({"data": real, "generated": fake}, ax=axes[row, col], size=3,
                          title=f"{data_name}: {runs[data_name, v][0].variant.name}")
plt.show()

# %% [markdown]
# On the ring the saturating generator loses its way: the discriminator,
# trained five times as much, rejects its samples confidently and the loss gives
# almost nothing to follow (chapter 02), while the non-saturating generator finds
# all eight modes. On the grid the gap is smaller. How many modes, and how
# precisely, depends on the run (exercise 3 below changes `K`).
#
# ## 6 · The live training panel
#
# Train a non-saturating GAN on the ring yourself. **Train** starts it, the
# sliders act at the next step: try label smoothing $\varepsilon$ (one-sided) and
# $k$ = `n_critic`; there is no γ slider because this variant has no penalty (it
# will matter from chapter 06 on). The background shows $D(x)$: red where it says
# "real", blue where it says "fake". On Colab, **Train** runs the number of steps
# in its box and then stops, and the sliders act between clicks (Colab shows a
# widget's updates only while a cell or a click is running).

# %% tags=["nbval-ignore-output"]
ring = ring8()
panel = TrainingPanel(toy2d_trainer(ring, "gan", seed=1, device=device), ring)
panel

# %% [markdown]
# The panel can be driven from code as well (this is how the tests use it):
# set a slider, train a few steps synchronously, read the state.

# %%
panel.reset()
panel.smoothing.value = 0.1
panel.n_critic.value = 2
panel.run(20)
check_close("label smoothing the loop uses", panel.trainer.hyper.label_smoothing, 0.1, tol=0)
check_close("n_critic the loop uses", panel.trainer.hyper.n_critic, 2, tol=0)
check_close("steps trained", panel.trainer.iteration, 20, tol=0)

# %% [markdown]
# ## What to take away
#
# - The non-saturating loss $-\log D(G(z))$ has the same fixed point as the
#   game's own loss and a strong gradient where the fakes are bad.
# - Against $D^*$ it follows $\mathrm{KL}(p_G\|p_\text{data}) - 2\,\mathrm{JS}$: the reverse KL makes
#   it mode-seeking, so GANs drop modes.
# - Smooth only the real label: with targets $\alpha, \beta$ the optimal
#   discriminator is $(\alpha p_\text{data} + \beta p_G)/(p_\text{data} + p_G)$, and $\beta > 0$
#   stops pulling bad samples toward the data.
#
# Next: better architectures (DCGAN, chapter 04), then a better ruler (WGAN,
# chapters 05–07).

# %% [markdown]
# ## Exercises
#
# 1. **Smoothed optimal discriminators.** With real labels $\alpha$ and fake labels
#    $\beta$, the discriminator maximises
#    $\mathbb E_{p}[\alpha\log D + (1-\alpha)\log(1-D)] + \mathbb E_{q}[\beta\log D + (1-\beta)\log(1-D)]$.
#    Show that $D^* = (\alpha p + \beta q)/(p + q)$, and explain why β > 0 is
#    harmful where $p = 0$.
# 2. **The minimised divergence.** The non-saturating generator follows
#    $\mathrm{KL}(p_G\Vert p_\text{data}) - 2\,\mathrm{JS}$. Which of the two terms
#    punishes a generator that drops a mode, and which one punishes samples
#    between modes?
# 3. **A discriminator that is not ahead.** In section 5, set `K = 1` and rerun
#    that cell (comment out its last check first: it asserts the gap at
#    $k = 5$). Predict how the gap in ring modes between the two losses changes,
#    and why, using exercise 2 of chapter 02.
# 4. **Panel.** Set `n_critic` to 5 and press Train, then try label smoothing
#    ε = 0.3. Predict the effect of ε on the background colour far from the data.
#
# ### Solutions
#
# 1. Pointwise, the objective is $(\alpha p + \beta q)\log D + ((1-\alpha)p + (1-\beta)q)\log(1-D)$,
#    which exercise 1 of chapter 01 maximises at the stated $D^*$. Where $p = 0$,
#    $D^* = \beta$: a fake sample far from the data still gets $D = \beta > 0$, so
#    the generator is never pushed out of such regions. One-sided smoothing
#    ($\beta = 0$) keeps $D^* = 0$ there.
# 2. Reverse KL weighs $\log(p_G/p_\text{data})$ by $p_G$: samples where
#    $p_\text{data}$ is tiny (between modes) cost a lot, a missing mode costs
#    nothing. Neither term penalises dropping a mode strongly, which is why the
#    loss drops modes.
# 3. The gap should shrink: with one discriminator step per generator step, $D$
#    rarely becomes confident enough for $\log(1 - D)$ to saturate, so the
#    saturating generator keeps a usable gradient.
# 4. One-sided smoothing caps $D$ at $1 - \varepsilon$ on the data; far from it
#    both losses still push $D$ to 0, so the background there stays "fake".
