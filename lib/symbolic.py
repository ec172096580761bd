"""Check derivation steps exactly with sympy, and show what was checked.

Every step of a derivation in the book is an equality ``lhs = rhs`` between
exact sympy objects (named symbols, rationals, square roots, the positive
``EPS``). :func:`check_step` proves ``lhs - rhs == 0`` and returns a
:class:`Step`, which a page shows by putting it last in a cell::

    from lib.symbolic import EPS, check_step, column
    x = column("x", 3)
    check_step("sum of a column", sum(x), x[0] + x[1] + x[2], sizes="N = 3")

A step that does not hold raises :class:`StepError`, whose message names the
step and shows the part that did not cancel, so a wrong page fails its build.

Rules of thumb (see the book's chapter 2 for why):

* exact objects only: floats never cancel, so :func:`check_step` rejects them;
* explicit components (:func:`column`), never ``MatrixSymbol`` derivatives;
* no ``simplify``: :func:`is_zero` uses ``expand``, ``together`` and
  ``cancel``, which are fast and decide equality of rational expressions.
"""
from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass, field

import sympy as sp

from lib.printing import to_latex

__all__ = ["EPS", "StepError", "Step", "step_function", "is_zero", "check_step", "column",
           "timings", "total_seconds", "reset_timings", "sizes_text", "timing_line",
           "expand_sums", "write_root", "instantiate", "to_latex", "check_sizes"]

EPS = sp.Symbol("epsilon", positive=True)
"""The book's epsilon, added to the variance; declared positive."""

_TIMINGS: list[tuple[str, float]] = []


class StepError(AssertionError):
    """A derivation step whose two sides are not equal."""


@dataclass(repr=False)
class Step:
    """A checked equality ``lhs = rhs``.

    Attributes
    ----------
    name : str
        What the step is, in words (used in messages and timings).
    lhs, rhs : sympy expression or Matrix
        The two sides that were proved equal.
    sizes : str
        For which sizes it was proved, e.g. ``"N = 2..5"``.
    seconds : float
        How long the check took.
    display : str or None
        LaTeX shown to the reader instead of ``lhs = rhs``; it must be
        rendered (``sp.latex``) from the checked objects, not typed by hand.
    function, arguments : str, dict
        Set by :func:`step_function`: the step function that made the Step
        (dotted name) and the arguments it ran with, so that the step can be
        run again, with a planted mistake (the book's verification page).
    """

    name: str
    lhs: object
    rhs: object
    sizes: str = ""
    seconds: float = 0.0
    display: str | None = None
    function: str = ""
    arguments: dict = field(default_factory=dict)

    def latex(self) -> str:
        """The equation as LaTeX (without dollar signs)."""
        if self.display is not None:
            return self.display
        return f"{sp.latex(self.lhs)} = {sp.latex(self.rhs)}"

    def caption(self) -> str:
        """One line of plain text: the check mark, the name and the sizes."""
        where = f" for {self.sizes}" if self.sizes else ""
        return f"✓ {self.name}: checked by sympy{where} ({self.seconds:.2f} s)"

    def _repr_latex_(self) -> str:
        # A notebook (and the book, through myst-nb) shows this as display math.
        where = f" for {self.sizes}" if self.sizes else ""
        return (rf"$$ {self.latex()} \qquad \checkmark\ "
                rf"\text{{checked by sympy{where}}} $$")

    def glue(self, key) -> None:
        """Glue the equation under ``key`` and its sizes under ``key-sizes`` (myst-nb), for the
        book's ``{checked}`` directive to show numbered, with the code that checks it."""
        from IPython.display import Math
        from myst_nb import glue

        glue(key, Math(self.latex()), display=False)
        glue(f"{key}-sizes", self.sizes, display=False)

    def markdown(self) -> str:
        """The step as Markdown: display math, then the caption line."""
        return f"$$\n{self.latex()}\n$$\n\n{self.caption()}\n"

    def __str__(self) -> str:
        return self.caption()

    __repr__ = __str__


