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
# # 01 · The minimax game
#
# A generative model should let us *sample* from a distribution that looks like
# the data. Maximum likelihood would fit it by maximising $\sum_i \log p_G(x_i)$,
# but that needs the density $p_G(x)$. A generator network $G$ that turns noise
# $z \sim p_z$ into samples $x = G(z)$ makes sampling trivial and the density
# intractable: nobody can integrate over all the $z$ that land near $x$.
#
# Goodfellow et al. (2014) avoid the density altogether. A second network, the
# **discriminator** $D(x) \in (0, 1)$, is trained to tell real samples from
# generated ones, and the generator is trained to fool it. The two play the game
#
# $$
# \min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_\text{data}}\big[\log D(x)\big]
#   + \mathbb{E}_{z \sim p_z}\big[\log\big(1 - D(G(z))\big)\big].
# $$
#
# This chapter answers one question: **what does $G$ minimise** when $D$ plays
# perfectly? We derive the optimal discriminator, plug it back into $V$, find the
# Jensen–Shannon divergence, and then watch a real network reach that optimum.
#
# Every claim below is printed beside its expected value; a ✓ means it held, and
# the chapter stops with an error if one does not.

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
import torch

from gan_tutor import divergences as dv
from gan_tutor import losses, plots, runtime
from gan_tutor.checks import check_close, check_less
from gan_tutor.data import GaussianMixture1D, gaussian_1d
from gan_tutor.models import Discriminator
from gan_tutor.train import fit_discriminator
from gan_tutor.widgets import MinimaxExplorer

rt = runtime.setup(seed=0)
device = rt.device
print(rt)

# %% [markdown]
# ## 1 · The optimal discriminator
#
# Fix $G$ and write both expectations as integrals over $x$ (the second one is
# over the generator's distribution $p_G$, the law of $G(z)$):
#
# $$
# V(D, G) = \int \Big( p_\text{data}(x)\log D(x) + p_G(x)\log\big(1 - D(x)\big) \Big)\,dx .
# $$
#
# $D$ can choose its value at every $x$ separately, so we maximise the integrand
# pointwise. With $a = p_\text{data}(x)$, $b = p_G(x)$ and $y = D(x)$:
#
# $$
# f(y) = a\log y + b\log(1-y), \qquad f'(y) = \frac{a}{y} - \frac{b}{1-y} = 0
# \iff y = \frac{a}{a+b}, \qquad f''(y) = -\frac{a}{y^2} - \frac{b}{(1-y)^2} < 0 .
# $$
#
# So the best discriminator for a fixed generator is
#
# $$
# D^*_G(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_G(x)} .
# $$
#
# A quick numerical check of the pointwise argument: maximise $f$ on a fine grid
# of $y$ for a few pairs $(a, b)$ and compare with `divergences.optimal_discriminator`.

# %%
y = torch.linspace(1e-6, 1 - 1e-6, 1_000_001, dtype=torch.float64)
for a, b in [(0.3, 0.1), (1.0, 1.0), (0.05, 0.8)]:
    f = a * torch.log(y) + b * torch.log(1 - y)
    check_close(f"argmax_y f for a={a}, b={b}", y[f.argmax()], dv.optimal_discriminator(a, b), tol=1e-5)

# %% [markdown]
# ## 2 · What the generator minimises
#
# Put $D^*_G$ back into $V$:
#
# $$
# V(D^*_G, G) = \mathbb{E}_{p_\text{data}}\Big[\log\frac{p_\text{data}}{p_\text{data}+p_G}\Big]
#             + \mathbb{E}_{p_G}\Big[\log\frac{p_G}{p_\text{data}+p_G}\Big].
# $$
#
# Divide each denominator by 2 and multiply it back outside the logarithm. With the
# mixture $m = \tfrac12(p_\text{data} + p_G)$:
#
# $$
# V(D^*_G, G) = -\log 4 + \mathrm{KL}\big(p_\text{data} \,\|\, m\big) + \mathrm{KL}\big(p_G \,\|\, m\big)
#             = -\log 4 + 2\,\mathrm{JS}\big(p_\text{data}, p_G\big).
# $$
#
# JS is non-negative and zero only when the two distributions are equal, so the
# generator's best move is $p_G = p_\text{data}$, where $D^* = \tfrac12$ everywhere
# and $V = -\log 4$. **Against a perfect discriminator, the generator minimises
# the Jensen–Shannon divergence.**
#
# Check the identity on an example with a bimodal data distribution and a
# unimodal generator that sits between the modes. `value_at_optimum` computes
# $V(D^*, G)$ from its definition (the first line above), and `js` computes JS by
# numerical integration on a grid; neither uses the other.

# %%
p_data = GaussianMixture1D(means=[-1.5, 1.5], stds=[0.5, 0.5])
p_gen = gaussian_1d(0.0, 1.0)
print("p_data =", p_data)
print("p_G    =", p_gen)

