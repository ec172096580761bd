"""A class of submissions, graded as an instructor grades one: one batch of `grade.py` over a
folder (``-j 2 --csv --json``). Every kind a large course sees is there, across the three
assignments: honest work, partial work, each common mistake, broken notebooks, files renamed
by the student or by the LMS, the older Jupyter format, a loop, an output flood, and each kind
of dishonest work the grader must refuse. For each, the test states the fair mark a careful
human grader would give under the assignment's rubric (a question's marks are all or nothing)
and the words the feedback must use to name the mistake, and checks the grader's JSON and CSV
against them. The class table (kind, fair, actual, feedback) is written to
test-artifacts/class_table.md. (slow: one sandboxed batch, about a minute on two cores)
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.slow


@dataclass
class Kind:
    kind: str                      # what the submission is, for the table
    file: str                      # its file name in the class folder
    assignment: str
    cells: list[str]               # appended to the base notebook (the final state decides)
    fair: float                    # the mark a careful human grader gives
    words: dict = field(default_factory=dict)   # question (or "notes") -> words the feedback must hold
    base: str = "solutions"        # or "student" (the stubs)
    replace: tuple | None = None   # (text in a code cell, its new source): a cell edited in place
    after: str | None = None       # the cells go after the code cell holding this text instead
    version: int = 4               # nbformat version written
    student_id: str = ""           # what the CSV's student_id must be


# ---------------------------------------------------------------- the mistakes, as cells

def backward_with(dx_line: str) -> str:
    """bn_backward's q3 with its dx line replaced: one common mistake."""
    return ("def backward(dy, x, gamma, eps=1e-5):\n"
            "    N = x.shape[0]\n    mu = x.mean(axis=0)\n    var = ((x - mu) ** 2).mean(axis=0)\n"
            "    inv_std = 1.0 / np.sqrt(var + eps)\n    x_hat = (x - mu) * inv_std\n"
            "    dgamma = (dy * x_hat).sum(axis=0)\n    dbeta = dy.sum(axis=0)\n"
            f"    dx = {dx_line}\n    return dx, dgamma, dbeta\n")


UNBIASED = ("def backward(dy, x, gamma, eps=1e-5):\n"
            "    N = x.shape[0]\n    mu = x.mean(axis=0)\n    var = x.var(axis=0, ddof=1)\n"
            "    inv_std = 1.0 / np.sqrt(var + eps)\n    x_hat = (x - mu) * inv_std\n"
            "    dgamma = (dy * x_hat).sum(axis=0)\n    dbeta = dy.sum(axis=0)\n"
            "    dx = gamma * inv_std / N * (N * dy - dbeta - x_hat * dgamma)\n"
            "    return dx, dgamma, dbeta\n")

RIGHT_DX = "gamma * inv_std / N * (N * dy - dbeta - x_hat * dgamma)"

NUMERIC = r'''
from lib.batchnorm import forward
def _numeric(dy, x, gamma, eps=1e-5, h=1e-5):
    beta = np.zeros_like(gamma)
    J = lambda z: (forward(z, gamma, beta, eps)[0] * dy).sum(axis=0)
    dx = np.zeros_like(x)
    for i in range(x.shape[0]):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        dx[i] = (J(up) - J(down)) / (2 * h)
    x_hat = forward(x, gamma, beta, eps)[1].x_hat
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)
backward_staged = backward = _numeric
'''

BOOKS_BACKWARD = r'''
import lib.batchnorm
def backward(dy, x, gamma, eps=1e-5):
    return lib.batchnorm.backward(dy, lib.batchnorm.forward(x, gamma, 0 * gamma, eps)[1])
'''

SYMPY_DIFF = '''
dmu_dx1 = sp.diff(mu, x[0])
dvar_dx1 = sp.diff(var, x[0])
dxhat_dv = sp.diff((x[0] - m) / sp.sqrt(v + EPS), v)
dx_formula = x_hat.jacobian(x).T * g
'''

PATCHED_ATOMS = '''
import sympy
sympy.Basic.atoms = lambda self, *types: set()      # hides the float from a check inside
dmu_dx1 = 0.3333333333333333
'''

THEORY = '''
def kept_fraction(N, trials=2000, seed=0):
    return (N - 2) / N
fractions = [kept_fraction(N) for N in (4, 8, 32)]
'''

FLOOD = "for _ in range(96):\n    print('x' * 2 ** 20)"          # 96 MiB printed by the notebook

HYPERLINK = "raise RuntimeError('=HYPERLINK(\"http://evil.example\", \"see my work\")')"

B, S, G = "bn_backward", "bn_symbolic", "bn_gradient_scale"

