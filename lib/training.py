"""Small fully connected networks in numpy, trained by plain SGD (chapter 10).

A network is a list of the layers of :mod:`lib.layers` (Linear, BatchNorm with
optional Noise, ReLU, Residual), each with ``forward(h)`` and ``backward(dh)``.

:func:`make_net` stacks them into a plain network and :func:`make_resnet` into a
residual one; :func:`loss_and_grads` runs one forward and backward pass with the
softmax cross-entropy loss, and :func:`train` is the one training loop, with a ``hook`` that each experiment uses to record what
it needs. Data: scikit-learn's handwritten digits (:func:`digits`), 1,797
images of 8 x 8 pixels, shipped with scikit-learn (no download).

Bad arguments raise ``ValueError``/``TypeError`` naming the problem; a run
whose loss or activations stop being finite raises :class:`Diverged`,
naming the step and the layer.
"""
from __future__ import annotations

import gzip
import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from lib.gradcheck import numerical_gradient
from lib.layers import BatchNorm, Linear, Noise, ReLU, Residual

__all__ = ["Linear", "BatchNorm", "Noise", "ReLU", "Residual", "Diverged", "Data", "digits", "load_digits",
           "make_net", "make_resnet", "RESNET_KINDS",
           "forward", "cross_entropy", "loss_and_grads", "evaluate", "sgd_step", "train",
           "weight_layers", "gradient_check"]


class Diverged(ArithmeticError):
    """A training run whose numbers stopped being finite (``step``, ``layer`` say where)."""

    def __init__(self, message, step=None, layer=None):
        super().__init__(message)
        self.step, self.layer = step, layer


