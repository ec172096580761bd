"""Batch norm in training, on the digits (chapter 10): the papers' claims, at small scale.

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
    gradient along the gradient direction;
:func:`resnet_sweep`
    deep residual networks with and without batch norm against chapter 8's plain one
    with it: accuracy against the learning rate, and the gradient's first-over-last
    ratio during training (He et al. 2016; De & Smith 2020).

the claims chapter 10 makes about these results are :mod:`lib.experiments.train_claims`.
"""
from __future__ import annotations

import copy

import numpy as np

from lib import claims
from lib import training as T
from lib.experiments.args import int_arg, real_arg
from lib.store import cached, frozen

__all__ = ["SEEDS", "STEPS", "LEARNING_RATES", "STEP_SIZES", "ICS_MEASURES", "LANDSCAPE_MEASURES",
           "RESNET_NETS", "RESNET_RATES", "RESNET_DEPTH",
           "lr_sweep", "gradient_norms", "noisy_bn", "covariate_shift", "landscape", "resnet_sweep"]

SEEDS = (0, 1, 2, 3, 4)
"""The seeds of every experiment of chapter 10 (a seed sets the initialization and the batches)."""

STEPS = 200
"""Training steps of every experiment of chapter 10."""

LEARNING_RATES = (0.01, 0.1, 0.3, 0.5, 0.7, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0)
"""The learning rates of :func:`lr_sweep`: three decades, finer from 0.3 on, where the
two networks stop training."""

STEP_SIZES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
"""The step sizes along the gradient of :func:`landscape`."""


def _seeds(seeds):
    return tuple(int_arg("seeds[k]", s, 0) for s in seeds)


def _run(depth, width, batchnorm, lr, steps, seed, noise=None, hook=None, every=10, kind=None):
    """One training run; a divergence is a result (accuracy of the untrained chance level).

    ``kind`` (one of :data:`lib.training.RESNET_KINDS`) trains a residual network of
    ``depth`` blocks instead of a plain one. Besides :func:`lib.training.train`'s results:
    ``train_loss``, the loss on the whole training set at the end, without noise.
    """
    net = (T.make_resnet(depth, width, kind=kind, seed=seed) if kind is not None
           else T.make_net(depth, width, batchnorm=batchnorm, noise=noise, seed=seed))
    data = T.digits()
    try:
        out = T.train(net, data, lr=lr, steps=steps, seed=seed, hook=hook, every=every)
        out["train_loss"] = T.evaluate(net, data.x_train, data.y_train)[0]
        out["diverged"] = None
    except T.Diverged as err:
        out = {"loss": None, "records": [], "test_loss": np.nan, "test_accuracy": 0.1,
               "train_loss": np.nan, "diverged": f"step {err.step}, layer {err.layer}"}
    return out


# --------------------------------------------------------------------------
# 1. learning-rate tolerance
# --------------------------------------------------------------------------

@cached(4, store=True)
def lr_sweep(lrs=LEARNING_RATES, *, depth=3, width=64, steps=STEPS, seeds=SEEDS):
    """Test accuracy and loss after ``steps`` of SGD, for each learning rate, with and without BN.

    Returns
    -------
    dict with ``lr``; for ``"bn"`` and ``"plain"`` each: ``per_seed`` (rates x seeds
    test accuracies), ``accuracy`` and ``loss`` (mean over seeds), ``accuracy_half``
    (half-width of the 95 % t interval of the mean accuracy), ``curves`` (the mean
    training loss per step at each rate, NaN after a divergence) and ``diverged`` (how
    many seeds diverged at each rate).
    """
    lrs = tuple(real_arg("lrs[k]", lr, minimum=0.0, strict=True) for lr in lrs)
    seeds = _seeds(seeds)
    out = {"lr": np.array(lrs), "seeds": seeds,
           "settings": dict(depth=depth, width=width, steps=steps, seeds=len(seeds),
                            rates=len(lrs), lr_min=min(lrs), lr_max=max(lrs))}
    for name, on in (("bn", True), ("plain", False)):
        acc, loss, curves, div = [], [], [], []
        for lr in lrs:
            runs = [_run(depth, width, on, lr, steps, s) for s in seeds]
            acc.append([r["test_accuracy"] for r in runs])
            loss.append(np.nanmean([r["test_loss"] for r in runs]) if any(
                r["diverged"] is None for r in runs) else np.nan)
            ok = [r["loss"] for r in runs if r["diverged"] is None]
            curves.append(np.mean(ok, axis=0) if ok else np.full(steps, np.nan))
            div.append(sum(r["diverged"] is not None for r in runs))
        acc = np.array(acc)
        half = np.array([_half_width(a) for a in acc])
        out[name] = {"per_seed": acc, "accuracy": acc.mean(axis=1), "accuracy_half": half,
                     "loss": np.array(loss), "curves": np.array(curves), "diverged": np.array(div)}
    return out


