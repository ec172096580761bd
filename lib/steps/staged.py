"""Chapter 3, the staged computational graph: nine nodes, each edge's local derivative checked.

The backward pass an autodiff system would run visits the nodes of
:data:`NODES` in reverse, multiplying the incoming gradient by each edge's
local derivative. :func:`local_steps` checks every local derivative;
:func:`staged_step` runs the whole backward pass from that table, on sympy
objects, and compares it with differentiating the forward pass.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.forward import batch
from lib.steps.rowwise import N, mu, s, var
from lib.symbolic import EPS, check_sizes, column, step_function, to_latex

__all__ = ["NODES", "local_steps", "staged_table", "staged_backward", "staged_step", "all_steps"]

# one symbol per node value (row i where the node is per example)
xi, xc, sq, xh, gm, gx, bt, inv = sp.symbols("x_i xc_i sq_i xhat_i gamma gx_i beta inv",
                                             real=True)
NODES = (
    # (node, formula in LaTeX, input, local derivative as a function of node values)
    ("mu", r"\mu = \frac{1}{N}\sum_j x_j", "x", 1 / N),
    ("xc", r"\mathrm{xc}_i = x_i - \mu", "x", sp.Integer(1)),
    ("xc", r"\mathrm{xc}_i = x_i - \mu", "mu", sp.Integer(-1)),
    ("sq", r"\mathrm{sq}_i = \mathrm{xc}_i^2", "xc", 2 * xc),
    ("var", r"\sigma^2 = \frac{1}{N}\sum_j \mathrm{sq}_j", "sq", 1 / N),
    ("s", r"s = \sqrt{\sigma^2 + \epsilon}", "var", 1 / (2 * s)),
    ("inv", r"\mathrm{inv} = 1/s", "s", -1 / s ** 2),
    ("xhat", r"\hat{x}_i = \mathrm{xc}_i \cdot \mathrm{inv}", "xc", inv),
    ("xhat", r"\hat{x}_i = \mathrm{xc}_i \cdot \mathrm{inv}", "inv", xc),
    ("gx", r"\mathrm{gx}_i = \gamma\, \hat{x}_i", "gamma", xh),
    ("gx", r"\mathrm{gx}_i = \gamma\, \hat{x}_i", "xhat", gm),
    ("y", r"y_i = \mathrm{gx}_i + \beta", "gx", sp.Integer(1)),
    ("y", r"y_i = \mathrm{gx}_i + \beta", "beta", sp.Integer(1)),
)
"""The nine forward nodes and the local derivative along each edge."""


def _node_forward(node, n):
    """Node ``node`` as a sympy function of its inputs; the mean nodes at size n.

    Returns (output expression, {input name: the symbol to differentiate by}).
    """
    X = column("x", n)
    SQ = column("sq", n)
    if node == "mu":
        return sum(X) / n, {"x": X}
    if node == "var":
        return sum(SQ) / n, {"sq": SQ}
    return {
        "xc": (xi - mu, {"x": xi, "mu": mu}),
        "sq": (xc ** 2, {"xc": xc}),
        "s": (sp.sqrt(var + EPS), {"var": var}),
        "inv": (1 / s, {"s": s}),
        "xhat": (xc * inv, {"xc": xc, "inv": inv}),
        "gx": (gm * xh, {"gamma": gm, "xhat": xh}),
        "y": (gx + bt, {"gx": gx, "beta": bt}),
    }[node]


@step_function
def _local_step(node, wrt, local, sizes):
    """Check one edge's local derivative (for every N in ``sizes`` if the node is a mean)."""
    def build(n):
        out, inputs = _node_forward(node, n)
        claim = local.subs(N, n)
        if node == "s":
            claim = claim.subs(s, sp.sqrt(var + EPS))
        if node in ("mu", "var"):          # every x_i (or sq_i) of the mean
            return out.diff(inputs[wrt]), sp.Matrix([claim] * n)
        return out.diff(inputs[wrt]), claim
    values = sizes if node in ("mu", "var") else [list(sizes)[0]]
    step = check_sizes(f"local derivative d{node}/d{wrt}", build, values)
    if node not in ("mu", "var"):
        step.sizes = "every N"
    return step


@step_function
def local_steps(formula=NODES, *, sizes=SIZES):
    """Every edge of the staged graph, checked: one Step per row of the table ``formula``.

    ``formula`` is the table of nodes and local derivatives (:data:`NODES`);
    a test plants a wrong derivative in one row.
    """
    return [_local_step(node, wrt, local, sizes) for node, _, wrt, local in formula]


def staged_table(steps, nodes=NODES):
    """The nodes and their checked local derivatives, as a LaTeX array.

    Put it in ``IPython.display.Latex`` to show it; every derivative in it
    is printed from the object that :func:`local_step` checked.
    """
    rows = [r"\text{node} & \text{forward} & \text{local derivative} & \text{checked for}",
            r"\hline"]
    for (node, forward, wrt, local), step in zip(nodes, steps):
        deriv = (rf"\frac{{\partial {SPELL[node]}}}{{\partial {SPELL[wrt]}}} = "
                 rf"{to_latex(local, STAGED_NAMES)}")
        rows.append(rf"{NODE_NUMBER[node]} & {forward} & {deriv} & \text{{{step.sizes}}} \\")
    rows[0] += r" \\"
    return "$$\n\\begin{array}{rlll}\n" + "\n".join(rows) + "\n\\end{array}\n$$"


