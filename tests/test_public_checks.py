"""The checks a student runs in the notebook are the grader's checks: for the right answer and
for each typical mistake, a public check passes exactly when the grader gives the question's
marks, and a public check never judges a student by their own earlier function. (fast: runs
the masters' solution cells, the public test cells and the grader's judges in this process,
without the sandbox)"""
from __future__ import annotations

import importlib.util
import sys

import jupytext
import numpy as np
import pytest

from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
sys.path.insert(0, str(TOOLS))
import runner  # noqa: E402
import specs  # noqa: E402


def master(name):
    """(setup and solution code cells, {question: [public test cells]}) of a master."""
    nb = jupytext.read(ROOT / "assignments" / "masters" / f"{name}.py")
    code, tests, question, in_tests = [], {}, None, False
    for cell in nb.cells:
        source = cell.source
        if cell.cell_type == "raw":
            if "# BEGIN QUESTION" in source:
                question = next(line.split(":", 1)[1].strip() for line in source.splitlines()
                                if line.startswith("name:"))
            in_tests = "# BEGIN TESTS" in source or (in_tests and "# END TESTS" not in source)
            continue
        if cell.cell_type != "code":
            continue
        if in_tests:
            assert "HIDDEN" not in source, f"{name} {question}: a hidden test runs nowhere; make it public"
            tests.setdefault(question, []).append(source)
        elif "check_step(" not in source:
            code.append(source)
    return code, tests


def solved(name, edit=""):
    code, tests = master(name)
    ns = {"__name__": "__main__"}
    for source in code + [edit]:
        exec(compile(source, "<cell>", "exec"), ns)
    return ns, tests


def public_passes(ns, cells):
    from lib.exercises import Mistake
    try:
        for source in cells:
            exec(compile(source, "<test>", "exec"), dict(ns))
    except Mistake as exc:
        return False, str(exc)
    return True, None


def grader_message(name, question, ns, seed=1):
    q = next(q for q in specs.ASSIGNMENTS[name] if q.name == question)
    cases, arrays, judge = q.build(np.random.default_rng(seed))
    inputs = {k: np.asarray(v) for k, v in arrays.items()}
    groups = [runner.evaluate(case, ns, inputs) for case in cases]
    return judge(groups)


BACKWARD_EDITS = {
    # question: {mistake: code replacing the student's function}
    "q3_simplified": {
        "ignores eps": ("_right = backward\n"
                        "def backward(dy, x, gamma, eps=1e-5):\n    return _right(dy, x, gamma)\n"),
        "unbiased variance": ("def backward(dy, x, gamma, eps=1e-5):\n"
                              "    N = x.shape[0]; mu = x.mean(0); var = x.var(0, ddof=1)\n"
                              "    inv = 1 / np.sqrt(var + eps); xh = (x - mu) * inv\n"
                              "    dg = (dy * xh).sum(0); db = dy.sum(0)\n"
                              "    return gamma * inv / N * (N * dy - db - xh * dg), dg, db\n"),
    },
    "q2_staged": {
        "ignores eps": ("_right_staged = backward_staged\n"
                        "def backward_staged(dy, x, gamma, eps=1e-5):\n"
                        "    return _right_staged(dy, x, gamma)\n"),
    },
}


@pytest.mark.parametrize("question,mistake", [(q, m) for q, ms in BACKWARD_EDITS.items() for m in ms])
def test_bn_backward_public_checks_fail_where_the_grader_takes_marks(question, mistake):
    ns, tests = solved("bn_backward", BACKWARD_EDITS[question][mistake])
    passed, _ = public_passes(ns, tests[question])
    message = grader_message("bn_backward", question, ns)
    assert message is not None, "the grader should take the marks"
    assert not passed, f"{mistake}: the public check passes, the grader says {message!r}"


def test_every_public_check_passes_on_the_solutions_and_the_grader_agrees():
    for name in ("bn_backward", "bn_gradient_scale"):
        ns, tests = solved(name)
        for question, cells in tests.items():
            assert public_passes(ns, cells) == (True, None), (name, question)
            assert grader_message(name, question, ns) is None, (name, question)