x = torch.linspace(-7, 7, 4001, dtype=torch.float64)
dx = float(x[1] - x[0])
p, q = p_data.density(x), p_gen.density(x)

js_pq = dv.js(p, q, dx)
v_star = dv.value_at_optimum(p, q, dx)
print(f"JS(p_data, p_G) = {js_pq:.4f}")
check_close("V(D*, G)", v_star, -math.log(4) + 2 * js_pq, tol=1e-6)
check_close("V(D*, G) when p_G = p_data", dv.value_at_optimum(p, p, dx), -math.log(4), tol=1e-6)

# %% [markdown]
# Here is $D^*$ for this pair. Where the data is dense and the generator is not,
# $D^*$ is close to 1; where the generator puts mass the data lacks, it drops
# towards 0; where the two densities are equal it is exactly $\tfrac12$.

# %%
d_star = dv.optimal_discriminator(p, q)
ax = plots.plot_discriminator(x, d_star, p_data=p, p_g=q, title="The optimal discriminator")
ax.set_xlim(-4, 4)
plt.show()

# %% [markdown]
# ## 3 · From expectations to a classifier
#
# We cannot integrate over $p_\text{data}$: we only have samples. With $m$ real
# samples $x^{(i)}$ and $m$ generated ones $\tilde x^{(i)} = G(z^{(i)})$ the value
# becomes a Monte Carlo average,
#
# $$
# \hat V = \frac1m\sum_{i=1}^m \log D\big(x^{(i)}\big) + \frac1m\sum_{i=1}^m \log\big(1 - D(\tilde x^{(i)})\big),
# $$
#
# and $-\hat V$ is exactly the **binary cross-entropy** of a classifier with label
# 1 for real and 0 for fake. Training the discriminator is ordinary
# classification: minimise `losses.d_loss_bce(d_real, d_fake)`, which works on the
# logits $l$ ($D = \sigma(l)$) and uses $-\log\sigma(l) = \mathrm{softplus}(-l)$
# so it stays finite where $\sigma(l)$ rounds to 0 or 1.
#
# Two checks: a discriminator that outputs logit 0 ($D = \tfrac12$, it cannot tell)
# has loss $2\ln 2 = \log 4 = -V$ at the optimum of the game; and on arbitrary
# logits the loss is $-\hat V$ written out by hand.

# %%
zeros = torch.zeros(8, device=device)
check_close("BCE of zero logits (= log 4)", losses.d_loss_bce(zeros, zeros), math.log(4), tol=1e-6)

gen = runtime.generator(1)
l_real = torch.randn(64, generator=gen, dtype=torch.float64)
l_fake = torch.randn(64, generator=gen, dtype=torch.float64)
v_hat = torch.log(torch.sigmoid(l_real)).mean() + torch.log(1 - torch.sigmoid(l_fake)).mean()
check_close("d_loss_bce on random logits (= -V̂)", losses.d_loss_bce(l_real, l_fake), -v_hat, tol=1e-9)

# %% [markdown]
# ## 4 · A network finds $D^*$
#
# Now the real thing: a small MLP discriminator, trained with Adam on fresh
# samples from $p_\text{data}$ and the fixed $p_G$ at every step
# (`train.fit_discriminator`). If the theory is right, $\sigma(D(x))$ should land
# on $D^*(x)$ wherever there are samples to learn from, and its value should
# approach $V(D^*, G)$ from below: $D^*$ is the maximiser, so no discriminator
# can do better.

# %% tags=["nbval-ignore-output"]
steps = runtime.steps(full=3000, ci=1000)
disc = Discriminator(in_dim=1, hidden=64, depth=2).to(device)
data_rng, gen_rng = runtime.generator(10, device), runtime.generator(11, device)
history = fit_discriminator(disc,
                            sample_real=lambda n: p_data.sample(n, data_rng, device),
                            sample_fake=lambda n: p_gen.sample(n, gen_rng, device),
                            steps=steps, batch_size=512, lr=2e-3)

with torch.no_grad():
    logits = disc(x.float().to(device)[:, None]).double().cpu()  # (4001,)
d_learned = torch.sigmoid(logits)
v_learned = dv.value(logits, p, q, dx, logits=True)

bulk = (p + q) > 0.05  # where either distribution has samples to learn from
print(f"trained for {steps} steps")
check_less("max |D(x) - D*(x)| where p_data + p_G > 0.05", (d_learned - d_star)[bulk].abs().max(), 0.1)
check_close("V(D, G) of the trained D", v_learned, v_star, tol=0.02)
# Not a test of training: any D scores at most V(D*, G), because D* maximises the integrand at
# every x (section 1). The trained D illustrates it.
check_less("V(D, G) - V(D*, G) (≤ 0 for every D: D* is the pointwise maximiser)", v_learned - v_star, 1e-9)