SPELL = {"mu": r"\mu", "var": r"\sigma^2", "xhat": r"\hat{x}_i", "gx": r"\mathrm{gx}_i",
         "xc": r"\mathrm{xc}_i", "sq": r"\mathrm{sq}_i", "y": "y_i", "s": "s",
         "inv": r"\mathrm{inv}", "x": "x_i", "gamma": r"\gamma", "beta": r"\beta"}
STAGED_NAMES = {"xc_i": r"\mathrm{xc}_i", "sq_i": r"\mathrm{sq}_i", "xhat_i": r"\hat{x}_i",
                "gx_i": r"\mathrm{gx}_i", "inv": r"\mathrm{inv}", "var": r"\sigma^{2}"}
NODE_NUMBER = {name: k for k, name in
               enumerate(["mu", "xc", "sq", "var", "s", "inv", "xhat", "gx", "y"], start=1)}


def staged_backward(n, nodes=NODES):
    """The backward pass through the nine nodes, in reverse, on sympy objects.

    Each line multiplies the incoming gradient by a local derivative taken
    from ``nodes`` (the checked table by default), evaluated at the node's
    values. ``s`` stays a positive symbol (see :func:`lib.symbolic.write_root`).
    Returns the forward batch ``B``, the upstream gradient ``dy`` and
    ``(dx, dgamma, dbeta)``.
    """
    local = {(node, wrt): d for node, _, wrt, d in nodes}
    B = batch(n)
    root = B.roots[0]
    X, dy = B.X[:, 0], B.G[:, 0]
    gamma = B.gamma[0]
    m = B.mu[0]
    xcs = [X[a] - m for a in range(n)]
    var_value = B.radicand[0] - EPS

    def at(key, a=None):
        vals = {N: n, s: root, inv: 1 / root, gm: gamma, var: var_value}
        if a is not None:
            vals.update({xc: xcs[a], xh: xcs[a] / root, xi: X[a]})
        return local[key].subs(vals)

    # 9. y = gx + beta;  8. gx = gamma * x_hat
    dbeta = sum(dy[a] * at(("y", "beta")) for a in range(n))
    dgx = [dy[a] * at(("y", "gx")) for a in range(n)]
    dgamma = sum(dgx[a] * at(("gx", "gamma"), a) for a in range(n))
    dxh = [dgx[a] * at(("gx", "xhat"), a) for a in range(n)]
    # 7. x_hat = xc * inv;  6. inv = 1/s;  5. s = sqrt(var + eps)
    dinv = sum(dxh[a] * at(("xhat", "inv"), a) for a in range(n))
    dxc = [dxh[a] * at(("xhat", "xc"), a) for a in range(n)]
    ds = dinv * at(("inv", "s"))
    dvar_ = ds * at(("s", "var"))
    # 4. var = mean(sq);  3. sq = xc^2
    dsq = [dvar_ * at(("var", "sq")) for a in range(n)]
    dxc = [dxc[a] + dsq[a] * at(("sq", "xc"), a) for a in range(n)]
    # 2. xc = x - mu;  1. mu = mean(x)
    dx = [dxc[a] * at(("xc", "x"), a) for a in range(n)]
    dmu_ = sum(dxc[a] * at(("xc", "mu"), a) for a in range(n))
    dx = [dx[a] + dmu_ * at(("mu", "x")) for a in range(n)]
    return B, dy, (sp.Matrix(dx), dgamma, dbeta)


@step_function
def staged_step(formula=NODES, *, sizes=SIZES):
    """The staged backward, built from the table ``formula``, equals differentiating
    the forward pass (N = 2..5).

    Shown in chapter 3, equation {eq}`eq-rowwise-staged`.
    """
    def build(n):
        B, dy, (dx, dgamma, dbeta) = staged_backward(n, formula)
        J = sum(dy[a] * B.Y[a, 0] for a in range(n))
        grads = [J.diff(v) for v in list(B.X[:, 0]) + [B.gamma[0], B.beta[0]]]
        truth = B.plain(sp.Matrix(grads))
        return truth, sp.Matrix(list(dx) + [dgamma, dbeta])
    return check_sizes("staged backward", build, sizes,
                       display=r"\left(\frac{\partial J}{\partial x},"
                               r"\frac{\partial J}{\partial \gamma},"
                               r"\frac{\partial J}{\partial \beta}\right)_{\text{staged}}"
                               r" = \left(\frac{\partial J}{\partial x},"
                               r"\frac{\partial J}{\partial \gamma},"
                               r"\frac{\partial J}{\partial \beta}\right)_{\text{entry by entry}}")


def all_steps():
    """Every checked step of chapter 3's staged graph, in page order."""
    return [*local_steps(), staged_step()]