def _half_width(values):
    if len(values) < 2:
        return 0.0
    mean, lo, _ = claims.t_interval(values)
    return mean - lo


# --------------------------------------------------------------------------
# 2. gradient norms layer by layer, during training
# --------------------------------------------------------------------------

def _weight_grad_norms(step, net, x, labels):
    return {"norms": np.array([np.linalg.norm(layer.grads["W"]) for layer in T.weight_layers(net)])}


@cached(4, store=True)
def gradient_norms(*, depth=10, width=64, lr=0.1, steps=STEPS, every=25, seeds=SEEDS):
    """||dJ/dW_l|| for every hidden layer l, recorded during training, with and without BN.

    Recorded at steps 0 and 1 (the first update) and then every ``every`` steps.

    Returns
    -------
    dict with ``step`` (the recorded steps) and, for ``"bn"`` and ``"plain"``:
    ``norms`` (seeds x steps x depth: the hidden layers, input side first; the
    read-out is left out), ``ratio`` (seeds x steps: first hidden layer over last)
    and ``accuracy`` (one per seed).
    """
    depth = int_arg("depth", depth, 2)
    seeds = _seeds(seeds)
    out = {"seeds": seeds, "settings": dict(depth=depth, width=width, lr=lr, steps=steps,
                                            every=every, seeds=len(seeds))}
    for name, on in (("bn", True), ("plain", False)):
        runs = [_run(depth, width, on, lr, steps, s, hook=_weight_grad_norms, every=1)
                for s in seeds]
        keep = [k for k, rec in enumerate(runs[0]["records"]) if rec["step"] <= 1
                or rec["step"] % every == 0]
        norms = np.array([[r["records"][k]["norms"][:-1] for k in keep] for r in runs])
        out["step"] = np.array([runs[0]["records"][k]["step"] for k in keep])
        out[name] = {"norms": norms, "ratio": norms[:, :, 0] / norms[:, :, -1],
                     "accuracy": np.array([r["test_accuracy"] for r in runs])}
    return out


# --------------------------------------------------------------------------
# 3. noisy batch norm
# --------------------------------------------------------------------------

@cached(4, store=True)
def noisy_bn(*, depth=3, width=64, lr=0.1, steps=STEPS, seeds=SEEDS, shift=1.0, spread=2.0):
    """Test accuracy of standard BN, noisy BN and no BN, and their training loss.

    Noisy BN perturbs every activation of every example after each batch-norm layer
    with i.i.d. noise whose means and spreads are drawn afresh at every step
    (:class:`lib.training.Noise`, with ``shift`` and ``spread``).

    Returns
    -------
    dict with ``configs`` ("standard BN", "noisy BN", "no BN") and, per config,
    ``accuracy`` and ``train_loss`` (one per seed; the training loss on the whole
    training set at the end, noise off), ``mean``, ``half`` (half-width of the 95 %
    t interval) and ``curve`` (mean training loss per step, noise on).
    """
    seeds = _seeds(seeds)
    configs = {"standard BN": dict(batchnorm=True), "noisy BN": dict(
        batchnorm=True, noise=T.Noise(real_arg("shift", shift, 0.0), real_arg("spread", spread, 1.0))),
        "no BN": dict(batchnorm=False)}
    out = {"configs": tuple(configs), "seeds": seeds,
           "settings": dict(depth=depth, width=width, lr=lr, steps=steps, seeds=len(seeds),
                            shift=shift, spread=spread, low=1 / spread)}
    for name, kw in configs.items():
        runs = [_run(depth, width, kw["batchnorm"], lr, steps, s, noise=kw.get("noise")) for s in seeds]
        acc = np.array([r["test_accuracy"] for r in runs])
        out[name] = {"accuracy": acc, "mean": float(acc.mean()), "half": _half_width(acc),
                     "train_loss": np.array([r["train_loss"] for r in runs]),
                     "curve": np.mean([r["loss"] for r in runs], axis=0)}
    return out


# --------------------------------------------------------------------------
# 4. internal covariate shift, Santurkar et al.'s measure
# --------------------------------------------------------------------------

