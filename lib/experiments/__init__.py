"""Experiments on what batch norm does to the gradient (chapter 8).

Every public function here computes data and returns it in a ``dict``
(or a list of them): no plotting (that is :mod:`lib.plots`) and no widgets
(:mod:`lib.widgets`). :func:`table` renders such results as a small table
(text when printed, an HTML table in a page), so that a page shows them in
one short line.

One module per section of chapter 8, all re-exported here, so that
``from lib import experiments as ex`` gives every function (chapter 10's are
in ``lib.experiments.training``):

:mod:`~lib.experiments.projection`
    the backward map (gamma/s) P of one column and its properties;
:mod:`~lib.experiments.scale`
    x -> a x, for inputs and for weights;
:mod:`~lib.experiments.noise`
    the batch-to-batch noise of one example's gradient;
:mod:`~lib.experiments.depth`
    gradient norms layer by layer at initialization;
:mod:`~lib.experiments.training`
    chapter 10: the papers' claims about training, tested on the digits;
:mod:`~lib.experiments.args` and :mod:`~lib.experiments.table`
    the shared argument checks and the table printer.

The numerics are :mod:`lib.norms`' unchecked helpers ``normalize`` and
``input_grad`` (eps = 0 allowed) and the checked :mod:`lib.batchnorm`.
Memoised results are returned read-only: a caller cannot change what the
next caller gets.
Each one is deterministic for a fixed ``seed`` and fast enough to be
called on every move of a slider (a few milliseconds to a few tens).

The three functions the widgets are built on
--------------------------------------------
:func:`batch_noise`
    the gradient of one fixed example across many random batches of size N;
:func:`scale_response`
    what happens to the output and to the input gradient when a column is
    multiplied by ``a``;
:func:`depth_profile`
    the gradient norm layer by layer in a deep fully connected network at
    initialization.

A setting where the experiment degenerates (N = 1, N = 2, a = 0, depth 1,
...) does not raise: the returned dict carries an ``"explanation"`` string
(``None`` otherwise), and :mod:`lib.plots` shows that text. Bad arguments
(a negative batch size, NaN, a string where a number belongs) raise
``ValueError`` or ``TypeError`` with a message naming the argument.

Conventions are the book's: one column ``x`` in R^N, ``mu`` its mean,
``sigma^2`` its biased (1/N) variance, ``s = sqrt(sigma^2 + eps)``,
``x_hat = (x - mu)/s``, and ``g = dJ/dx_hat`` the upstream gradient.
"""

from lib.experiments.depth import (RELU_RATE_LIMIT, depth_claims, depth_profile, depth_rates,
                                   heuristic_factors, yang_linear_rate)
from lib.experiments.noise import BATCH_NOISE_GRID, batch_noise, noise_claims
from lib.experiments.projection import (backward_matrix, degenerate_batch, gradient_properties,
                                        projection_energy, projection_properties, santurkar_check)
from lib.experiments.scale import (SCALE_GRID, scale_response, train_scale_invariant,
                                   training_summary, weight_scale_check)
from lib.experiments.table import Table, table

__all__ = [
    "table", "Table", "backward_matrix", "projection_properties", "gradient_properties",
    "projection_energy", "degenerate_batch", "santurkar_check",
    "scale_response", "weight_scale_check", "train_scale_invariant",
    "training_summary", "batch_noise", "noise_claims", "depth_profile", "depth_rates", "depth_claims",
    "chapter_claims",
    "yang_linear_rate", "heuristic_factors", "RELU_RATE_LIMIT", "BATCH_NOISE_GRID", "SCALE_GRID",
]


def chapter_claims():
    """Every measured claim chapter 8 checks, as the page makes them."""
    return [*noise_claims()[0].values(), *depth_claims(depth_rates([4, 5, 6, 8, 16, 32], depth=40))[0].values()]