def test_bn_gradient_scale_checks_use_references_from_lib_not_the_students_function():
    # a wrong grad_norm with right ratios: q2 is right, q1 is wrong, in the notebook and the grader
    ns, tests = solved("bn_gradient_scale", "def grad_norm(x, dy, a, eps=1e-5):\n    return 1.0\n")
    assert public_passes(ns, tests["q2_scale"]) == (True, None)
    assert grader_message("bn_gradient_scale", "q2_scale", ns) is None
    passed, public = public_passes(ns, tests["q1_grad_norm"])
    graded = grader_message("bn_gradient_scale", "q1_grad_norm", ns)
    assert not passed and graded
    # feedback says more than a number: what the right value is and how to get it
    assert "batchnorm.backward" in graded and "times that" in graded, graded
    # ratios computed from a constant grad_norm are wrong for both
    ns, tests = solved("bn_gradient_scale", "def grad_norm(x, dy, a, eps=1e-5):\n    return 1.0\n"
                                            "ratio_big = grad_norm(x0, dy0, 10.0) / grad_norm(x0, dy0, 1.0)\n")
    assert public_passes(ns, tests["q2_scale"])[0] is False
    assert "scale invariant" in grader_message("bn_gradient_scale", "q2_scale", ns)


@pytest.mark.parametrize("edit,words", [
    ("def grad_norm(x, dy, a, eps=1e-5):\n    return a * np.linalg.norm(batchnorm.backward(dy, "
     "batchnorm.forward(a * x, gamma, beta, eps)[1])[0])\n", "chain rule"),
    ("def grad_norm(x, dy, a, eps=1e-5):\n    return np.linalg.norm(batchnorm.backward(dy, "
     "batchnorm.forward(a * x, gamma, beta, eps)[1])[0]) ** 2\n", "squared norm"),
])
def test_grad_norm_mistakes_are_named(edit, words):
    ns, tests = solved("bn_gradient_scale", edit)
    message = grader_message("bn_gradient_scale", "q1_grad_norm", ns)
    assert message and words in message, message
    assert public_passes(ns, tests["q1_grad_norm"])[0] is False