def step_function(fn):
    """Mark a function that returns checked Steps: each Step remembers ``fn`` and its arguments.

    Every step of the book is written ``name_step(formula=name_formula(), *, sizes=SIZES)``;
    with this, a Step can say how it was made, and be made again with a wrong formula.
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for step in out if isinstance(out, list) else [out]:
            step.function = f"{fn.__module__}.{fn.__qualname__}"
            step.arguments = dict(bound.arguments)
        return out
    return wrapper


def _entries(expr):
    """The entries of a Matrix (or the expression itself) as a flat list."""
    if isinstance(expr, sp.MatrixBase):
        return list(expr)
    return [expr]


def expand_sums(expr):
    """Split every ``Sum`` over the terms of its summand and pull out factors
    that do not depend on the summation index, so that equal sums written
    differently become the same atoms (``Sum(c*a_j + b_j)`` ->
    ``c*Sum(a_j) + Sum(b_j)``; ``Sum(1, (j, 1, N))`` -> ``N``)."""
    def split(s):
        idx = [limit[0] for limit in s.limits]
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            const, dep = term.as_independent(*idx, as_Add=False)
            out += const * sp.Sum(dep, *s.limits).doit()
        return out
    return sp.sympify(expr).replace(lambda e: isinstance(e, sp.Sum), split)


def _scalar_is_zero(expr) -> bool:
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    if expr.has(sp.Sum, sp.Derivative, sp.Subs):
        expr = expr.doit()
    if expr.has(sp.Sum):
        expr = expand_sums(expr)
    for attempt in (sp.expand, lambda e: sp.cancel(sp.together(e))):
        expr = attempt(expr)
        if expr == 0:
            return True
    return False


def is_zero(expr) -> bool:
    """Whether ``expr`` is exactly zero (every entry, for a Matrix).

    Tries ``doit`` (for sums and derivatives), :func:`expand_sums` (for sums
    of symbolic length), ``expand``, then
    ``cancel(together(...))``. It never guesses: ``False`` means these
    rewritings did not reach 0.
    """
    return all(_scalar_is_zero(e) for e in _entries(expr))


def _residual_text(diff, limit=400) -> str:
    parts = []
    for k, e in enumerate(_entries(diff)):
        e = sp.cancel(sp.together(sp.expand(e.doit() if hasattr(e, "doit") else e)))
        if e != 0:
            label = f"entry {k}: " if isinstance(diff, sp.MatrixBase) else ""
            parts.append(label + str(e))
    text = "; ".join(parts)
    return text if len(text) <= limit else text[:limit] + " ..."


def _check_exact(name, expr):
    for e in _entries(expr):
        floats = sp.sympify(e).atoms(sp.Float)
        if floats:
            raise TypeError(f"step {name!r} contains the float(s) {sorted(map(str, floats))}; "
                            "use exact numbers (sp.Rational, sp.sqrt, symbols): floats never cancel")


def check_step(name, lhs, rhs, *, sizes="", display=None) -> Step:
    """Prove ``lhs == rhs`` exactly and return the checked :class:`Step`.

    Parameters
    ----------
    name : str
        The step, in words; named in the error message and in :func:`timings`.
    lhs, rhs : sympy expressions or Matrices of the same shape
    sizes : str, optional
        For which sizes the objects were built, e.g. ``"N = 3"``.
    display : str, optional
        LaTeX to show instead of ``lhs = rhs`` (rendered from checked objects).

    Raises
    ------
    StepError
        If ``lhs - rhs`` is not zero; the message names the step and shows
        what is left over.
    TypeError
        If either side contains a float, or only one side is a Matrix.
    ValueError
        If two matrices differ in shape.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a non-empty string naming the step")
    is_mat = [isinstance(side, sp.MatrixBase) for side in (lhs, rhs)]
    if is_mat[0] != is_mat[1]:
        raise TypeError(f"step {name!r}: one side is a Matrix and the other is not")
    if is_mat[0] and lhs.shape != rhs.shape:
        raise ValueError(f"step {name!r}: shapes differ, {lhs.shape} versus {rhs.shape}")
    _check_exact(name, lhs)
    _check_exact(name, rhs)
    start = time.perf_counter()
    diff = lhs - rhs
    ok = is_zero(diff)
    seconds = time.perf_counter() - start
    _TIMINGS.append((name, seconds))
    if not ok:
        where = f" ({sizes})" if sizes else ""
        raise StepError(f"step {name!r}{where} does not hold: "
                        f"lhs - rhs = {_residual_text(diff)}")
    return Step(name=name, lhs=lhs, rhs=rhs, sizes=sizes, seconds=seconds, display=display)


def column(name, N) -> sp.Matrix:
    """An N x 1 column of real symbols ``name_1, ..., name_N``."""
    if isinstance(N, bool) or not isinstance(N, int) or N < 1:
        raise ValueError(f"N must be a positive integer, got {N!r}")
    return sp.Matrix(sp.symbols(f"{name}_1:{N + 1}", real=True))


def timings() -> list[tuple[str, float]]:
    """(step name, seconds) of every check run in this process, in order."""
    return list(_TIMINGS)


def total_seconds() -> float:
    """Total seconds of every check run in this process."""
    return sum(seconds for _, seconds in _TIMINGS)


def reset_timings() -> None:
    """Forget the recorded timings (a page may call it at its start)."""
    _TIMINGS.clear()