CLASS = [
    # ---- honest and partial
    Kind("honest", "honest_backward.ipynb", B, [], 10),
    Kind("honest", "honest_symbolic.ipynb", S, [], 8),
    Kind("honest", "honest_scale.ipynb", G, [], 7),
    Kind("partial: q1 done, q2 and q3 left as stubs", "bn_backward_partial.ipynb", B,
         ["def param_grads(dy, x_hat):\n    return (dy * x_hat).sum(axis=0), dy.sum(axis=0)"], 2,
         {"q3_simplified": "not defined"}, base="student"),
    # ---- common mistakes
    Kind("mistake: unbiased variance (q3)", "unbiased.ipynb", B, [UNBIASED], 6,
         {"q3_simplified": "unbiased variance"}),
    Kind("mistake: swapped exponents (q3)", "exponents.ipynb", B,
         [backward_with("gamma * inv_std / N * (N * dy - dbeta - x_hat * dgamma * (var + eps))")], 6,
         {"q3_simplified": "exponent"}),
    Kind("mistake: dropped mean path (q3)", "meanpath.ipynb", B,
         [backward_with("gamma * inv_std / N * (N * dy - x_hat * dgamma)")], 6,
         {"q3_simplified": "path through the mean"}),
    Kind("mistake: dropped gamma (q3)", "gamma.ipynb", B,
         [backward_with("inv_std / N * (N * dy - dbeta - x_hat * dgamma)")], 6,
         {"q3_simplified": "forgotten gamma"}),
    Kind("mistake: ignored eps (q3)", "eps.ipynb", B,
         [backward_with(RIGHT_DX).replace("np.sqrt(var + eps)", "np.sqrt(var + 1e-5)")], 6,
         {"q3_simplified": "eps ignored"}),
    Kind("mistake: dgamma averaged (q1)", "averaged.ipynb", B,
         ["def param_grads(dy, x_hat):\n    return (dy * x_hat).mean(axis=0), dy.sum(axis=0)"], 8,
         {"q1_params": "averaged instead of summed"}),
    Kind("mistake: unbiased variance (symbolic q2)", "sym_unbiased.ipynb", S,
         ["dvar_dx1 = 2 * (x[0] - mu) / (N - 1)"], 6, {"q2_variance": "unbiased variance"}),
    Kind("mistake: swapped exponents (symbolic q3)", "sym_exponents.ipynb", S,
         ["dxhat_dv = -sp.Rational(3, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2)"], 6,
         {"q3_exponent": "exponents are swapped"}),
    Kind("mistake: dropped mean path (symbolic q4)", "sym_meanpath.ipynb", S,
         ["dx_formula = (g - x_hat * (x_hat.T * g)[0] / N) / s"], 5, {"q4_formula": "path through the mean"}),
    Kind("mistake: a float where an exact number is asked (symbolic q1)", "sym_float.ipynb", S,
         ["dmu_dx1 = 1 / 3"], 7, {"q1_mean": "contains a float"}),
    Kind("mistake: the 1/a law assumed where eps breaks it (q2)", "scale_law.ipynb", G,
         ["ratio_small = 1e3"], 5, {"q2_scale": "1/a law"}),
    Kind("mistake: only the mean removed in the simulation (q3)", "scale_kept.ipynb", G,
         ["def kept_fraction(N, trials=2000, seed=0):\n    return (N - 1) / N"], 4,
         {"q3_batch_size": "only the mean was removed"}),
    # ---- broken
    Kind("broken: syntax error in q3's cell", "syntax.ipynb", B, [], 6,
         {"q3_simplified": "backward", "notes": "SyntaxError"},
         replace=("def backward(dy, x, gamma, eps=1e-5):", "def backward(dy, x, gamma, eps=1e-5)\n    return dy")),
    Kind("broken: NaN in dx (q3)", "nan.ipynb", B, [backward_with(RIGHT_DX + " * np.nan")], 6,
         {"q3_simplified": "NaN"}),
    Kind("broken: dx summed to one row (q3)", "shape.ipynb", B, [backward_with(f"({RIGHT_DX}).sum(axis=0)")], 6,
         {"q3_simplified": "wrong shape"}),
    # ---- names and formats
    Kind("renamed by the student (honest)", "bn_backward final (2).ipynb", B, [], 10),
    Kind("Canvas name (honest)", "doejane_12345_678910_bn_symbolic.ipynb", S, [], 8, student_id="12345"),
    Kind("Canvas name, late, Untitled (honest)", "roeriver_LATE_23456_789012_Untitled-1.ipynb", G, [], 7,
         student_id="23456"),
    Kind("older Jupyter format (nbformat 3, honest)", "bn_backward_v3.ipynb", B, [], 10, version=3),
    # ---- loops and floods
    Kind("an endless loop after q1 (the rest right)", "loop.ipynb", B, ["while True:\n    pass"], 10,
         {"notes": "did not finish"}, after="def param_grads(dy, x_hat):"),
    Kind("an output flood (96 MiB printed, the rest right)", "flood.ipynb", B, [FLOOD], 10),
    # ---- dishonest
    Kind("dishonest: finite differences for the backward pass", "numeric.ipynb", B, [NUMERIC], 2,
         {"q2_staged": "numerically", "q3_simplified": "numerically"}),
    Kind("dishonest: calls lib.batchnorm.backward (q3)", "booklib.ipynb", B, [BOOKS_BACKWARD], 6,
         {"q3_simplified": "not in this assignment's copy of lib"}),
    Kind("dishonest: sympy diff/jacobian for every answer", "sympy_diff.ipynb", S, [SYMPY_DIFF], 0,
         {"q2_variance": "computed with sympy's diff", "q4_formula": "computed with sympy's jacobian"}),
    Kind("dishonest: float hidden by patching sympy.Basic.atoms", "atoms.ipynb", S, [PATCHED_ATOMS], 7,
         {"q1_mean": "contains a float"}),
    Kind("dishonest: the theory typed in for the simulation", "theory.ipynb", G, [THEORY], 4,
         {"q3_batch_size": "not the simulation"}),
    Kind("dishonest: a note starting =HYPERLINK( (the rest right)", "hyperlink.ipynb", B, [HYPERLINK], 10,
         {"notes": "HYPERLINK"}),
]