STAGED_DX = "    dmu = -dxc.sum(axis=0)\n    dx = dxc + dmu / N\n"
MISTAKES = {
    # mistake: (question, code replacing the answer, words the feedback must hold)
    "unbiased variance": ("q3_simplified", BACKWARD_EDITS["q3_simplified"]["unbiased variance"], "unbiased variance"),
    "ignored eps": ("q3_simplified", BACKWARD_EDITS["q3_simplified"]["ignores eps"], "eps ignored"),
    "ignored eps (staged)": ("q2_staged", BACKWARD_EDITS["q2_staged"]["ignores eps"], "eps ignored"),
    "dropped gamma": ("q3_simplified", "_r = backward\ndef backward(dy, x, gamma, eps=1e-5):\n"
                      "    dx, dg, db = _r(dy, x, gamma, eps)\n    return dx / gamma, dg, db\n", "forgotten gamma"),
    "dropped mean path": ("q3_simplified", "def backward(dy, x, gamma, eps=1e-5):\n"
                          "    N = x.shape[0]; mu = x.mean(0); var = x.var(0)\n"
                          "    inv = 1 / np.sqrt(var + eps); xh = (x - mu) * inv\n"
                          "    dg = (dy * xh).sum(0); db = dy.sum(0)\n"
                          "    return gamma * inv / N * (N * dy - xh * dg), dg, db\n", "path through the mean"),
    "swapped exponent": ("q3_simplified", "def backward(dy, x, gamma, eps=1e-5):\n"
                         "    N = x.shape[0]; mu = x.mean(0); var = x.var(0)\n"
                         "    inv = 1 / np.sqrt(var + eps); xh = (x - mu) * inv\n"
                         "    dg = (dy * xh).sum(0); db = dy.sum(0)\n"
                         "    return gamma * inv / N * (N * dy - db - xh * dg * (var + eps)), dg, db\n",
                         "exponents swapped"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_feedback_names_the_mistake_in_bn_backward(mistake):
    question, edit, words = MISTAKES[mistake]
    ns, tests = solved("bn_backward", edit)
    message = grader_message("bn_backward", question, ns)
    assert message and words in message, (mistake, message)
    passed, public = public_passes(ns, tests[question])
    assert not passed and words in public, (mistake, public)


def test_feedback_names_swapped_exponents_in_bn_symbolic():
    ns, _ = solved("bn_symbolic", "dxhat_dv = -sp.Rational(3, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2)\n")
    message = grader_message("bn_symbolic", "q3_exponent", ns)
    assert message and "exponents are swapped" in message, message


SYMBOLIC = {
    # answer cell: (question, words in the grader's message, or None for full marks)
    "dvar_dx1 = 2 * (x[0] - mu) / N": ("q2_variance", None),
    "dvar_dx1 = 2 * (x[0] - mu) / 3.0": ("q2_variance", "contains a float"),
    # the float hidden from a check run inside the sandbox: atoms patched
    "import sympy\nsympy.Basic.atoms = lambda self, *types: set()\ndvar_dx1 = 0.6666666666666666 * (x[0] - mu)":
        ("q2_variance", "contains a float"),
    "dvar_dx1 = 2 * (x[0] - mu) / (N - 1)": ("q2_variance", "unbiased variance"),
    "dmu_dx1 = sp.Symbol('z')": ("q1_mean", "symbol the question does not use"),
    "dmu_dx1 = 'not an expression ('": ("q1_mean", "should be a sympy expression"),
}


@pytest.mark.parametrize("cell", SYMBOLIC)
def test_a_symbolic_answer_is_read_and_judged_outside_the_sandbox(cell):
    question, words = SYMBOLIC[cell]
    ns, _ = solved("bn_symbolic", cell)
    try:
        message = grader_message("bn_symbolic", question, ns)
    except TypeError as exc:              # what the sandbox reports as the case's error
        message = str(exc)
    finally:
        import sympy
        sympy.Basic.atoms = ORIGINAL_ATOMS
    assert (message is None) if words is None else (message and words in message), message


import sympy  # noqa: E402
ORIGINAL_ATOMS = sympy.Basic.atoms


def test_the_simulated_values_the_public_checks_hold_are_the_graders():
    from lib.assignment_checks import SIMULATED
    for (N, trials, seed), values in SIMULATED.items():
        assert values == tuple(specs.simulate_kept(N, trials, seed, order) for order in (0, 1))


MACHINE = {
    # edit: (assignment, question, words in the grader's message)
    "theory typed in": ("bn_gradient_scale",
                        "def kept_fraction(N, trials=2000, seed=0):\n    return (N - 2) / N\n"
                        "fractions = [kept_fraction(N) for N in (4, 8, 32)]\n", "q3_batch_size", "not the simulation"),
}


@pytest.mark.parametrize("kind", MACHINE)
def test_machine_work_earns_nothing_and_the_public_check_says_so(kind):
    name, edit, question, words = MACHINE[kind]
    ns, tests = solved(name, edit)
    message = grader_message(name, question, ns)
    assert message and words in message, message
    passed, public = public_passes(ns, tests[question])
    assert not passed and words in public, public


SYMPY_DIFF = {
    "dmu_dx1 = sp.diff(mu, x[0])": "q1_mean",
    "d = sp.diff\ndvar_dx1 = d(var, x[0])": "q2_variance",
    "from sympy import diff as D\ndxhat_dv = D((x[0] - m) / sp.sqrt(v + EPS), v)": "q3_exponent",
    "def chain():\n    return x_hat.jacobian(x).T * g\nhelper = chain()\ndx_formula = helper": "q4_formula",
    "dx_formula = getattr(x_hat, 'jaco' + 'bian')(x).T * g": "q4_formula",
}


@pytest.mark.parametrize("cell", SYMPY_DIFF)
def test_an_answer_computed_by_sympys_differentiation_is_seen_in_the_code(cell, tmp_path):
    sys.path.insert(0, str(TOOLS))
    import derivation
    import nbformat
    question = SYMPY_DIFF[cell]
    variable = {q.name: q.derived for q in specs.BN_SYMBOLIC}[question]
    code, _ = master("bn_symbolic")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code + [cell]])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert derivation.computed(path, variable), cell
    honest = tmp_path / "honest.ipynb"          # every code cell of the master, its check_step included
    every = [c.source for c in jupytext.read(ROOT / "assignments" / "masters" / "bn_symbolic.py").cells
             if c.cell_type == "code"]
    assert any("check_step(" in c and "jacobian" in c for c in every)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in every]), honest)
    assert derivation.computed(honest, variable) is None      # a check_step with sp.diff is fine
