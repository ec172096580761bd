"""The students' copy of lib for an assignment answers none of its questions, and the notebook's
public checks still work with it. (fast: builds the copy from this lib, runs the master's
public checks in a fresh interpreter that imports only that copy)"""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
sys.path.insert(0, str(TOOLS))
import studentlib  # noqa: E402

SCRIPT = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import jupytext, numpy as np, lib, lib.batchnorm, lib.exercises
    assert lib.__file__.startswith(sys.argv[1]), lib.__file__
    from lib.exercises import Mistake, problem
    out = []
    try:
        lib.batchnorm.backward(np.ones((3, 2)), None)
    except NotImplementedError as exc:
        out.append("backward: left out")
    x, gamma, _, dy = problem(7, 3, seed=99)             # not a public problem: no answer for it
    try:
        lib.exercises.reference(x, gamma, dy)
    except ValueError as exc:
        out.append("reference: only public problems")
    nb = jupytext.read(sys.argv[2])
    ns, tests, inside = {"__name__": "__main__"}, [], False
    for cell in nb.cells:
        if cell.cell_type == "raw":
            inside = "# BEGIN TESTS" in cell.source or (inside and "# END TESTS" not in cell.source)
        elif cell.cell_type == "code":
            (tests if inside else [None]).append(cell.source) if inside else exec(cell.source, ns)
    for source in tests:
        exec(source, dict(ns))
    out.append("public checks pass")
    exec("def backward(dy, x, gamma, eps=1e-5):\\n"
         "    N = x.shape[0]; mu = x.mean(0); var = x.var(0, ddof=1)\\n"
         "    inv = 1 / np.sqrt(var + eps); xh = (x - mu) * inv\\n"
         "    dg = (dy * xh).sum(0); db = dy.sum(0)\\n"
         "    return gamma * inv / N * (N * dy - db - xh * dg), dg, db\\n", ns)
    out.append(str(ns["diagnose_backward"](ns["backward"])))
    print("\\n".join(out))
''')


def test_bn_backward_students_lib_holds_no_backward_pass_and_its_checks_work(tmp_path):
    shutil.copytree(ROOT / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    studentlib.write("bn_backward", tmp_path / "lib")
    text = (tmp_path / "lib" / "batchnorm.py").read_text() + (tmp_path / "lib" / "exercises.py").read_text()
    for name in ("_backward_staged", "_backward_simplified", "_backward_rowwise", "_backward_columnwise",
                 "rowwise_paths", "_no_eps_dx", "unbiased_formula"):
        assert f"def {name}" not in text and f"{name} =" not in text, name
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(ROOT / "assignments" / "masters" /
                                                                          "bn_backward.py")],
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["backward: left out", "reference: only public problems", "public checks pass"]
    assert "unbiased variance" in lines[3], lines


def test_other_assignments_use_the_full_lib():
    assert studentlib.parent_for("bn_gradient_scale", ROOT / "lib") == str(ROOT)
