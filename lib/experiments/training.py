"""Batch norm in training, on the digits (chapter 9): the papers' claims, at small scale.

Each function trains small networks of :mod:`lib.training` and returns plain
numbers in a dict; :mod:`lib.plots` draws them. Every run is deterministic
for its seeds. Results are memoised and returned read-only, so that the page,
its widget and its tests share one run of each experiment.

:func:`lr_sweep`
    final test accuracy and loss against the learning rate (Ioffe & Szegedy 2015);
:func:`gradient_norms`
    the weight-gradient norm of every layer of a deep plain network during training;
:func:`noisy_bn`
    batch norm with a time-varying covariate shift injected after every
    batch-norm layer (Santurkar et al. 2018, section 2);
:func:`covariate_shift`
    Santurkar et al.'s measure of internal covariate shift: how much a
    layer's gradient changes when the layers below it take their step;
:func:`landscape`
    their smoothness measures: the spread of the loss and the change of the
    gradient along the gradient direction.
"""
from __future__ import annotations

import copy

import numpy as np

from lib import training as T
from lib.experiments.args import cached, frozen, int_arg, real_arg

__all__ = ["LEARNING_RATES", "STEP_SIZES", "lr_sweep", "gradient_norms", "noisy_bn",
           "covariate_shift", "landscape", "lr_claims", "depth_claims", "noisy_claims",
           "ics_claims", "landscape_claims"]

LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The learning rates of :func:`lr_sweep`: three decades."""

STEP_SIZES = tuple(np.round(np.linspace(0.05, 0.5, 10), 3))
"""The step sizes along the gradient of :func:`landscape`."""


def _seeds(seeds):
    return tuple(int_arg("seeds[k]", s, 0) for s in seeds)


def _run(depth, width, batchnorm, lr, steps, seed, noise=None, hook=None, every=10):
    """One training run; a divergence is a result (accuracy of the untrained chance level)."""
    net = T.make_net(depth, width, batchnorm=batchnorm, noise=noise, seed=seed)
    try:
        out = T.train(net, T.digits(), lr=lr, steps=steps, seed=seed, hook=hook, every=every)
        out["diverged"] = None
    except T.Diverged as err:
        out = {"loss": None, "records": [], "test_loss": np.nan, "test_accuracy": 0.1,
               "diverged": f"step {err.step}, layer {err.layer}"}
    return out


# --------------------------------------------------------------------------
# 1. learning-rate tolerance
# --------------------------------------------------------------------------

@cached(4)
def lr_sweep(lrs=LEARNING_RATES, *, depth=3, width=64, steps=300, seeds=(0, 1, 2)):
    """Test accuracy and loss after ``steps`` of SGD, for each learning rate, with and without BN.

    Returns
    -------
    dict with ``lr``; for ``"bn"`` and ``"plain"`` each: ``accuracy`` and
    ``loss`` (mean over seeds), ``accuracy_err`` (standard error over seeds),
    ``curves`` (the mean training loss per step at each rate, NaN after a
    divergence) and ``diverged`` (how many seeds diverged at each rate).
    """
    lrs = tuple(real_arg("lrs[k]", lr, minimum=0.0, strict=True) for lr in lrs)
    seeds = _seeds(seeds)
    out = {"lr": np.array(lrs),
           "settings": dict(depth=depth, width=width, steps=steps, seeds=len(seeds),
                            rates=len(lrs), lr_min=min(lrs), lr_max=max(lrs))}
    for name, on in (("bn", True), ("plain", False)):
        acc, loss, curves, div = [], [], [], []
        for lr in lrs:
            runs = [_run(depth, width, on, lr, steps, s) for s in seeds]
            a = np.array([r["test_accuracy"] for r in runs])
            acc.append(a)
            loss.append(np.nanmean([r["test_loss"] for r in runs]) if any(
                r["diverged"] is None for r in runs) else np.nan)
            ok = [r["loss"] for r in runs if r["diverged"] is None]
            curves.append(np.mean(ok, axis=0) if ok else np.full(steps, np.nan))
            div.append(sum(r["diverged"] is not None for r in runs))
        acc = np.array(acc)
        err = acc.std(axis=1, ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else np.zeros(len(lrs))
        out[name] = {"accuracy": acc.mean(axis=1), "accuracy_err": err, "loss": np.array(loss),
                     "curves": np.array(curves), "diverged": np.array(div)}
    return out


# --------------------------------------------------------------------------
# 2. gradient norms layer by layer, during training
# --------------------------------------------------------------------------

def _weight_grad_norms(step, net, x, labels):
    return {"norms": np.array([np.linalg.norm(layer.grads["W"]) for layer in T.weight_layers(net)])}


@cached(4)
def gradient_norms(*, depth=10, width=64, lr=0.1, steps=500, every=25, seed=0):
    """||dJ/dW_l|| for every hidden layer l, recorded during training, with and without BN.

    Returns
    -------
    dict with ``step`` (the recorded steps) and, for ``"bn"`` and ``"plain"``:
    ``norms`` (steps x depth: the hidden layers, input side first; the
    read-out is left out), ``ratio`` (first hidden layer over last, per
    recorded step) and ``accuracy``.
    """
    depth = int_arg("depth", depth, 2)
    out = {"settings": dict(depth=depth, width=width, lr=lr, steps=steps, every=every)}
    for name, on in (("bn", True), ("plain", False)):
        r = _run(depth, width, on, lr, steps, seed, hook=_weight_grad_norms, every=every)
        norms = np.array([rec["norms"][:-1] for rec in r["records"]])
        out["step"] = np.array([rec["step"] for rec in r["records"]])
        out[name] = {"norms": norms, "ratio": norms[:, 0] / norms[:, -1],
                     "accuracy": r["test_accuracy"]}
    return out


# --------------------------------------------------------------------------
# 3. noisy batch norm
# --------------------------------------------------------------------------

@cached(4)
def noisy_bn(*, depth=3, width=64, lr=0.1, steps=400, seeds=(0, 1, 2), shift=1.0, spread=2.0):
    """Test accuracy of standard BN, noisy BN and no BN, and what the noise does to activations.

    Noisy BN multiplies each unit's output by a random factor in
    [1/``spread``, ``spread``] and adds a random shift in [-``shift``, ``shift``],
    both drawn afresh at every step (:class:`lib.training.Noise`).

    Returns
    -------
    dict with ``configs`` ("standard BN", "noisy BN", "no BN") and, per config,
    ``accuracy`` (one per seed), ``mean``, ``err`` (standard error) and
    ``curve`` (mean training loss per step).
    """
    seeds = _seeds(seeds)
    configs = {"standard BN": dict(batchnorm=True), "noisy BN": dict(
        batchnorm=True, noise=T.Noise(real_arg("shift", shift, 0.0), real_arg("spread", spread, 1.0))),
        "no BN": dict(batchnorm=False)}
    out = {"configs": tuple(configs),
           "settings": dict(depth=depth, width=width, lr=lr, steps=steps, seeds=len(seeds),
                            shift=shift, spread=spread, low=1 / spread)}
    for name, kw in configs.items():
        runs = [_run(depth, width, kw["batchnorm"], lr, steps, s, noise=kw.get("noise")) for s in seeds]
        acc = np.array([r["test_accuracy"] for r in runs])
        out[name] = {"accuracy": acc, "mean": float(acc.mean()),
                     "err": float(acc.std(ddof=1) / np.sqrt(len(acc))) if len(acc) > 1 else 0.0,
                     "curve": np.mean([r["loss"] for r in runs], axis=0)}
    return out


# --------------------------------------------------------------------------
# 4. internal covariate shift, Santurkar et al.'s measure
# --------------------------------------------------------------------------

def _shift_of_layers(net, x, labels, lr):
    """For each weight layer i: G = its gradient now, G' = its gradient after every layer
    below it took its SGD step; returns ||G - G'|| / ||G|| and cos(G, G')."""
    positions = [k for k, layer in enumerate(net) if isinstance(layer, T.Linear)]
    dist, cos = [], []
    for k in positions[1:]:                   # the first layer has nothing below it
        G = net[k].grads["W"]
        moved = copy.deepcopy(net)
        T.sgd_step(moved, lr, layers=set(range(k)))
        T.loss_and_grads(moved, x, labels)
        G2 = moved[k].grads["W"]
        dist.append(np.linalg.norm(G - G2) / np.linalg.norm(G))
        cos.append(float((G * G2).sum() / (np.linalg.norm(G) * np.linalg.norm(G2))))
    return {"distance": np.array(dist), "cosine": np.array(cos)}


@cached(4)
def covariate_shift(*, depth=5, width=64, lr=0.1, steps=300, every=25, seeds=(0, 1, 2)):
    """Santurkar et al.'s internal covariate shift during training, with and without BN.

    Returns
    -------
    dict with ``step`` and, for ``"bn"`` and ``"plain"``: ``distance`` and
    ``cosine`` (steps x layers above the first, mean over seeds) and their
    means over layers and steps, ``mean_distance`` and ``mean_cosine``.
    """
    seeds = _seeds(seeds)
    out = {"settings": dict(depth=depth, width=width, lr=lr, steps=steps, every=every,
                            seeds=len(seeds))}
    for name, on in (("bn", True), ("plain", False)):
        hook = lambda t, net, x, y: _shift_of_layers(net, x, y, lr)  # noqa: E731
        runs = [_run(depth, width, on, lr, steps, s, hook=hook, every=every) for s in seeds]
        dist = np.mean([[rec["distance"] for rec in r["records"]] for r in runs], axis=0)
        cos = np.mean([[rec["cosine"] for rec in r["records"]] for r in runs], axis=0)
        out["step"] = np.array([rec["step"] for rec in runs[0]["records"]])
        out[name] = {"distance": dist, "cosine": cos, "mean_distance": float(dist.mean()),
                     "mean_cosine": float(cos.mean())}
    return out


# --------------------------------------------------------------------------
# 5. the loss landscape along the gradient
# --------------------------------------------------------------------------

def _flat_grads(net):
    return np.concatenate([layer.grads[k].ravel() for layer in net for k in layer.params])


def _along_gradient(net, x, labels, etas):
    """Loss and gradient change at ``theta - eta g`` for each step size eta."""
    g = _flat_grads(net)
    losses, changes = [], []
    for eta in etas:
        moved = copy.deepcopy(net)
        T.sgd_step(moved, eta)
        try:
            losses.append(T.loss_and_grads(moved, x, labels))
            changes.append(np.linalg.norm(_flat_grads(moved) - g))
        except T.Diverged:
            losses.append(np.inf)
            changes.append(np.inf)
    return {"loss_variation": float(max(losses) - min(losses)),
            "gradient_change": float(max(changes)), "losses": np.array(losses)}


@cached(4)
def landscape(*, depth=5, width=64, lr=0.1, steps=300, every=25, seeds=(0, 1, 2),
              etas=STEP_SIZES):
    """Santurkar et al.'s smoothness measures along training, with and without BN.

    At every ``every``-th step, from the current weights, a step of size eta
    along the gradient for each eta in ``etas``: the spread (max - min) of
    the loss over those steps ("loss variation") and the largest change of
    the gradient ("gradient predictiveness"; smaller is more predictive).

    Returns
    -------
    dict with ``step``, ``etas`` and, for ``"bn"`` and ``"plain"``:
    ``loss_variation`` and ``gradient_change`` (per recorded step, median
    over seeds), and ``losses`` (steps x etas, the first seed).
    """
    seeds = _seeds(seeds)
    etas = tuple(real_arg("etas[k]", e, minimum=0.0, strict=True) for e in etas)
    out = {"etas": np.array(etas),
           "settings": dict(depth=depth, width=width, lr=lr, steps=steps, every=every,
                            seeds=len(seeds), etas=len(etas), eta_min=min(etas),
                            eta_max=max(etas))}
    for name, on in (("bn", True), ("plain", False)):
        hook = lambda t, net, x, y: _along_gradient(net, x, y, etas)  # noqa: E731
        runs = [_run(depth, width, on, lr, steps, s, hook=hook, every=every) for s in seeds]
        out["step"] = np.array([rec["step"] for rec in runs[0]["records"]])
        out[name] = {key: np.median([[rec[key] for rec in r["records"]] for r in runs], axis=0)
                     for key in ("loss_variation", "gradient_change")}
        out[name]["losses"] = np.array([rec["losses"] for rec in runs[0]["records"]])
    return frozen(out)


# --------------------------------------------------------------------------
# the claims the chapter makes, as numbers and as booleans
# --------------------------------------------------------------------------
# Each function returns the numbers a sentence of chapter 9 quotes and, under
# "holds", whether each claim of that sentence is true for these results. The
# page asserts them (a change that reverses a result fails the build) and
# tests/test_training.py re-runs the smallest configuration of each.

def _largest_good_rate(d, name, level):
    good = d["lr"][d[name]["accuracy"] >= level]
    return float(good.max()) if good.size else 0.0


def lr_claims(d, level=0.9):
    """Batch norm trains well at learning rates where the plain network fails."""
    bn_rate, plain_rate = (_largest_good_rate(d, n, level) for n in ("bn", "plain"))
    top = int(np.argmax(d["lr"] == bn_rate)) if bn_rate else 0
    gap = float(d["bn"]["accuracy"][top] - d["plain"]["accuracy"][top])
    best = {n: float(d[n]["accuracy"].max()) for n in ("bn", "plain")}
    return {"level": level, "bn_rate": bn_rate, "plain_rate": plain_rate, "gap": gap,
            "rate_factor": bn_rate / plain_rate if plain_rate else float("inf"),
            "best_bn": best["bn"], "best_plain": best["plain"],
            "holds": {"larger rates with BN": bn_rate > plain_rate,
                      "plain fails where BN trains": gap > 0.5,
                      "best accuracy higher with BN": best["bn"] > best["plain"],
                      "BN fails at the largest rate": d["bn"]["accuracy"][-1] < 0.5}}


def depth_claims(d):
    """With BN the gradient is larger at the input side at initialization, and stays so."""
    bn_ratio, plain_ratio = d["bn"]["ratio"], d["plain"]["ratio"]
    return {"bn_init": float(bn_ratio[0]), "plain_init": float(plain_ratio[0]),
            "bn_min": float(bn_ratio.min()), "bn_median": float(np.median(bn_ratio)),
            "plain_median": float(np.median(plain_ratio)),
            "holds": {"explodes at init with BN": bn_ratio[0] > 2 * plain_ratio[0],
                      "persists in training": bn_ratio.min() > 1.5,
                      "plain starts balanced": plain_ratio[0] < 2,
                      "plain grows an imbalance": np.median(plain_ratio) > plain_ratio[0],
                      "both learn": min(d["bn"]["accuracy"], d["plain"]["accuracy"]) > 0.8}}


def noisy_claims(d, close=0.02):
    """Noisy BN trains about as well as standard BN, and better than no BN, though its
    training loss falls more slowly (mean of the last fifth of the steps)."""
    std, noisy, none = (d[n]["mean"] for n in ("standard BN", "noisy BN", "no BN"))
    tail = {n: float(d[n]["curve"][-max(1, d[n]["curve"].size // 5):].mean())
            for n in ("standard BN", "noisy BN")}
    return {"standard": std, "noisy": noisy, "none": none, "close": close,
            "standard_loss": tail["standard BN"], "noisy_loss": tail["noisy BN"],
            "holds": {"noisy close to standard": abs(noisy - std) < close,
                      "noisy better than no BN": noisy > none,
                      "noise slows training": tail["noisy BN"] > tail["standard BN"]}}


def ics_claims(d):
    """By Santurkar et al.'s measure, the BN network's gradients shift less here."""
    return {"bn_distance": d["bn"]["mean_distance"], "plain_distance": d["plain"]["mean_distance"],
            "bn_cosine": d["bn"]["mean_cosine"], "plain_cosine": d["plain"]["mean_cosine"],
            "holds": {"smaller shift with BN": d["bn"]["mean_distance"] < d["plain"]["mean_distance"],
                      "gradients keep their direction with BN":
                          d["bn"]["mean_cosine"] > d["plain"]["mean_cosine"]}}


def landscape_claims(d):
    """After the first steps, the loss and the gradient change less along the gradient with BN."""
    later = d["step"] > 0
    m = {f"{n}_{k}": float(np.median(d[n][k][later]))
         for n in ("bn", "plain") for k in ("loss_variation", "gradient_change")}
    return {**m, "holds": {"loss varies less with BN": m["bn_loss_variation"] < m["plain_loss_variation"],
                           "gradient more predictive with BN":
                               m["bn_gradient_change"] < m["plain_gradient_change"]}}
