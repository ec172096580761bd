"""Run one student notebook inside the sandbox and hand back only results.

    python runner.py JOB_DIR

``JOB_DIR`` (read-only in the sandbox) holds ``submission.ipynb``, ``request.json`` and
``inputs.npz``, all written by the grader. The runner executes the notebook's code cells in
order, in one namespace, each under a time limit; after every cell, and once more at the
end, it evaluates each question whose names now exist on the grader's inputs and writes the
outcome to its standard output as frames. The student's own printing goes to /dev/null.

A frame is a line of JSON (question, evaluation round, ``ok`` or an error text) followed by
the named ``.npy`` arrays of the outcome, their byte lengths given in the JSON. Nothing here
decides a mark: the grader reads arrays and numbers only (``allow_pickle=False``) and
compares them with its own references. A submission that writes frames itself can only
report answers for the grader's fresh inputs, which is the work the question asks for.

This file runs inside the sandbox with the student's code: it imports only the standard
library, numpy and (for symbolic answers) sympy.
"""
from __future__ import annotations

import io
import json
import os
import signal
import sys
import types

import numpy as np

CELL_SECONDS = float(os.environ.get("BN_CELL_SECONDS", "60"))
CALL_SECONDS = float(os.environ.get("BN_CALL_SECONDS", "30"))


class Overtime(BaseException):
    """Raised by the alarm: a BaseException, so that ``except Exception`` does not hide it."""


def _alarm(signum, frame):
    raise Overtime()


def limited(seconds, fn, *args):
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def stub_otter():
    """``otter`` in the sandbox: ``grader.check`` cells do nothing (grading is not here)."""
    class Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def check(self, *args, **kwargs):
            return None

        def check_all(self, *args, **kwargs):
            return None

        def export(self, *args, **kwargs):
            return None

    otter = types.ModuleType("otter")
    otter.Notebook = Notebook
    sys.modules["otter"] = otter


# ---------------------------------------------------------------- evaluating a question

def as_arrays(value, name):
    """A returned value as a list of float arrays (a tuple or list gives several)."""
    parts = list(value) if isinstance(value, (tuple, list)) else [value]
    arrays = []
    for part in parts:
        if part is None or part is Ellipsis:
            raise TypeError(f"{name} returned {part!r}: is the answer filled in?")
        array = np.asarray(part)
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            raise TypeError(f"{name} gave a {type(part).__name__}, not numbers")
        arrays.append(np.array(array, dtype=np.float64))
    return arrays


def expression(expr, name):
    """A sympy answer as the text of its ``srepr``, in bytes: the grader parses it without
    eval, tells floats from exact numbers and evaluates it itself (``sreprs.py``)."""
    import sympy as sp

    try:
        expr = sp.sympify(expr)
    except (sp.SympifyError, TypeError):
        raise TypeError(f"{name} should be a sympy expression, got {type(expr).__name__}") from None
    text = sp.srepr(expr)
    if not isinstance(text, str) or len(text) > 200_000:
        raise TypeError(f"{name} is too long an expression to grade")
    return [np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()]


def evaluate(case, ns, inputs):
    """One case of a question: a call, a variable's value, or a sympy expression's value."""
    name = case["name"]
    if name not in ns:
        raise NameError(f"{name} is not defined")
    target = ns[name]
    if case["kind"] == "call":
        if not callable(target):
            raise TypeError(f"{name} should be a function")
        args = [np.array(inputs[k]) if isinstance(k, str) and k in inputs else k for k in case["args"]]
        return as_arrays(target(*args), name)
    if case["kind"] == "value":
        return as_arrays(target, name)
    return expression(target, name)


def answer(question, ns, inputs):
    """Every case of a question: (a list of arrays per case, None), or (None, the first error)."""
    groups = []
    for k, case in enumerate(question["cases"]):
        try:        # the call and every conversion of what it returns, under one time limit
            groups.append(limited(CALL_SECONDS, evaluate, case, ns, inputs))
        except Overtime:
            return None, f"case {k + 1}: did not finish within {CALL_SECONDS:g} s"
        except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
            return None, f"case {k + 1}: {describe(exc)}"
    return groups, None


def describe(exc, limit=300):
    """``Type: message`` of an exception, under a time limit (its ``__str__`` is the student's)."""
    try:
        return limited(2, lambda: f"{type(exc).__name__}: {str(exc)[:limit]}")
    except BaseException:  # noqa: BLE001
        return "an exception whose message could not be shown"


def send(out, question, round_, groups, error):
    blobs = []
    for array in (a for group in groups or [] for a in group):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        blobs.append(buffer.getvalue())
    header = {"question": question, "round": round_, "error": error, "sizes": [len(b) for b in blobs],
              "groups": [len(group) for group in groups or []]}
    out.write(json.dumps(header).encode() + b"\n" + b"".join(blobs))
    out.flush()


# ---------------------------------------------------------------- the notebook

def notebook_cells(nb) -> list:
    """The cells of a notebook in nbformat 4, or in the older 3 (cells in worksheets, a code
    cell's source under "input"), as dicts with "cell_type" and "source". derivation.py reads
    notebooks the same way, so that it sees the code the runner runs."""
    if not isinstance(nb, dict):
        return []
    if "worksheets" in nb and "cells" not in nb:
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) and isinstance(ws.get("cells"), list)
                 for c in ws["cells"]]
        return [{"cell_type": c.get("cell_type"), "source": c.get("input", c.get("source", ""))}
                for c in cells if isinstance(c, dict)]
    cells = nb.get("cells", [])
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def code_cells(path):
    cells = notebook_cells(json.loads(open(path, encoding="utf-8").read()))
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            # IPython magics and shell lines are not Python; the grader skips them
            yield "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def run_cell(source, ns, index, notes):
    try:
        limited(CELL_SECONDS, exec, compile(source, f"<cell {index}>", "exec"), ns)
    except Overtime:
        notes.append(f"code cell {index + 1} did not finish within {CELL_SECONDS:g} s and was stopped "
                     f"(an endless loop?)")
    except BaseException as exc:  # noqa: BLE001
        notes.append(f"code cell {index + 1} raised {describe(exc, 200)}")


def main(job):
    if os.environ.get("BN_LIB_PARENT"):          # the book's lib, which the notebooks import
        sys.path.insert(0, os.environ["BN_LIB_PARENT"])
    request = json.loads(open(os.path.join(job, "request.json"), encoding="utf-8").read())
    with np.load(os.path.join(job, "inputs.npz"), allow_pickle=False) as data:
        inputs = {k: data[k] for k in data.files}
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    send(out, "_started", "start", [], None)      # before anything of the student's is read
    stub_otter()
    ns, notes, answered = {"__name__": "__main__"}, [], set()
    for index, source in enumerate(code_cells(os.path.join(job, "submission.ipynb"))):
        run_cell(source, ns, index, notes)
        for question in request["questions"]:
            names = {c["name"] for c in question["cases"]}
            if question["name"] not in answered and names <= set(ns):
                groups, error = answer(question, ns, inputs)
                send(out, question["name"], index, groups, error)
                if error is None:
                    answered.add(question["name"])
    for question in request["questions"]:      # the notebook's final state decides
        groups, error = answer(question, ns, inputs)
        send(out, question["name"], "final", groups, error)
    send(out, "_notes", "final", [], json.dumps(notes[:20]))


if __name__ == "__main__":
    main(sys.argv[1])
