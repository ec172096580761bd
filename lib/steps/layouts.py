"""Chapter 7, "Beyond one layout": only the reduction axes change.

The backward formula is written once, as a sympy expression in indexed
form with a symbolic group size M (:func:`general_formula`). For a layout
(batch, spatial batch, layer or group norm) and explicit small sizes,
:func:`layout_step` builds a tensor of named symbols, runs the forward pass
componentwise, differentiates the loss :math:`J = \\sum \\partial J/\\partial y
\\odot y` by every entry of ``x`` (the truth), and compares it with the same
formula instantiated at the layout's M on every group. The displayed
equation is rendered from that formula object.

The comparison substitutes a positive symbol :math:`s` for each group's
:math:`\\sqrt{\\sigma^2+\\epsilon}` after differentiating, so that the two
sides are rational functions and ``expand``/``cancel`` decide equality.
"""
from __future__ import annotations

import time

import numpy as np
import sympy as sp

from lib.norms import layout_axes
from lib.steps import SIZES
from lib.steps.forward import moments
from lib.symbolic import (EPS, check_sizes, check_step, expand_sums, step_function, to_latex,
                          write_root)

__all__ = ["M", "k", "j", "s", "g", "x_hat", "dy", "gamma_bar",
           "general_formula", "shared_gamma_formula", "LAYOUTS", "layout_axes",
           "layout_step", "zero_sum_step", "zero_sum_general_step", "display", "all_steps"]

M = sp.Symbol("M", integer=True, positive=True)
k, j = sp.symbols("k j", integer=True, positive=True)
s = sp.Symbol("s", positive=True)
g = sp.IndexedBase("g")                                 # g = gamma * dJ/dy = dJ/dx_hat
x_hat = sp.IndexedBase(r"\hat{x}")
dy = sp.IndexedBase(r"\left(\frac{\partial J}{\partial y}\right)")   # the upstream gradient
gamma_bar = sp.Symbol(r"\gamma")                        # one gamma for the whole group


def general_formula():
    """dJ/dx_k for one group of M entries, with g = dJ/dx_hat (any layout)."""
    return (M * g[k] - sp.Sum(g[j], (j, 1, M))
            - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s)


def shared_gamma_formula():
    """Chapter 6's compact form, N -> M: valid when gamma is constant on the group."""
    return gamma_bar / (M * s) * (M * dy[k] - sp.Sum(dy[j], (j, 1, M))
                                  - x_hat[k] * sp.Sum(dy[j] * x_hat[j], (j, 1, M)))


def display(formula=None):
    """The LaTeX a page shows: the formula object itself, with its left side printed from
    the derivative the check takes (of J, by entry k of a group)."""
    formula = general_formula() if formula is None else formula
    lhs = sp.Derivative(sp.Symbol("J"), sp.IndexedBase("x")[k])
    return to_latex(lhs, {"x": "x_{@}"}) + " = " + sp.latex(formula)


# --------------------------------------------------------------------------
# layouts as axes
# --------------------------------------------------------------------------

LAYOUTS = ("batch norm", "spatial batch norm", "layer norm", "group norm")
"""The layouts :func:`lib.norms.layout_axes` knows, whose axes the checks use."""


def _tensor(name, shape):
    """An object array of real symbols name_{i1 i2 ...} (1-based indices)."""
    arr = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        arr[idx] = sp.Symbol(f"{name}_{{{''.join(str(i + 1) for i in idx)}}}", real=True)
    return arr


def _groups(shape, axes):
    """Lists of multi-indices that share their non-reduced indices."""
    keep = [a for a in range(len(shape)) if a not in axes]
    out = {}
    for idx in np.ndindex(*shape):
        out.setdefault(tuple(idx[a] for a in keep), []).append(idx)
    return list(out.values())


def _symbolic_layout(work_shape, axes, param_axes):
    """Symbols and the forward pass, group by group."""
    x, dY = _tensor("x", work_shape), _tensor("dy", work_shape)
    pshape = tuple(work_shape[a] for a in param_axes)
    gam = _tensor(r"\gamma", pshape) if pshape else np.array(sp.Symbol(r"\gamma", real=True))
    bet = _tensor(r"\beta", pshape) if pshape else np.array(sp.Symbol(r"\beta", real=True))
    par = lambda arr, idx: arr[tuple(idx[a] for a in param_axes)]  # noqa: E731
    groups = _groups(work_shape, axes)
    J, roots, info = 0, [], []
    for n, grp in enumerate(groups):
        mu, var = moments([x[i] for i in grp])
        s_n = sp.Symbol(f"s_{n + 1}", positive=True)
        roots.append((var + EPS, s_n))                 # sqrt(var + eps) -> s_n
        J += sum(dY[i] * (par(gam, i) * (x[i] - mu) / sp.sqrt(var + EPS) + par(bet, i)) for i in grp)
        info.append((grp, mu, s_n))
    return x, dY, gam, par, J, roots, info


def _write_roots(expr, roots):
    """Each group's sqrt(var + eps) as its own positive symbol s_n."""
    for radicand, root in roots:
        expr = write_root(expr, radicand, root)
    return expr


