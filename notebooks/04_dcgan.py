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
# # 04 · DCGAN: convolutional GANs on images
#
# The first three chapters played the game on points in one and two
# dimensions. Images are points too, in a space of $H \times W \times C$
# dimensions, and the multilayer perceptrons of chapter 03 do poorly there. Radford,
# Metz and Chintala (2016), "DCGAN", found a small set of architectural rules
# under which convolutional GANs train reliably. This chapter builds those
# networks, explains batch norm (the rule that matters most), trains a DCGAN on
# handwritten digits on a laptop CPU, and **measures** the samples rather than
# eyeballing them. It then uses the trained networks: walks through the latent
# space, does arithmetic with $z$, reuses the discriminator as a feature
# extractor, and looks at the "improved techniques" of Salimans et al. (2016).

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

import tempfile

import matplotlib.pyplot as plt
import torch

from gan_tutor import plots, runtime
from gan_tutor.checks import check_close, check_less
from gan_tutor.data import DatasetUnavailable, load_images
from gan_tutor.metrics import ImageScorer, digit_classifier, linear_probe
from gan_tutor.models import DCGANDiscriminator, DCGANGenerator, MinibatchDiscrimination
from gan_tutor.penalties import HistoricalAverage
from gan_tutor.recipes import ImageTracker, LinearDecay, dcgan_trainer, generate, sample_from
from gan_tutor.widgets import TrainingPanel

rt = runtime.setup(seed=0)
device = rt.device
print(rt)

# %% [markdown]
# ## 1 · The architecture rules
#
# DCGAN's generator turns a noise vector into an image by *upsampling* it in a
# few learned steps; its discriminator is an ordinary convolutional classifier
# run in reverse. The rules (Radford et al. 2016, §3):
#
# 1. **No pooling.** D downsamples with stride-2 convolutions and G upsamples with
#    stride-2 *transposed* convolutions ("fractionally strided"), so both learn
#    their own spatial resampling.
# 2. **Batch norm** in both networks, except at G's output layer and D's input layer
#    (normalising there made samples oscillate).
# 3. **No fully connected hidden layers.** G's first layer maps $z$ to a $4\times4$
#    map; D's last feature map is flattened straight into one logit.
# 4. **ReLU in G, Tanh at its output** (images live in $[-1, 1]$); **LeakyReLU(0.2) in D**.
# 5. Weights initialised from $\mathcal N(0, 0.02^2)$; Adam with learning rate
#    $2\cdot10^{-4}$ and $\beta_1 = 0.5$.
#
# `gan_tutor.models.DCGANGenerator` and `DCGANDiscriminator` follow them for
# images of side 16, 32 or 64: the number of stride-2 blocks is
# $\log_2(\text{size}/4)$. Here are the shapes a batch of two takes on its way
# through each network, at size 16 with 32 channels in the widest layer:

# %%
def trace_shapes(net: torch.nn.Module, x: torch.Tensor) -> None:
    """Print each layer of ``net.net`` (and D's final ``head``) with the shape of its output for ``x``."""
    layers = [*net.net, *([net.head] if hasattr(net, "head") else [])]
    hooks = [layer.register_forward_hook(
        lambda mod, inp, out: print(f"  {type(mod).__name__:<16} → {tuple(out.shape)}"))
        for layer in layers]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()


gen = DCGANGenerator(z_dim=32, size=16, channels=1, width=32).to(device)
disc = DCGANDiscriminator(size=16, channels=1, width=32).to(device)
print("generator: z", (2, 32))
trace_shapes(gen, gen.noise(2, generator=0))
print("discriminator: x", (2, 1, 16, 16))
trace_shapes(disc, torch.zeros(2, 1, 16, 16, device=device))
print(f"parameters: G {sum(p.numel() for p in gen.parameters()):,}, D {sum(p.numel() for p in disc.parameters()):,}")

# %% [markdown]
# The tests of `gan_tutor.models` check each rule: batch norm is absent from G's
# output and D's input layer and present everywhere else, there is no hidden
# `Linear`, and the initial weights have standard deviation 0.02.