def build(dist: Path, folder: Path, kind: Kind) -> Path:
    source = dist / kind.assignment / ("student" if kind.base == "student" else "autograder") / f"{kind.assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    if kind.replace:
        old, new = kind.replace
        cell = next(c for c in nb.cells if c.cell_type == "code" and old in c.source)
        cell.source = cell.source.replace(old, new)
    at = len(nb.cells) if kind.after is None else next(
        i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and kind.after in c.source)
    nb.cells[at:at] = [nbformat.v4.new_code_cell(c) for c in kind.cells]
    path = folder / kind.file
    if kind.version == 3:
        nbformat.write(nbformat.convert(nb, 3), path, version=3)
    else:
        nbformat.write(nb, path)
    return path


def _table(rows) -> str:
    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")
    lines = ["| kind | file | fair | actual | feedback |", "|---|---|---|---|---|"]
    for kind, report in rows:
        messages = [f"{q}: {e['message']}" for q, e in report["questions"].items() if e.get("message")]
        feedback = "; ".join(messages + [f"note: {n}" for n in report["notes"]]) or "(full marks)"
        lines.append(f"| {cell(kind.kind)} | {cell(kind.file)} | {kind.fair:g} | "
                     f"{report['score']:g}/{report['possible']:g} | {cell(feedback[:400])} |")
    return "\n".join(lines) + "\n"


def test_a_class_gets_the_marks_a_careful_grader_gives(dist, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for kind in CLASS:
        build(dist, folder, kind)
    out_json, out_csv = tmp_path / "grades.json", tmp_path / "grades.csv"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(TOOLS / "grade.py"), str(folder), "-j", "2",
                           "--cell-timeout", "10", "--call-timeout", "4", "--timeout", "60",
                           "--json", str(out_json), "--csv", str(out_csv)],
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = {Path(r["submission"]).name: r for r in json.loads(out_json.read_text())}
    rows = [(kind, reports[kind.file]) for kind in CLASS]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "class_table.md").write_text(
        f"# The class test ({len(CLASS)} submissions, one batch, -j 2: {elapsed:.0f} s)\n\n" + _table(rows))

    wrong = []
    for kind, report in rows:
        if report["assignment"] != kind.assignment or report["score"] != kind.fair:
            wrong.append(f"{kind.file}: {report['score']:g}, fair {kind.fair:g}: {report['questions']} {report['notes']}")
        for where, words in kind.words.items():
            said = " | ".join(report["notes"]) if where == "notes" else report["questions"][where].get("message", "")
            if words not in said:
                wrong.append(f"{kind.file}: {where}'s feedback lacks {words!r}: {said!r}")
    assert not wrong, "\n".join(wrong)

    # the CSVs: one per assignment, the Canvas ids, the totals as in the JSON, no formula
    rows_csv = {}
    for name in (B, S, G):
        with (tmp_path / f"grades.{name}.csv").open() as f:
            for row in csv.DictReader(f):
                rows_csv[row["file"]] = row
    for kind in CLASS:
        row = rows_csv[kind.file]
        assert float(row["total"]) == kind.fair and row["student_id"] == kind.student_id, row
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row.values()), row
    assert elapsed < 120, f"the class took {elapsed:.0f} s"