# %% tags=["nbval-ignore-output"]
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
plots.plot_discriminator(x, d_star, d_learned, p_data=p, p_g=q, ax=left, title="Trained D against D*")
left.set_xlim(-4, 4)
plots.plot_lines(history["step"], {"minibatch loss −V̂": history["loss"]},
                 ax=right, xlabel="discriminator step", ylabel="BCE", title="Training the discriminator")
right.axhline(-v_star, color=plots.COLOURS["d_star"], ls="--", label="−V(D*, G) = log 4 − 2·JS")
right.axhline(math.log(4), color="grey", ls=":", label="log 4 (D cannot tell)")
right.legend(frameon=False)
plt.show()

# %% [markdown]
# The loss starts at $\log 4$ (a random discriminator cannot tell the samples
# apart) and falls to $\log 4 - 2\,\mathrm{JS}$: the discriminator's best loss *is*
# a measurement of the divergence between the two distributions. That is the
# idea the rest of the book keeps returning to: the discriminator is a learned
# estimate of a divergence, and the generator follows its gradient.
#
# ## 5 · Explore: move the generator
#
# Drag the generator's mean and standard deviation. Watch $D^*$ flatten to
# $\tfrac12$ as $p_G$ approaches $p_\text{data} = \mathcal N(0, 1)$, and
# $V(D^*, G)$ fall to $-\log 4 \approx -1.3863$ with JS at 0. The two right-hand
# numbers are computed independently and always agree.

# %% tags=["nbval-ignore-output"]
explorer = MinimaxExplorer(p_data=gaussian_1d(0.0, 1.0), mean=1.5, std=0.6)
explorer

# %% [markdown]
# The explorer can be driven from code too. Put the generator on the data and
# the game reaches its global optimum:

# %%
explorer.mean.value, explorer.std.value = 0.0, 1.0
check_close("JS at p_G = p_data", explorer.values["JS(p_data, p_G)"], 0.0, tol=1e-9)
check_close("V(D*, G) at p_G = p_data", explorer.values["V(D*, G)"], -math.log(4), tol=1e-9)

# %% [markdown]
# ## What to take away
#
# - For a fixed generator the best discriminator is $D^* = p_\text{data} / (p_\text{data} + p_G)$.
# - Against $D^*$, the game's value is $-\log 4 + 2\,\mathrm{JS}(p_\text{data}, p_G)$:
#   training $G$ against a perfect $D$ minimises the Jensen–Shannon divergence,
#   and the optimum is $p_G = p_\text{data}$.
# - In practice $D$ is a classifier trained with binary cross-entropy on samples,
#   and its loss measures the divergence.
#
# The next chapter asks what happens when the two distributions do not overlap
# at all, which, for images, is the usual case. JS will turn out to be the wrong
# ruler.

# %% [markdown]
# ## Exercises
#
# 1. **Derive $D^*$ yourself.** For fixed $a, b > 0$, find the $y \in (0, 1)$
#    that maximises $a \log y + b \log(1 - y)$, and use it pointwise in $x$ to
#    get $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_G(x))$.
# 2. **Bounds.** Using $V(D^*, G) = -\log 4 + 2\,\mathrm{JS}(p_\text{data}, p_G)$
#    and $0 \le \mathrm{JS} \le \log 2$, give the range of $V(D^*, G)$ and say
#    when each end is reached.
# 3. **Explore.** In the explorer, move the generator's mean away from the
#    data. Predict, before you look, the values JS and $V(D^*, G)$ approach as
#    the mean moves further, and check how close the slider's end gets.
# 4. **Where one density is zero.** What is $D^*(x)$ where $p_G(x) = 0$ but
#    $p_\text{data}(x) > 0$, and the other way round? What does that tell the
#    generator about points it never produces?
#
# ### Solutions
#
# 1. The derivative $a/y - b/(1-y)$ vanishes at $y = a/(a+b)$, and the function
#    is concave, so that is the maximum; with $a = p_\text{data}(x)$,
#    $b = p_G(x)$ it is $D^*(x)$.
# 2. $-\log 4 \le V(D^*, G) \le 0$: the minimum when $p_G = p_\text{data}$
#    (JS = 0, $D^* = 1/2$ everywhere), the maximum when the two do not overlap
#    (JS = $\log 2$).
# 3. JS tends to $\log 2 \approx 0.693$ and $V(D^*, G)$ to
#    $-\log 4 + 2\log 2 = 0$ as the overlap of the two densities vanishes;
#    a small σ gets there sooner.
# 4. $D^* = 1$ where only the data lives and $D^* = 0$ where only the generator
#    does. The value function reads $D^*$ only where one of the densities is
#    positive, so a region the generator never visits gives it no signal at all.
