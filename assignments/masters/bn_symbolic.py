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
# name: bn_symbolic
# files:
#   - lib
# export_cell: false
# run_tests: false
# generate:
#   pdf: false
#   show_stdout: true

# %% [markdown]
# # Assignment 2: check a derivation with sympy
#
# Each step of the batch-norm backward derivation is an equality you can
# check exactly on a small batch. Here the batch is one column of $N = 3$
# examples with named entries $x_1, x_2, x_3$, and $\epsilon > 0$ is a
# symbol. Use exact numbers (`sp.Rational(1, 3)`, `sp.sqrt(...)`), never
# floats: floats do not cancel. `check_step(name, lhs, rhs)` from
# `lib.symbolic` proves `lhs == rhs` or raises `StepError`; use it to test
# your answers before you run `grader.check`. About 45 minutes.

# %%
import sympy as sp

from lib.exercises import diagnose_expr, require
from lib.symbolic import EPS, check_step, column

N = 3
x = column("x", N)                  # the column (x_1, x_2, x_3)
g = column("g", N)                  # the upstream gradient dJ/dx_hat
mu = sum(x) / N
R = x - sp.ones(N, 1) * mu           # centred column
var = (R.T * R)[0] / N               # biased variance
s = sp.sqrt(var + EPS)
x_hat = R / s
v, m = sp.symbols("v m")             # sigma^2 and mu as free symbols (question 3)

# %% [raw]
# # BEGIN QUESTION
# name: q1_mean
# points: 1

# %% [markdown]
# **Question 1.** What is $\partial\mu/\partial x_1$? Set `dmu_dx1` to an
# exact sympy expression.

# %% [raw]
# # BEGIN SOLUTION

# %%
dmu_dx1 = sp.Rational(1, 3)  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_expr("dmu_dx1", dmu_dx1, sp.diff(mu, x[0]), [(1, "mu is an average: each x_i enters it with weight 1/N.")]))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2_variance
# points: 2

# %% [markdown]
# **Question 2.** Write $\partial\sigma^2/\partial x_1$ in terms of `x[0]`,
# `mu` and `N`. ($\mu$ depends on $x_1$ too: why does that path contribute
# nothing?)

# %% [raw]
# # BEGIN SOLUTION

# %%
dvar_dx1 = 2 * (x[0] - mu) / N  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_expr("dvar_dx1", dvar_dx1, sp.diff(var, x[0]), [(2 * (x[0] - mu) / (N - 1), "that is the derivative of the unbiased variance (divided by N - 1); training-mode batch norm divides by N."), (2 * (x[0] - mu), "the factor 1/N of the variance is missing."), (-2 * (x[0] - mu) / N, "sign error: sigma^2 grows when x_1 moves away from the mean.")]))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_exponent
# points: 2

# %% [markdown]
# **Question 3.** Treat the variance as a free symbol `v` and the mean as
# `m`, so that $\hat x_1 = (x_1 - m)(v + \epsilon)^{-1/2}$. Write
# $\partial \hat x_1/\partial v$. (A widely read post gets the exponent
# wrong; check yours with `sp.diff`.)

# %% [raw]
# # BEGIN SOLUTION

# %%
dxhat_dv = -sp.Rational(1, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-3, 2)  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_expr("dxhat_dv", dxhat_dv, sp.diff((x[0] - m) / sp.sqrt(v + EPS), v), [(-sp.Rational(1, 2) * (x[0] - m) * sp.sqrt(v + EPS) ** sp.Rational(-3, 2), "the exponent -3/2 applies to (sigma^2 + eps), not to its square root."), (sp.Rational(1, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-3, 2), "sign error: x_hat shrinks as the variance grows."), (-(x[0] - m) * (v + EPS) ** sp.Rational(-3, 2), "the factor 1/2 from the power rule is missing."), (-sp.Rational(3, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2), "the exponents are swapped: the factor is -1/2 and the power -3/2."), (-sp.Rational(1, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2), "the power did not drop by one: d/dv (v + eps)^(-1/2) = -1/2 (v + eps)^(-3/2).")]))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4_formula
# points: 3

# %% [markdown]
# **Question 4.** The book's chapter 6 claims that for one column
#
# $$\frac{\partial J}{\partial x} = \frac1s\Big[g - \frac{\mathbf 1\mathbf 1^\top g}{N}
#   - \frac{\hat x\, \hat x^\top g}{N}\Big].$$
#
# Build the right-hand side as a 3 x 1 sympy Matrix `dx_formula` from `g`,
# `x_hat`, `s` and `N`. Then check it yourself against the chain rule,
# `x_hat.jacobian(x).T * g`, with `check_step`.

# %% [raw]
# # BEGIN SOLUTION

# %%
ones = sp.ones(N, 1)  # SOLUTION
dx_formula = (g - ones * (ones.T * g)[0] / N - x_hat * (x_hat.T * g)[0] / N) / s  # SOLUTION
check_step("simplified column gradient", dx_formula, x_hat.jacobian(x).T * g, sizes="N = 3")  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
require(diagnose_expr("dx_formula", dx_formula, x_hat.jacobian(x).T * g, [((g - sp.ones(N, 1) * sum(g) / N) / s, "the term x_hat x_hat^T g / N (the path through the variance) is missing."), ((g - x_hat * (x_hat.T * g)[0] / N) / s, "the term 1 1^T g / N (the path through the mean) is missing."), (g / s, "both the mean and the variance terms are missing."), ((g - sp.ones(N, 1) * sum(g) / N - x_hat * (x_hat.T * g)[0] / N), "the factor 1/s in front is missing.")]))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