# --------------------------------------------------------------------------
# data and networks
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    """Train and test sets: inputs (n, 64) in [0, 1] and labels 0..9 (read-only arrays)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


DIGITS_FILE = ("sklearn", "datasets", "data", "digits.csv.gz")
"""Where scikit-learn keeps the digits (UCI's optical digits, 8 x 8 pixels): a gzipped CSV of
64 pixel columns and the label, inside its installed package."""


def load_digits():
    """``(x, y)``: scikit-learn's ``load_digits(return_X_y=True)``, read from its file.

    Reading :data:`DIGITS_FILE` directly spares importing scikit-learn, seconds in every
    process that trains (a chapter's kernel, a test); without the file (another release of
    scikit-learn may move it), scikit-learn's own loader is used.
    """
    spec = importlib.util.find_spec(DIGITS_FILE[0])     # None without scikit-learn
    path = spec and Path(next(iter(spec.submodule_search_locations)), *DIGITS_FILE[1:])
    if not (path and path.is_file()):                   # scikit-learn's loader says why
        from sklearn.datasets import load_digits as sklearn_load_digits
        return sklearn_load_digits(return_X_y=True)
    with gzip.open(path, "rt", encoding="utf-8") as rows:
        data = np.loadtxt(rows, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


@lru_cache(maxsize=4)
def digits(test_fraction=0.25, seed=0) -> Data:
    """scikit-learn's digits, pixels scaled to [0, 1], split once at random (cached)."""
    x, y = load_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, tr = order[:n_test], order[n_test:]
    arrays = [x[tr] / 16.0, y[tr], x[test] / 16.0, y[test]]
    for a in arrays:
        a.setflags(write=False)
    return Data(*arrays)


def make_net(depth, width=64, *, batchnorm=True, noise=None, n_in=64, n_out=10, seed=0):
    """``depth`` hidden layers [Linear, (BatchNorm), ReLU] and a Linear read-out.

    ``noise`` (a :class:`Noise` without ``rng``) puts noisy batch norm in every
    hidden layer; its random numbers come from ``seed`` too.
    """
    depth, width = _positive_int("depth", depth), _positive_int("width", width)
    if noise is not None and not batchnorm:
        raise ValueError("noise goes after batch-norm layers: pass batchnorm=True with noise")
    rng = np.random.default_rng(seed)
    layers, n = [], n_in
    for _ in range(depth):
        layers.append(Linear(n, width, rng))
        if batchnorm:
            layer_noise = None if noise is None else Noise(noise.shift, noise.spread,
                                                           np.random.default_rng([seed, len(layers)]))
            layers.append(BatchNorm(width, layer_noise))
        layers.append(ReLU())
        n = width
    layers.append(Linear(n, n_out, rng))
    return layers


RESNET_KINDS = ("residual+bn", "residual", "skipinit")
"""The residual networks :func:`make_resnet` builds: batch norm last in every branch; no
normalization, ``alpha = 1``; no normalization, a trainable ``alpha`` that starts at 0."""


def make_resnet(depth, width=64, *, kind="residual+bn", n_in=64, n_out=10, seed=0):
    """A Linear from the input (the stem), ``depth`` residual blocks and a read-out.

    Block l maps h to ``h + alpha * branch(h)`` with the branch [ReLU, Linear] and, for
    ``"residual+bn"``, a :class:`BatchNorm` after the Linear (the blocks of chapter 9's
    ``residual+bn``). ``"skipinit"`` trains alpha from 0 (De & Smith 2020). The read-out
    is [ReLU, Linear], with a :class:`BatchNorm` first for ``"residual+bn"``: the skip path's
    variance grows with the depth, and a normalized network normalizes what its classifier
    sees (as the final BN-ReLU of He et al.'s pre-activation networks).
    """
    depth, width = _positive_int("depth", depth), _positive_int("width", width)
    if kind not in RESNET_KINDS:
        raise ValueError(f"unknown residual network {kind!r}: choose one of {', '.join(RESNET_KINDS)}")
    rng = np.random.default_rng(seed)
    layers = [Linear(n_in, width, rng)]
    for _ in range(depth):
        branch = [ReLU(), Linear(width, width, rng)]
        if kind == "residual+bn":
            branch.append(BatchNorm(width))
        layers.append(Residual(branch, alpha=0.0 if kind == "skipinit" else 1.0,
                               trainable=kind == "skipinit"))
    if kind == "residual+bn":
        layers.append(BatchNorm(width))
    layers += [ReLU(), Linear(width, n_out, rng)]
    return layers


def _flat(net):
    """Every layer of ``net``, the branches of residual blocks included, in order."""
    for layer in net:
        yield layer
        if isinstance(layer, Residual):
            yield from _flat(layer.branch)


def weight_layers(net):
    """The :class:`Linear` layers of ``net`` (in residual branches too), input side first."""
    return [layer for layer in _flat(net) if isinstance(layer, Linear)]


# --------------------------------------------------------------------------
# one step
# --------------------------------------------------------------------------

def forward(net, x, *, step=None, noisy=True):
    """Logits of ``net`` on ``x``; :class:`Diverged` names the first non-finite layer.

    ``noisy=False`` evaluates: noisy batch-norm layers leave out their noise.
    """
    for layer in _flat(net):
        if isinstance(layer, BatchNorm):
            layer.noisy = noisy
    h = x
    for k, layer in enumerate(net):
        with np.errstate(over="ignore", invalid="ignore"):   # reported below, by layer
            h = layer.forward(h)
        if not np.all(np.isfinite(h)):
            raise Diverged(f"the activations became non-finite at step {step}, in layer {k} "
                           f"({layer!r}): the learning rate is too large for this network",
                           step=step, layer=k)
    return h


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = float(-np.log(np.maximum(p[np.arange(n), labels], 1e-300)).mean())
    p[np.arange(n), labels] -= 1.0
    return loss, p / n


def loss_and_grads(net, x, labels, *, step=None, noisy=True):
    """Mean cross-entropy of ``net`` on ``(x, labels)``; fills every layer's ``grads``.

    ``noisy=False`` leaves out the noise of noisy batch-norm layers (a deterministic network).
    """
    loss, d = cross_entropy(forward(net, x, step=step, noisy=noisy), labels)
    for layer in reversed(net):
        d = layer.backward(d)
    return loss


def evaluate(net, x, labels):
    """``(loss, accuracy)`` of ``net`` on ``(x, labels)``, without noise and without gradients.

    Batch norm uses the statistics of ``x`` itself (training-mode statistics
    of the whole evaluation set; the book's layer keeps no running averages).
    """
    logits = forward(net, x, noisy=False)
    return cross_entropy(logits, labels)[0], float((logits.argmax(axis=1) == labels).mean())


def gradient_check(net, x, labels, h=1e-5):
    """Every parameter's gradient from :func:`loss_and_grads` against centred finite differences.

    Returns ``{"layer k (name).param": error}`` for every parameter of every
    layer, where the error is the largest difference relative to the largest
    entries of the *whole* gradient (:func:`lib.gradcheck.rel_error` of all
    parameters at once, split by parameter): a bias just before batch norm
    has a gradient that is exactly zero, and a ratio of two roundings would
    say nothing. Noise, if any, is left out of both sides. Check at a point
    away from ReLU's kink (e.g. nonzero biases): there the loss has no
    derivative and finite differences disagree with any formula.
    """
    def loss_at(value, v):
        saved = value.copy()
        value[...] = v
        try:
            return cross_entropy(forward(net, x, noisy=False), labels)[0]
        finally:
            value[...] = saved
    loss_and_grads(net, x, labels, noisy=False)
    pairs = {f"layer {k} ({layer!r}).{name}":
             (layer.grads[name], numerical_gradient(lambda v: loss_at(value, v), value, h))
             for k, layer in enumerate(net) for name, value in layer.params.items()}
    scale = (max(np.abs(a).max() for a, _ in pairs.values())
             + max(np.abs(n).max() for _, n in pairs.values()))
    return {key: float(np.abs(a - n).max() / scale) for key, (a, n) in pairs.items()}


def sgd_step(net, lr, layers=None):
    """Plain SGD on every parameter (or only on the layers listed, by index)."""
    for k, layer in enumerate(net):
        if layers is None or k in layers:
            for name, value in layer.params.items():
                value -= lr * layer.grads[name]


# --------------------------------------------------------------------------
# the training loop
# --------------------------------------------------------------------------

def _positive_int(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_run(net, data, lr, steps, batch_size):
    if not isinstance(net, list) or not net:
        raise ValueError("the network is an empty layer list: build one with make_net()")
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (int, float, np.floating)) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a finite number > 0, got {lr!r}")
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    if batch_size > len(data.y_train):
        raise ValueError(f"batch_size = {batch_size} is larger than the {len(data.y_train)} "
                         f"training examples")


def train(net, data, *, lr, steps, batch_size=64, seed=0, hook=None, every=10):
    """Train ``net`` in place by plain SGD on random batches of ``data``.

    Parameters
    ----------
    net : list of layers (:func:`make_net`)
    data : Data
    lr : float > 0
    steps, batch_size : int >= 1 (batch_size at most the training set)
    seed : int
        The order of the batches.
    hook : callable, optional
        ``hook(step, net, x, labels)`` is called before the update at step 0
        and every ``every`` steps, after the gradients of that batch are in
        ``layer.grads``; what it returns (a dict) is recorded.

    Returns
    -------
    dict with ``loss`` (per step), ``records`` (the hook's results, with their
    ``step``), ``test_accuracy`` and ``test_loss`` at the end.

    Raises
    ------
    Diverged
        when the loss or an activation stops being finite, naming the step
        and the layer.
    """
    _check_run(net, data, lr, steps, batch_size)
    rng = np.random.default_rng(seed)
    losses, records = np.empty(steps), []
    for t in range(steps):
        idx = rng.choice(len(data.y_train), size=batch_size, replace=False)
        losses[t] = loss_and_grads(net, data.x_train[idx], data.y_train[idx], step=t)
        if not math.isfinite(losses[t]):
            raise Diverged(f"the loss became non-finite at step {t}", step=t, layer=len(net) - 1)
        if hook is not None and t % every == 0:
            records.append({"step": t, **hook(t, net, data.x_train[idx], data.y_train[idx])})
        sgd_step(net, lr)
    test_loss, test_accuracy = evaluate(net, data.x_test, data.y_test)
    return {"loss": losses, "records": records, "test_loss": test_loss,
            "test_accuracy": test_accuracy}