def _replacements(info, par, gam, dY, x, Mi):
    """Per entry k of each group: the values of g_p, dy_p, x_hat_p (p = 1..Mi) and of
    the entry itself, to put into the instantiated formula (0 beyond the group)."""
    for grp, mu, s_n in info:
        xh = {i: (x[i] - mu) / s_n for i in grp}
        rep = {s: s_n}
        for p in range(1, Mi + 1):
            i = grp[p - 1] if p <= len(grp) else None
            rep[g[p]] = par(gam, i) * dY[i] if i else 0
            rep[dy[p]] = dY[i] if i else 0
            rep[x_hat[p]] = xh[i] if i else 0
        for i in grp:
            yield i, {**rep, g[k]: par(gam, i) * dY[i], dy[k]: dY[i], x_hat[k]: xh[i],
                      gamma_bar: par(gam, i)}        # gamma of entry k, outside the sums


@step_function
def layout_step(formula=general_formula(), *, layout, shape, G=None, name=None):
    """Check the backward formula for one layout at explicit sizes.

    Shown in chapter 7, equation {eq}`eq-layouts-step`; chapter 7, equation {eq}`eq-layouts-spatial`.

    Parameters
    ----------
    formula : sympy expression
        The candidate in indexed form (default :func:`general_formula`;
        :func:`shared_gamma_formula` is the other choice). Tests pass a
        wrong one, e.g. ``general_formula().subs(M, N)`` for a wrong group size.
    layout : one of :data:`LAYOUTS`
    shape : tuple
        (N, D) for batch and layer norm, (N, C, H, W) for spatial batch and
        group norm.
    G : int, group norm only

    Returns
    -------
    Step
        Its two sides are the entries of ``x``: the truth (derivatives of the
        forward pass) and the formula instantiated at the layout's M on every
        group; its ``seconds`` include building and differentiating the
        forward pass.
    """
    start = time.perf_counter()
    work, axes, param_axes = layout_axes(layout, shape, G)
    x, dY, gam, par, J, roots, info = _symbolic_layout(work, axes, param_axes)
    Mv = len(info[0][0])
    inst = formula.subs(M, Mv).doit()
    used = [int(a.indices[0]) for a in inst.atoms(sp.Indexed) if a.indices[0].is_Integer]
    truth, cand = [], []
    for i, rep in _replacements(info, par, gam, dY, x, max([Mv, *used])):
        truth.append(_write_roots(sp.diff(J, x[i]), roots))
        cand.append(inst.xreplace(rep))
    dims = {"batch norm": "N, D", "layer norm": "N, D",
            "spatial batch norm": "N, C, H, W", "group norm": "N, C, H, W"}[layout]
    sizes = f"({dims}) = {tuple(shape)}" + (f", G = {G}" if G else "") + f", M = {Mv}"
    step = check_step(name or f"{layout} backward", sp.Matrix(truth), sp.Matrix(cand),
                      sizes=sizes, display=display(formula))
    step.seconds = time.perf_counter() - start
    return step


@step_function
def zero_sum_step(formula=general_formula(), *, sizes=SIZES):
    """The gradient of one group sums to zero, sum_k dJ/dx_k = 0, for M in ``sizes``.

    Uses sum_j x_hat_j = 0 (a centred group), stated by writing x_hat_M as
    minus the sum of the others.

    Shown in chapter 7, equation {eq}`eq-layouts-zero-sums`.
    """

    def build(M_value):
        inst = formula.subs(M, M_value).doit()
        xs = sp.symbols(f"xhat_1:{M_value}", real=True)      # free: x_hat_1 .. x_hat_{M-1}
        xh_vals = list(xs) + [-sum(xs)]
        rep = {x_hat[p]: xh_vals[p - 1] for p in range(1, M_value + 1)}
        total = sum(inst.subs(k, p).xreplace(rep) for p in range(1, M_value + 1))
        return total, sp.Integer(0)
    return check_sizes("the gradient of a group sums to zero", build, sizes, symbol="M",
                       display=sp.latex(sp.Sum(formula, (k, 1, M))) + " = 0")


@step_function
def zero_sum_general_step(formula=general_formula()):
    """The same for a symbolic group size M, with indexed sums.

    ``expand_sums`` splits the outer sum over k; the hypothesis of a
    centred group, :math:`\\sum_k \\hat x_k = 0`, is then substituted; the
    rest must cancel once both sums are written with the same index.

    Shown in chapter 7, equation {eq}`eq-layouts-zero-general`.
    """
    lhs = sp.Sum(formula, (k, 1, M))
    expr = expand_sums(lhs).subs(sp.Sum(x_hat[k], (k, 1, M)), 0)
    same_index = lambda e: e.xreplace({k: j}) if not e.has(j) else e  # noqa: E731
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), same_index)
    return check_step("the gradient of a group sums to zero (any M)", expr, sp.Integer(0),
                      sizes="any M, given that the group is centred",
                      display=sp.latex(lhs) + " = 0")


PAGE_LAYOUTS = (("layer norm", (1, 2), None), ("layer norm", (1, 3), None),
                ("layer norm", (1, 4), None), ("layer norm", (2, 3), None),
                ("group norm", (1, 4, 1, 2), 2), ("group norm", (1, 3, 1, 2), 3))
"""The layouts and sizes at which chapter 7 checks the general formula."""


def all_steps():
    """The checks of chapter 7: the general formula on each layout of :data:`PAGE_LAYOUTS`,
    the shared-gamma form on spatial batch norm, and the zero sums (as the page runs them)."""
    steps = [layout_step(layout=lay, shape=shape, G=G) for lay, shape, G in PAGE_LAYOUTS]
    steps.append(layout_step(shared_gamma_formula(), layout="spatial batch norm",
                             shape=(2, 2, 1, 2)))
    return steps + [zero_sum_step(), zero_sum_general_step()]
