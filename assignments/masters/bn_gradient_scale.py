# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# name: bn_gradient_scale
# files:
#   - lib
# export_cell: false
# run_tests: false
# generate:
#   pdf: false
#   show_stdout: true

# %% [markdown]
# # Assignment 3: what batch size and scale do to the gradient
#
# For one column, with $g = \partial J/\partial \hat x$ and
# $s = \sqrt{\sigma^2+\epsilon}$, batch norm's input gradient is
# $\frac1s P g$ with $P = I - \mathbf 1\mathbf 1^\top/N - \hat x\hat x^\top/N$.
# You will measure two consequences with `lib.batchnorm`: scaling the
# input by $a$ scales the gradient by $1/a$ (until $\epsilon$ matters), and
# the gradient keeps on average only a fraction of $g$ that depends on the
# batch size $N$. About 45 minutes.

# %%
import numpy as np

from lib import batchnorm
from lib.assignment_checks import check_fractions, check_grad_norm, check_kept, check_ratios
from lib.exercises import require

rng = np.random.default_rng(0)
x0 = rng.normal(size=(16, 1))        # one column, 16 examples, variance about 1
dy0 = rng.normal(size=(16, 1))
gamma, beta = np.ones(1), np.zeros(1)

# %% [raw]
# # BEGIN QUESTION
# name: q1_grad_norm
# points: 2

# %% [markdown]
# **Question 1.** Write `grad_norm(x, dy, a, eps)`: the Euclidean norm of
# $\partial J/\partial x$ when the layer receives `a * x` (use
# `batchnorm.forward` and `batchnorm.backward`, with `gamma` and `beta` above).

# %% [raw]
# # BEGIN SOLUTION

# %%
def grad_norm(x, dy, a, eps=1e-5):
    _, cache = batchnorm.forward(a * x, gamma, beta, eps)  # SOLUTION
    dx, _, _ = batchnorm.backward(dy, cache)  # SOLUTION
    return np.linalg.norm(dx)  # SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(check_grad_norm(grad_norm(x0, dy0, 3.0), x0, dy0, 3.0))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2_scale
# points: 2

# %% [markdown]
# **Question 2.** Set `ratio_big` to `grad_norm` at $a = 10$ divided by
# `grad_norm` at $a = 1$ (eps = 1e-5), and `ratio_small` to the same ratio
# for $a = 10^{-3}$. Which one follows the $1/a$ law, and why does the other
# not? (Compare $a^2\sigma^2$ with $\epsilon$.)

# %% [raw]
# # BEGIN SOLUTION

# %%
ratio_big = grad_norm(x0, dy0, 10.0) / grad_norm(x0, dy0, 1.0)  # SOLUTION
ratio_small = grad_norm(x0, dy0, 1e-3) / grad_norm(x0, dy0, 1.0)  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(check_ratios(ratio_big, ratio_small, x0, dy0))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_batch_size
# points: 3

# %% [markdown]
# **Question 3.** Write `kept_fraction(N, trials, seed)`: draw `trials`
# batches `x` of shape `(N, 1)` and upstream gradients `dy` (standard
# normal, `gamma = 1`), and return the mean over trials of
# $s^2\,\lVert\partial J/\partial x\rVert^2 / \lVert g\rVert^2$ (use
# `eps=1e-12`, and `cache.inv_std` for $1/s$). The book derives
# $(N-2)/N$ for it. Then set `fractions` to your values for N = 4, 8, 32
# (2000 trials each) and say what a small batch does to the gradient.

# %% [raw]
# # BEGIN SOLUTION

# %%
def kept_fraction(N, trials=2000, seed=0):
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(trials):
        x = rng.normal(size=(N, 1))  # SOLUTION
        dy = rng.normal(size=(N, 1))  # SOLUTION
        _, cache = batchnorm.forward(x, gamma, beta, 1e-12)  # SOLUTION
        dx, _, _ = batchnorm.backward(dy, cache)  # SOLUTION
        total += (np.sum(dx ** 2) / cache.inv_std[0] ** 2) / np.sum(dy ** 2)  # SOLUTION
    return total / trials


fractions = [kept_fraction(N) for N in (4, 8, 32)]  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(check_fractions(fractions))

# %%
require(check_kept(kept_fraction(6, 1500, 3), 6, 1500, 3))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