def _shift_of_layers(net, x, labels, lr):
    """For each weight layer i: G = its gradient now, G' = its gradient after every layer
    below it took its SGD step; returns ||G - G'||, ||G - G'|| / ||G||, cos(G, G') and ||G||."""
    positions = [k for k, layer in enumerate(net) if isinstance(layer, T.Linear)]
    out = {"distance": [], "relative": [], "cosine": [], "norm": []}
    for k in positions[1:]:                   # the first layer has nothing below it
        G = net[k].grads["W"]
        moved = copy.deepcopy(net)
        T.sgd_step(moved, lr, layers=set(range(k)))
        T.loss_and_grads(moved, x, labels)
        G2 = moved[k].grads["W"]
        d, n, n2 = np.linalg.norm(G - G2), np.linalg.norm(G), np.linalg.norm(G2)
        out["distance"].append(d)
        out["relative"].append(d / n)
        out["cosine"].append(float((G * G2).sum() / (n * n2)))
        out["norm"].append(n)
    return {key: np.array(v) for key, v in out.items()}


ICS_MEASURES = ("distance", "relative", "cosine", "norm")
"""What :func:`covariate_shift` records: ||G - G'||, ||G - G'||/||G||, cos(G, G'), ||G||."""


@cached(4, store=True)
def covariate_shift(*, depth=5, width=64, lr=0.1, steps=STEPS, every=25, seeds=SEEDS):
    """Santurkar et al.'s internal covariate shift during training, with and without BN.

    Returns
    -------
    dict with ``step`` and, for ``"bn"`` and ``"plain"``, for each of
    :data:`ICS_MEASURES`: an array (steps x layers above the first, mean over seeds),
    and under ``per_seed`` its mean over layers and steps, one per seed.
    """
    seeds = _seeds(seeds)
    out = {"seeds": seeds, "settings": dict(depth=depth, width=width, lr=lr, steps=steps,
                                            every=every, seeds=len(seeds))}
    for name, on in (("bn", True), ("plain", False)):
        hook = lambda t, net, x, y: _shift_of_layers(net, x, y, lr)  # noqa: E731
        runs = [_run(depth, width, on, lr, steps, s, hook=hook, every=every) for s in seeds]
        arrays = {key: np.array([[rec[key] for rec in r["records"]] for r in runs])
                  for key in ICS_MEASURES}                        # seeds x steps x layers
        out["step"] = np.array([rec["step"] for rec in runs[0]["records"]])
        out[name] = {key: a.mean(axis=0) for key, a in arrays.items()}
        out[name]["per_seed"] = {key: a.mean(axis=(1, 2)) for key, a in arrays.items()}
    return out


# --------------------------------------------------------------------------
# 5. the loss landscape along the gradient
# --------------------------------------------------------------------------

def _flat_grads(net):
    return np.concatenate([layer.grads[k].ravel() for layer in net for k in layer.params])


def _along_gradient(net, x, labels, etas):
    """Loss and gradient change at ``theta - eta g`` for each step size eta, and the
    effective beta-smoothness: the largest gradient change over the distance moved."""
    g = _flat_grads(net)
    losses, changes, smooth = [], [], []
    for eta in etas:
        moved = copy.deepcopy(net)
        T.sgd_step(moved, eta)
        try:
            losses.append(T.loss_and_grads(moved, x, labels))
            changes.append(np.linalg.norm(_flat_grads(moved) - g))
        except T.Diverged:
            losses.append(np.inf)
            changes.append(np.inf)
        smooth.append(changes[-1] / (eta * np.linalg.norm(g)))
    return {"loss_variation": float(max(losses) - min(losses)),
            "gradient_change": float(max(changes)), "beta_smoothness": float(max(smooth)),
            "losses": np.array(losses)}


LANDSCAPE_MEASURES = ("loss_variation", "gradient_change", "beta_smoothness")
"""What :func:`landscape` records at each point of training."""


@cached(4, store=True)
def landscape(*, depth=5, width=64, lr=0.1, steps=STEPS, every=40, seeds=SEEDS,
              etas=STEP_SIZES):
    """Santurkar et al.'s smoothness measures along training, with and without BN.

    At every ``every``-th step, from the current weights theta with gradient g, a step
    theta - eta g for each eta in ``etas``: the spread (max - min) of the loss over those
    steps ("loss variation"), the largest change of the gradient ("gradient
    predictiveness"; smaller is more predictive), and the largest change of the gradient
    divided by the distance moved, eta ||g|| ("effective beta-smoothness").

    Returns
    -------
    dict with ``step``, ``etas`` and, for ``"bn"`` and ``"plain"``, for each of
    :data:`LANDSCAPE_MEASURES`: per recorded step, the median over seeds, and under
    ``per_seed`` the array seeds x steps; and ``losses`` (steps x etas, the first seed).
    """
    seeds = _seeds(seeds)
    etas = tuple(real_arg("etas[k]", e, minimum=0.0, strict=True) for e in etas)
    out = {"etas": np.array(etas), "seeds": seeds,
           "settings": dict(depth=depth, width=width, lr=lr, steps=steps, every=every,
                            seeds=len(seeds), etas=len(etas), eta_min=min(etas),
                            eta_max=max(etas))}
    for name, on in (("bn", True), ("plain", False)):
        hook = lambda t, net, x, y: _along_gradient(net, x, y, etas)  # noqa: E731
        runs = [_run(depth, width, on, lr, steps, s, hook=hook, every=every) for s in seeds]
        out["step"] = np.array([rec["step"] for rec in runs[0]["records"]])
        per_seed = {key: np.array([[rec[key] for rec in r["records"]] for r in runs])
                    for key in LANDSCAPE_MEASURES}
        out[name] = {key: np.median(a, axis=0) for key, a in per_seed.items()}
        out[name]["per_seed"] = per_seed
        out[name]["losses"] = np.array([rec["losses"] for rec in runs[0]["records"]])
    return frozen(out)