def sizes_text(symbol, values) -> str:
    """``sizes_text("N", range(2, 6))`` -> ``"N = 2..5"`` (or a list if not a run)."""
    values = list(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{symbol} = {values[0]}..{values[-1]}"
    return f"{symbol} = " + ", ".join(map(str, values))


def timing_line(page="this page", steps=None) -> str:
    """A sentence for the end of a page: how many checks, in how many seconds.

    With ``steps`` (the Steps the page shows) it adds how long building and
    checking them took, differentiating the forward pass included.
    """
    n = len(_TIMINGS)
    line = (f"{n} sympy check{'s' if n != 1 else ''} on {page} took "
            f"{total_seconds():.2f} s in total.")
    if steps is not None:
        steps = list(steps)
        line += (f" Building and checking the {len(steps)} step{'s' if len(steps) != 1 else ''}"
                 f" shown, differentiation "
                 f"included, took {sum(step.seconds for step in steps):.1f} s.")
    return line


# --------------------------------------------------------------------------
# helpers for building steps
# --------------------------------------------------------------------------

def write_root(expr, radicand, root):
    """Replace every power ``radicand**p`` in ``expr`` by ``root**(2p)``.

    With ``radicand = sigma^2 + eps`` (an explicit polynomial) and a positive
    symbol ``root`` standing for ``s``, the powers ``(sigma^2+eps)^{-1/2}``
    and ``(sigma^2+eps)^{-3/2}`` become ``1/s`` and ``1/s**3``, and equality
    is decided on rational functions, which is fast. It is sound: an
    identity that holds for an independent ``s`` holds at ``s = sqrt(...)``.
    A base counts as the radicand when it expands to it; any other base,
    and so a wrong base, is left alone. Works on a Matrix too.
    """
    target = sp.expand(radicand)
    needed = target.free_symbols
    same = {}

    def is_power_of_radicand(t):
        if not t.is_Pow or not needed <= t.base.free_symbols:
            return False
        if t.base not in same:
            same[t.base] = t.base == radicand or sp.expand(t.base - target) == 0
        return same[t.base]

    def swap(e):
        return e.replace(is_power_of_radicand, lambda t: root ** (2 * t.exp))
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(swap)
    return swap(sp.sympify(expr))


def instantiate(expr, *, values=None, arrays=None, size=None, index=None, rows=None):
    """A general (indexed) formula at one explicit size.

    Parameters
    ----------
    expr : sympy expression
        Written with ``sp.IndexedBase`` objects, ``sp.Sum`` and a size symbol.
    values : dict, optional
        Symbols to replace first (e.g. ``mu`` by its formula), applied in order.
    arrays : dict, optional
        ``{IndexedBase: Matrix}``; ``base[i]`` (1-based) becomes ``M[i-1]``,
        ``base[i, j]`` becomes ``M[i-1, j-1]``.
    size : (Symbol, int), optional
        The size symbol and its value, e.g. ``(N, 3)``.
    index, rows : Symbol, int, optional
        A free index: return the column Matrix of ``expr`` at
        ``index = 1..rows``.
    """
    if index is not None:
        return sp.Matrix([instantiate(expr.subs(index, k), values=values, arrays=arrays,
                                      size=size) for k in range(1, rows + 1)])
    for old, new in (values or {}).items():
        expr = expr.subs(old, new)
    if size is not None:
        expr = expr.subs(size[0], size[1])
    expr = expr.doit()
    arrays = arrays or {}

    def entry(e):
        M = arrays[e.base]
        ks = [int(k) - 1 for k in e.indices]
        return M[ks[0]] if len(ks) == 1 else M[ks[0], ks[1]]
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base in arrays, entry)


def check_sizes(name, build, values, *, symbol="N", lhs=None, rhs=None, display=None,
                extra="") -> Step:
    """Check one step at several sizes and return one Step for all of them.

    ``build(n)`` returns the ``(lhs, rhs)`` pair at size ``n``; each is
    proved with :func:`check_step` (so each is timed and recorded). The
    returned Step holds the general ``lhs`` and ``rhs`` (if given), the
    sizes as text (plus ``extra``, e.g. ``", D = 2"``) and the total time,
    building the objects included.
    """
    sizes = sizes_text(symbol, values) + extra
    start = time.perf_counter()
    last = None
    for n in values:
        left, right = build(n)
        last = check_step(f"{name} [{symbol} = {n}]", left, right,
                          sizes=f"{symbol} = {n}{extra}")
    seconds = time.perf_counter() - start
    return Step(name=name, lhs=last.lhs if lhs is None else lhs,
                rhs=last.rhs if rhs is None else rhs, sizes=sizes,
                seconds=seconds, display=display)
