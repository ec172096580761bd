"""A sympy answer from the sandbox, judged outside it: parse its ``srepr`` text without
``eval`` or ``sympify`` (only the node types of an answer are known), tell whether it holds a
float, and evaluate it at exact points with mpmath. The sandbox only prints the expression;
what it holds and what it is worth are decided here, by the grader. A sandbox that prints
another expression than the student's is graded on that expression, which then has to be the
right one, exactly.
"""
from __future__ import annotations

import ast
from fractions import Fraction

import mpmath
import numpy as np

MAX_TEXT = 200_000            # characters of one answer's srepr
MAX_NODES = 20_000

_CONSTANTS = {"Half": Fraction(1, 2), "One": 1, "Zero": 0, "NegativeOne": -1}
_FUNCTIONS = {"exp": mpmath.exp, "log": mpmath.log, "Abs": abs, "sqrt": mpmath.sqrt}


class NotAnAnswer(ValueError):
    pass


def parse(text: str):
    """The syntax tree of an srepr, checked for size."""
    if len(text) > MAX_TEXT:
        raise NotAnAnswer(f"the expression is too long ({len(text)} characters)")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise NotAnAnswer("the expression could not be read") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise NotAnAnswer("the expression has too many parts")
    return tree


def has_float(tree) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Float"
               for n in ast.walk(tree))


def symbols(tree) -> set[str]:
    return {n.args[0].value for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id == "Symbol" and n.args and isinstance(n.args[0], ast.Constant)}


def _const(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_const(node.operand)
    raise NotAnAnswer("the expression holds something that is not a number or a symbol")


def value(node, points: dict):
    """The value of a parsed srepr at ``points`` (symbol name -> Fraction), with mpmath."""
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return mpmath.mpf(Fraction(_CONSTANTS[node.id]).numerator) / Fraction(_CONSTANTS[node.id]).denominator
    if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Name):
        name, args = node.func.id, node.args
        if name in ("Integer",):
            return mpmath.mpf(int(_const(args[0])))
        if name == "Rational":
            return mpmath.mpf(int(_const(args[0]))) / int(_const(args[1]))
        if name == "Float":
            return mpmath.mpf(str(_const(args[0])))
        if name == "Symbol":
            symbol = _const(args[0])
            if symbol not in points:
                raise NotAnAnswer(f"the expression depends on a symbol the question does not use: {symbol}")
            p = Fraction(points[symbol])
            return mpmath.mpf(p.numerator) / p.denominator
        if name in ("Add", "Mul"):
            parts = [value(a, points) for a in args]
            return mpmath.fsum(parts) if name == "Add" else mpmath.fprod(parts)
        if name == "Pow" and len(args) == 2:
            return mpmath.power(value(args[0], points), value(args[1], points))
        if name in _FUNCTIONS and len(args) == 1:
            return _FUNCTIONS[name](value(args[0], points))
        if name in ("ImmutableDenseMatrix", "MutableDenseMatrix") and isinstance(args[0], ast.List):
            return [[value(entry, points) for entry in _row(row)] for row in args[0].elts]
    raise NotAnAnswer("the expression holds something other than numbers, symbols, +, *, powers "
                      "and matrices")


def _row(row):
    if not isinstance(row, ast.List):
        raise NotAnAnswer("a matrix whose rows could not be read")
    return row.elts


def evaluate(text: str, points: dict) -> tuple[np.ndarray, bool]:
    """(the answer's value at ``points`` as floats, whether it holds a float)."""
    tree = parse(text)
    with mpmath.workdps(40):
        try:
            result = value(tree, points)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError, RecursionError) as exc:
            if isinstance(exc, NotAnAnswer):
                raise
            raise NotAnAnswer(f"the expression could not be evaluated ({type(exc).__name__})") from None
        if isinstance(result, list):
            array = np.array([[_real(v) for v in row] for row in result], dtype=float)
        else:
            array = np.array(_real(result))
    return array, has_float(tree)


def _real(v) -> float:
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > 1e-30 * max(1, abs(v.real)):
            raise NotAnAnswer("the expression is not real at the grader's points")
        v = v.real
    return float(v)