# --------------------------------------------------------------------------
# 6. deep residual networks
# --------------------------------------------------------------------------

RESNET_NETS = ("plain+bn", "residual+bn", "residual", "skipinit")
"""The networks of :func:`resnet_sweep`: chapter 8's plain network with batch norm, and the
residual networks of :func:`lib.training.make_resnet`."""

RESNET_RATES = (0.01, 0.1, 0.3, 1.0, 3.0)
"""The learning rates of :func:`resnet_sweep`."""

RESNET_DEPTH = 20
"""Blocks (hidden layers of the plain network) in :func:`resnet_sweep`."""


def _quiet_norms(step, net, x, labels):
    """:func:`_weight_grad_norms`; an unnormalized network's overflowing gradients give inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _weight_grad_norms(step, net, x, labels)


@cached(4, store=True)
def resnet_sweep(lrs=RESNET_RATES, *, depth=RESNET_DEPTH, width=64, steps=STEPS, every=25,
                 ratio_lr=0.1, seeds=SEEDS):
    """Deep residual networks on the digits, with and without batch norm.

    Every network of :data:`RESNET_NETS` is trained at every rate of ``lrs`` on every seed.
    In the runs at ``ratio_lr`` the weight gradient of every hidden layer is recorded
    at steps 0 and 1 and every ``every`` steps: ``ratio`` is the norm of the first
    hidden layer's over the last's, the first and last Linear layers followed by batch
    norm in the plain network, the first and last blocks' Linear layers in the residual
    ones (not the stem). A diverged run counts as the chance level, 0.1.

    Returns
    -------
    dict with ``lr``, ``step``, ``seeds`` and, per network: ``per_seed`` (rates x seeds
    test accuracies, the chance level 0.1 after a divergence), ``accuracy`` (mean over
    seeds), ``diverged`` (seeds that diverged, per rate) and ``ratio`` (seeds x recorded
    steps; NaN for a run that diverged).
    """
    lrs = tuple(real_arg("lrs[k]", lr, minimum=0.0, strict=True) for lr in lrs)
    depth = int_arg("depth", depth, 2)
    ratio_lr = real_arg("ratio_lr", ratio_lr, minimum=0.0, strict=True)
    if ratio_lr not in lrs:
        raise ValueError(f"ratio_lr = {ratio_lr} must be one of the learning rates {lrs}")
    seeds = _seeds(seeds)
    keep = [0, 1] + list(range(every, steps, every))
    out = {"lr": np.array(lrs), "seeds": seeds, "step": np.array(keep),
           "settings": dict(depth=depth, width=width, steps=steps, seeds=len(seeds),
                            ratio_lr=ratio_lr, every=every, rates=len(lrs))}
    for name in RESNET_NETS:
        kind = None if name == "plain+bn" else name
        acc, div, ratio = [], [], []
        for lr in lrs:
            hook = _quiet_norms if lr == ratio_lr else None
            runs = [_run(depth, width, True, lr, steps, s, hook=hook, every=1, kind=kind)
                    for s in seeds]
            acc.append([r["test_accuracy"] for r in runs])
            div.append(sum(r["diverged"] is not None for r in runs))
            if hook is not None:
                hidden = slice(0, -1) if kind is None else slice(1, -1)   # no read-out, no stem
                for r in runs:                    # SkipInit's last branch: 0 at step 0
                    by_step = {rec["step"]: rec["norms"][hidden] for rec in r["records"]}
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratio.append([by_step[t][0] / by_step[t][-1] if t in by_step else np.nan
                                      for t in keep])
        acc = np.array(acc)
        out[name] = {"per_seed": acc, "accuracy": acc.mean(axis=1), "diverged": np.array(div),
                     "ratio": np.array(ratio)}
    return out