# %%
conv_weights = torch.cat([m.weight.flatten() for m in [*gen.modules(), *disc.modules()]
                          if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
# the std of n draws from N(0, 0.02²) has a standard error of about 0.02 / sqrt(2n)
check_close("std of the initial conv weights", conv_weights.std().item(), 0.02,
            tol=4 * 0.02 / (2 * conv_weights.numel()) ** 0.5)

# %% [markdown]
# ## 2 · Batch norm, and why its scale and shift matter
#
# In training mode, a `BatchNorm2d` layer normalises every channel with the
# statistics of the current batch, then applies a learnable scale $\gamma$ and
# shift $\beta$:
#
# $$\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma\,\hat x + \beta .$$
#
# Normalising keeps every layer's input at a scale the next layer's learning
# rate suits, which is why deep GANs train at all with it. The learnable
# $\gamma$ and $\beta$ matter because they mean the network loses nothing:
# with $\gamma = \sqrt{\sigma_B^2 + \epsilon}$ and $\beta = \mu_B$ the layer is the
# identity, so the network can undo the normalisation wherever that helps.

# %%
bn = torch.nn.BatchNorm2d(3).to(device)
x = 5.0 + 3.0 * torch.randn(16, 3, 4, 4, generator=runtime.generator(1, device), device=device)
y = bn(x)
check_close("per-channel mean after batch norm", y.mean(dim=(0, 2, 3)).abs().max().item(), 0.0, tol=1e-5)
check_close("per-channel std after batch norm", y.std(dim=(0, 2, 3), unbiased=False).mean().item(), 1.0, tol=1e-3)
with torch.no_grad():
    mu, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    bn.weight.copy_((var + bn.eps).sqrt())  # γ = sqrt(σ_B² + ε)
    bn.bias.copy_(mu)                       # β = μ_B
check_close("γ and β set to the batch's std and mean: max |BN(x) - x|", (bn(x) - x).abs().max().item(), 0.0,
            tol=1e-4)

# %% [markdown]
# The price is that the samples of a batch are no longer independent: in
# training mode, one image's output depends on the *other* images in its batch
# through $\mu_B$ and $\sigma_B$. For a generator that means $G(z)$ is not a function
# of $z$ alone. Salimans et al. (2016, §3.4) proposed **virtual batch norm**:
# normalise each sample with the statistics of a fixed *reference* batch (plus
# the sample itself), chosen once. `DCGANGenerator(norm="virtual")` does that:

# %%
z = torch.randn(4, 32, generator=runtime.generator(2, device), device=device)
for norm in ("batch", "virtual"):
    torch.manual_seed(0)
    g = DCGANGenerator(z_dim=32, size=16, width=32, norm=norm).to(device).train()
    with torch.no_grad():
        first = g(z[[0, 1, 2]])[0]   # G(z0) in the batch [z0, z1, z2]
        second = g(z[[0, 3]])[0]     # G(z0) in the batch [z0, z3]
    print(f"norm = {norm:<8}: max |G(z0) in one batch - G(z0) in another| = {(first - second).abs().max():.2e}")
    if norm == "virtual":
        check_close("virtual batch norm: G(z0) does not depend on its batch", (first - second).abs().max().item(),
                    0.0, tol=0.0)

# %% [markdown]
# ## 3 · The data
#
# `gan_tutor.data.load_images(name, size)` returns a data set of (image, label)
# pairs scaled to $[-1, 1]$, for four names. `"digits"` is scikit-learn's bundled
# set of 1,797 handwritten digits (8×8 pixels, here resized to 16×16): it ships
# with the package, so this chapter runs anywhere, offline too, with a fixed
# 80/20 split into training and held-out images. `"mnist"`, `"fashion_mnist"`
# and `"cifar10"` are downloaded by torchvision into your cache folder the first
# time (online only). Offline, the error says what to do instead:

# %% tags=["nbval-ignore-output"]
with tempfile.TemporaryDirectory() as empty:
    try:
        load_images("mnist", size=16, root=empty, download=False)
    except DatasetUnavailable as err:
        print(f"DatasetUnavailable: {err}".replace(empty, "<root>"))

# %%
SIZE = 16
train = load_images("digits", SIZE)
heldout = load_images("digits", SIZE, train=False)
print(train)
print(heldout)
plt.figure(figsize=(5, 5))
plt.imshow(plots.image_grid(train.images[:64], nrow=8))
plt.axis("off")
plt.title("real digits (training split)")
plt.show()

# %% [markdown]
# ## 4 · Measuring samples
#
# Looking at samples tells you whether a GAN has learned *something*; to
# compare runs you need numbers. The **Fréchet Inception Distance** (Heusel et
# al. 2017) fits a Gaussian to a classifier's features of real and of generated
# images and reports the Fréchet distance between the two Gaussians,
#
# $$\mathrm{FD} = \lVert\mu_r - \mu_g\rVert^2 + \operatorname{Tr}\big(\Sigma_r + \Sigma_g - 2(\Sigma_r\Sigma_g)^{1/2}\big).$$
#
# The **Inception Score** (Salimans et al. 2016) rewards confident *and* varied
# predictions, $\exp\big(\mathbb E_x \mathrm{KL}(p(y\mid x)\,\Vert\,p(y))\big)$: 1 for
# images that all look alike, $K$ for confident predictions spread evenly over
# $K$ classes. Inception-v3 knows nothing about 16×16 digits, so we use a small
# CNN that the package trains on the training split once (a few seconds) and
# caches (`gan_tutor.metrics.digit_classifier`).
#
# FD is biased by the number of images, so every set is scored with the same
# count, the size of the held-out split. The **floor** is the FD of held-out real
# digits to the training split: what a perfect generator would score.

# %% tags=["nbval-ignore-output"]
classifier = digit_classifier(SIZE, device=device)
print(f"digit classifier: held-out accuracy {classifier.meta['heldout_accuracy']:.1%}")
scorer = ImageScorer(classifier, train.images.to(device))
N_SCORE = len(heldout)
floor = scorer.floor(heldout.images.to(device))
noise = torch.rand(N_SCORE, 1, SIZE, SIZE, generator=runtime.generator(3, device), device=device) * 2 - 1
print(f"FD, {N_SCORE} images each: held-out real {floor:.2f} (the floor), uniform noise {scorer.fd(noise):.1f}")
print(f"classifier score: held-out real {scorer.score(heldout.images.to(device)):.2f}, "
      f"noise {scorer.score(noise):.2f} (between 1 and 10)")
check_less("the floor is far below noise", floor, scorer.fd(noise) / 10)

# %% [markdown]
# ## 5 · Training a DCGAN on the digits
#
# The one training loop of the book (`gan_tutor.train.Trainer`) with the
# non-saturating loss of chapter 03, and DCGAN networks from
# `recipes.dcgan_trainer`. Two changes from the paper's recipe help on a data
# set this small (1,442 training images): **instance noise** on D's inputs
# (chapter 02), which keeps D from memorising the training images, and a higher
# learning rate, $4\cdot10^{-4}$, decaying linearly. Batches of 32 instead of
# 64 buy twice the steps in the same time on a CPU. We keep a grid of samples
# from a fixed $z$ at a few steps, and the FD and classifier score along the way.

# %% tags=["nbval-ignore-output"]
STEPS = runtime.steps(10000, 150)
EVERY = STEPS // 6
LR, BATCH, NOISE = 4e-4, 32, 0.2  # learning rate (decays linearly), batch size, instance noise σ
trainer = dcgan_trainer(train, seed=0, device=device, lr=LR, batch_size=BATCH, input_noise=NOISE)
tracker = ImageTracker(scorer, N_SCORE, every=EVERY)
grids = {0: generate(trainer.gen, 36, seed=4)}


def keep_grid(t):
    if t.iteration in (STEPS // 12, STEPS // 3, STEPS):
        grids[t.iteration] = generate(t.gen, 36, seed=4)


history = trainer.train(STEPS, callbacks=[LinearDecay(LR, STEPS), tracker, keep_grid])
print(f"{STEPS} steps in {sum(history['seconds']):.0f} s; FD {tracker.fd[-1]:.2f} "
      f"(floor {floor:.2f}), classifier score {tracker.score[-1]:.2f}")

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 3.4))
for ax, (step, images) in zip(axes, grids.items()):
    ax.imshow(plots.image_grid(images, nrow=6))
    ax.set_title(f"step {step}")
    ax.axis("off")
plt.show()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
ax1.plot(tracker.steps, tracker.fd, "o-", label="generated")
ax1.axhline(floor, color="k", ls="--", label="floor (held-out real)")
ax1.set(xlabel="step", ylabel="FD", yscale="log", title="Fréchet distance to the training digits")
ax1.legend()
ax2.plot(tracker.steps, tracker.score, "o-")
ax2.axhline(scorer.score(heldout.images.to(device)), color="k", ls="--", label="held-out real")
ax2.set(xlabel="step", ylabel="score", title="classifier score")
ax2.legend()
plt.show()

# %% [markdown]
# At full length the FD falls to within about twice the floor; the classifier
# score stays below the real digits': some samples are still ambiguous between
# two classes.
#
# ## 6 · The live panel, on images
#
# The same panel as in chapter 03; for images it shows a grid of samples from
# a fixed $z$. Try label smoothing and `n_critic`, or a learning rate ten times
# larger. (It starts from scratch, not from the run above.)

# %% tags=["nbval-ignore-output"]
panel = TrainingPanel(dcgan_trainer(train, seed=1, device=device, lr=LR, batch_size=BATCH, input_noise=NOISE))
panel

# %%
panel.smoothing.value = 0.1
panel.run(5)
check_close("label smoothing the loop uses", panel.trainer.hyper.label_smoothing, 0.1, tol=0)

# %% [markdown]
# ## 7 · Walking the latent space
#
# If the generator has learned a smooth map, a straight line between two noise
# vectors gives a sequence of plausible images that morph into each other,
# rather than a jump or a blur (Radford et al. 2016, §6.1). Each row below goes
# from $G(z_0)$ to $G(z_1)$ along $z_t = (1-t)\,z_0 + t\,z_1$.

# %% tags=["nbval-ignore-output"]
gen = trainer.gen
ends = gen.noise(8, generator=5)
t = torch.linspace(0, 1, 8, device=device)[:, None]
path = torch.cat([sample_from(gen, (1 - t) * ends[2 * r] + t * ends[2 * r + 1]) for r in range(4)])
plt.figure(figsize=(7, 3.8))
plt.imshow(plots.image_grid(path, nrow=8))
plt.axis("off")
plt.show()

# %% [markdown]
# **Arithmetic in $z$.** DCGAN's most quoted figure averages the $z$ vectors of
# a few "smiling woman" samples, subtracts "neutral woman", adds "neutral man"
# and gets smiling men. With digits we can do it with the classifier as the
# judge: average the $z$ of samples it calls a 1 and of samples it calls a 7;
# then move samples of 1s along $\bar z_7 - \bar z_1$ and count how many the
# classifier now calls a 7.

# %% tags=["nbval-ignore-output"]
z_pool = gen.noise(4000, generator=6)
labels = scorer.probs(sample_from(gen, z_pool)).argmax(1).to(device)  # the classifier's verdict on each sample
counts = torch.bincount(labels, minlength=10)
print("generated samples per class:", counts.tolist())
a, b = 1, 7
z_a, z_b = z_pool[labels == a], z_pool[labels == b]
if len(z_a) and len(z_b):
    direction = z_b.mean(0) - z_a.mean(0)
    rows = []
    for s in torch.linspace(0, 1.5, 7):
        rows.append(sample_from(gen, z_a[:8] + s * direction))
        share = (scorer.probs(sample_from(gen, z_a + s * direction)).argmax(1) == b).float().mean().item()
        print(f"z + {s:.2f} (z̄_{b} - z̄_{a}): {share:.0%} classified as {b}")
    plt.figure(figsize=(4, 3.8))
    plt.imshow(plots.image_grid(torch.stack(rows, 1).flatten(0, 1), nrow=7))
    plt.axis("off")
    plt.title(f"each row: a '{a}' moved towards '{b}'")
    plt.show()
else:
    print(f"no generated sample was classified as {a} or as {b}: train longer, or pick another pair "
          f"from the counts above")

# %% [markdown]
# ## 8 · The discriminator as a feature extractor
#
# To tell real from fake, D has to learn what digits look like, without ever
# seeing a label. Radford et al. (2016, §5.1) measured this by training a
# linear classifier on D's features. We do the same: a logistic regression on
# D's last feature map (`disc.features`), trained on the labelled training split
# and scored on the held-out split, next to the same regression on raw pixels
# and on the features of an untrained D.

# %% tags=["nbval-ignore-output"]
def d_features(d, images):
    """D's features of clean images: eval mode, and the instance noise switched off while probing
    (the trained D adds σ = NOISE to its inputs; the untrained one would not, an unfair comparison)."""
    sigma, d.input_noise.sigma = d.input_noise.sigma, 0.0
    d.eval()
    with torch.no_grad():
        feats = d.features(images.to(device)).cpu()
    d.input_noise.sigma = sigma
    d.train()
    return feats


untrained = DCGANDiscriminator(size=SIZE, width=32).to(device)
probe = {
    "raw pixels": linear_probe(train.images, train.labels, heldout.images, heldout.labels),
    "untrained D": linear_probe(d_features(untrained, train.images), train.labels,
                                d_features(untrained, heldout.images), heldout.labels),
    "trained D": linear_probe(d_features(trainer.disc, train.images), train.labels,
                              d_features(trainer.disc, heldout.images), heldout.labels),
}
for name, acc in probe.items():
    print(f"linear probe on {name:<12}: {acc:.1%} held-out accuracy")

# %% [markdown]
# Read the three numbers together. Digits at 16×16 are nearly linearly
# separable in pixel space already, and even an *untrained* convolutional D
# beats the pixels: random convolutional features are surprisingly good on easy
# data. In our full-length run the trained D's features were better again, but
# only a little: this data set is too easy for the probe to show the large
# gains the paper found on CIFAR-10 and SVHN. A fair test of "unsupervised
# features" needs a harder task (try `load_images("cifar10")` online) and a
# baseline of random features, which papers often leave out. (Both Ds see
# clean images here: `d_features` switches the trained D's instance noise off.)
#
# ## 9 · The "improved techniques"
#
# Salimans et al. (2016) collected several tricks for a game that otherwise
# oscillates or collapses. Each is a building block here:
#
# | technique | what it does | in `gan_tutor` |
# |---|---|---|
# | feature matching | G matches the mean of D's features on real data, $\lVert \mathbb E f(x) - \mathbb E f(G(z))\rVert^2$, instead of fooling D's output | variant `"gan_fm"`, `losses.g_loss_feature_matching` |
# | minibatch discrimination | D sees how close each sample is to the others in its batch, so a collapsed batch is easy to spot | `models.MinibatchDiscrimination`, `minibatch_features=` |
# | historical averaging | penalise parameters for straying from their running average, $\lVert\theta - \tfrac1t\sum_i\theta_i\rVert^2$ | `penalties.HistoricalAverage` |
# | one-sided label smoothing | real target $1-\varepsilon$, fake target 0 (chapter 03) | `Hyper.label_smoothing` |
# | virtual batch norm | batch statistics from a fixed reference batch (section 2) | `DCGANGenerator(norm="virtual")` |
#
# Minibatch discrimination in one picture: the layer appends, for each sample,
# $o(x_i)_b = \sum_j \exp(-\lVert M_{i,b} - M_{j,b}\rVert_1)$. A batch of identical
# samples (a collapsed generator) gives the batch size in every entry; a
# varied batch gives values near 1 (the sample itself).

# %%
torch.manual_seed(0)
mbd = MinibatchDiscrimination(in_features=64, out_features=4, kernel_dims=5).to(device)
collapsed = torch.ones(8, 64, device=device)
varied = 10 * torch.randn(8, 64, generator=runtime.generator(7, device), device=device)
with torch.no_grad():
    o_collapsed, o_varied = mbd(collapsed)[:, 64:], mbd(varied)[:, 64:]
check_close("collapsed batch of 8: o(x)", o_collapsed.mean().item(), 8.0, tol=1e-5)
check_close("varied batch: o(x) (only the sample itself is close)", o_varied.mean().item(), 1.0, tol=0.05)

# %% [markdown]
# Historical averaging in numbers: after parameters $\theta_1, \theta_2, \theta_3$ the
# average is their mean, and the penalty's gradient $2(\theta - \bar\theta)$ pulls
# the parameters back towards it.

# %%
lin = torch.nn.Linear(1, 1, bias=False).to(device)
history_avg = None
for value in (1.0, 2.0, 3.0):
    with torch.no_grad():
        lin.weight.fill_(value)
    if history_avg is None:
        history_avg = HistoricalAverage(lin)  # the parameters at construction are the first snapshot
    else:
        history_avg.update()
check_close("average of 1, 2, 3", history_avg.average()["weight"].item(), 2.0, tol=1e-12)
check_close("penalty (3 - 2)²", history_avg.penalty().item(), 1.0, tol=1e-12)

# %% [markdown]
# **Feature matching and minibatch discrimination in training.** Three short
# runs with the same data, starting point and budget, scored the same way. A
# comparison at this length says more about speed than about the end point.
# Salimans et al. found that feature matching trains stably and helps
# semi-supervised classification but gives less convincing samples than
# minibatch discrimination; watch whether the FD agrees.

# %% tags=["nbval-ignore-output"]
SHORT = runtime.steps(1500, 50)
same = dict(seed=0, device=device, lr=LR, batch_size=BATCH, input_noise=NOISE)
runs = {
    "non-saturating (baseline)": dcgan_trainer(train, **same),
    "feature matching": dcgan_trainer(train, "gan_fm", **same),
    "minibatch discrimination": dcgan_trainer(train, minibatch_features=16, **same),
}
results = {}
for name, tr in runs.items():
    h = tr.train(SHORT, callbacks=[LinearDecay(LR, SHORT)])
    images = generate(tr.gen, N_SCORE)
    results[name] = (scorer.fd(images), scorer.score(images), sum(h["seconds"]))
    print(f"{name:<27}: FD {results[name][0]:6.2f}, classifier score {results[name][1]:.2f}, "
          f"{results[name][2]:.0f} s for {SHORT} steps")

fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.4))
for ax, (name, tr) in zip(axes, runs.items()):
    ax.imshow(plots.image_grid(generate(tr.gen, 36, seed=4), nrow=6))
    ax.set_title(name, fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## What to take away
#
# - DCGAN's rules (strided convolutions, batch norm except at G's output and
#   D's input, no hidden dense layers, ReLU/Tanh in G and LeakyReLU in D) made
#   convolutional GANs train reliably. One class per network covers every
#   image size.
# - Batch norm normalises with batch statistics, and its learnable $\gamma$, $\beta$
#   can undo that; the catch is that samples in a batch influence each other,
#   which virtual batch norm removes.
# - Sample quality is measured: FD against a real-vs-real floor with the same
#   number of images, and a classifier score, both in the feature space of a
#   classifier trained on the data.
# - A trained generator's latent space is smooth enough to interpolate and do
#   arithmetic in; its discriminator's features carry class information it was
#   never told about (on these easy digits, only a little more than a random
#   network's).
# - Feature matching, minibatch discrimination, historical averaging, one-sided
#   label smoothing and virtual batch norm are all available as building blocks.
#
# Next: the Wasserstein GAN, which replaces the JS divergence behind all of this
# with a distance that still says something when the supports do not overlap.

# %% [markdown]
# ## Exercises
#
# 1. **Batch norm undoes a rescaling.** Show that batch-normalising
#    $a\,h + b$ (for scalars $a > 0$, $b$, the same for the whole batch) gives
#    the same output as batch-normalising $h$. What does that say about a bias
#    in the layer before a batch norm?
# 2. **The floor is not a limit.** The FD floor is what *fresh* real images
#    score against the training split. What would a generator that outputs
#    copies of training images score, and how would you notice it from the
#    ratio FD / floor?
# 3. **Latent arithmetic.** In the z-arithmetic cell, replace the pair of
#    digits with two others and predict how the share classified as the target
#    digit changes along the path.
# 4. **Panel.** Raise the learning rate tenfold and press Train. What do you
#    expect to see in the grid of samples, and why does batch norm not prevent
#    it?
#
# ### Solutions
#
# 1. The batch mean of $ah + b$ is $a\mu + b$ and its standard deviation $a s$, so
#    the normalised value is $(ah + b - a\mu - b)/(as) = (h - \mu)/s$. A bias
#    before batch norm is removed by the mean subtraction: it is wasted
#    (batch norm's own shift β replaces it).
# 2. Copies of training images have FD close to 0 against the training split,
#    below the floor: FD / floor < 1 signals memorisation, not a perfect
#    generator.
# 3. The share should rise from near 0 towards the share at the target's class
#    mean, as in the printed run; how steeply depends on how separated the two
#    classes' mean codes are.
# 4. The samples degrade or oscillate between looks (the updates overshoot).
#    Batch norm fixes the scale of activations, not the size of the weight
#    updates, so it cannot stop a too-large step.
