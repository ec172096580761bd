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
# name: bn_backward
# files:
#   - lib
# export_cell: false
# run_tests: false
# generate:
#   pdf: false
#   show_stdout: true

# %% [markdown]
# # Assignment 1: the backward pass of batch norm
#
# You will write the backward pass of a batch-norm layer twice: once as a
# framework's autodiff would, stage by stage through the computational
# graph, and once with the compact formula of the book's chapter 6.
#
# Conventions (as in the book): `x` has shape `(N, D)`, `gamma` and `beta`
# have shape `(D,)`, the variance is the biased one (divide by `N`), and
#
# $$\mu = \tfrac1N \textstyle\sum_i x_i,\quad \sigma^2 = \tfrac1N \sum_i (x_i-\mu)^2,\quad
#   \hat x_i = \frac{x_i-\mu}{\sqrt{\sigma^2+\epsilon}},\quad y_i = \gamma\odot\hat x_i + \beta.$$
#
# Run each `grader.check(...)` cell after your answer: it tells you at once
# whether the answer is right and, if not, which mistake it looks like.
# About 60 minutes.

# %%
import numpy as np

from lib.batchnorm import forward
from lib.exercises import diagnose_backward, diagnose_dbeta, diagnose_dgamma, problem, require

# %% [raw]
# # BEGIN QUESTION
# name: q1_params
# points: 2

# %% [markdown]
# **Question 1.** Since $y_i = \gamma \odot \hat x_i + \beta$, the gradients of
# the two parameters need no chain through $\mu$ or $\sigma^2$. Write
# `param_grads(dy, x_hat)` returning `(dgamma, dbeta)`, each of shape `(D,)`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def param_grads(dy, x_hat):
    # BEGIN SOLUTION
    dgamma = (dy * x_hat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    # END SOLUTION
    return dgamma, dbeta


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
x, gamma, beta, dy = problem()
_, cache = forward(x, gamma, beta)
dgamma, dbeta = param_grads(dy, cache.x_hat)
require(diagnose_dbeta(dbeta, x, gamma, dy))
require(diagnose_dgamma(dgamma, x, gamma, dy))

# %%
x, gamma, beta, dy = problem(9, 2, seed=7)
_, cache = forward(x, gamma, beta)
dgamma, dbeta = param_grads(dy, cache.x_hat)
require(diagnose_dbeta(dbeta, x, gamma, dy))
require(diagnose_dgamma(dgamma, x, gamma, dy))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2_staged
# points: 4

# %% [markdown]
# **Question 2.** Complete the staged backward pass. The forward pass is
# split into nine nodes; the backward pass visits them in reverse, and each
# line multiplies the gradient flowing in by the node's local derivative.
# Where a value was broadcast in the forward pass (a mean, a per-column
# statistic), its gradient is summed over the batch (`axis=0`).

# %% [raw]
# # BEGIN SOLUTION

# %%
def backward_staged(dy, x, gamma, eps=1e-5):
    N = x.shape[0]
    mu = x.mean(axis=0)            # 1. mean
    xc = x - mu                    # 2. centre
    sq = xc ** 2                   # 3. square
    var = sq.mean(axis=0)          # 4. variance
    s = np.sqrt(var + eps)         # 5. add eps, square root
    inv = 1.0 / s                  # 6. invert
    x_hat = xc * inv               # 7. scale
    # 9. y = gx + beta
    dbeta = dy.sum(axis=0)  # SOLUTION
    # 8. gx = gamma * x_hat
    dgamma = (dy * x_hat).sum(axis=0)  # SOLUTION
    dx_hat = gamma * dy  # SOLUTION
    # 7. x_hat = xc * inv
    dinv = (dx_hat * xc).sum(axis=0)  # SOLUTION
    dxc = dx_hat * inv  # SOLUTION
    # 6. inv = 1 / s
    ds = -dinv / s ** 2  # SOLUTION
    # 5. s = sqrt(var + eps)
    dvar = ds / (2 * s)  # SOLUTION
    # 4. var = mean(sq)
    dsq = np.ones_like(sq) * dvar / N  # SOLUTION
    # 3. sq = xc ** 2 (xc also has a path of its own, from node 7)
    dxc = dxc + 2 * xc * dsq  # SOLUTION
    # 2. xc = x - mu
    dmu = -dxc.sum(axis=0)  # SOLUTION
    # 1. mu = mean(x)
    dx = dxc + dmu / N  # SOLUTION
    return dx, dgamma, dbeta


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_backward(backward_staged))

# %%
require(diagnose_backward(backward_staged, eps=1e-3, shapes=((4, 2), (12, 5))))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_simplified
# points: 4

# %% [markdown]
# **Question 3.** Chapter 6 of the book simplifies the staged result to
#
# $$\frac{\partial J}{\partial X} = \frac{\gamma \odot (\sigma^2+\epsilon)^{-1/2}}{N}
#   \odot \Big[ N \frac{\partial J}{\partial Y} - \frac{\partial J}{\partial \beta}
#   - \hat X \odot \frac{\partial J}{\partial \gamma} \Big].$$
#
# Write `backward(dy, x, gamma, eps)` with this formula, in a few lines and
# without loops. Return `(dx, dgamma, dbeta)`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def backward(dy, x, gamma, eps=1e-5):
    # BEGIN SOLUTION
    N = x.shape[0]
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    dgamma = (dy * x_hat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dx = gamma * inv_std / N * (N * dy - dbeta - x_hat * dgamma)
    # END SOLUTION
    return dx, dgamma, dbeta


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_backward(backward))

# %%
require(diagnose_backward(backward, eps=1e-3, shapes=((4, 2), (12, 5))))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# **To think about (not graded).** Every column of `dx` sums to zero, and is
# orthogonal to `x - mu`. Check both on `problem()` and explain them with the
# two terms you subtracted in question 3.
