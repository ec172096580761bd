"""The instructor kit: otter assign makes student notebooks and autograders,
and the grader gives full, zero and partial marks with feedback that names
the mistake, surviving submissions that break (slow: runs otter)."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "assignments" / "tools"
MASTERS = ROOT / "assignments" / "masters"
NAMES = ("bn_backward", "bn_gradient_scale", "bn_symbolic")
CELL_TIMEOUT = 10   # an endless top-level loop costs this much, not the whole grading
CALL_TIMEOUT = 4    # and an endless function this much a round (an honest call takes milliseconds)

pytestmark = pytest.mark.slow


def _load(name):
    spec = importlib.util.spec_from_file_location(f"assignment_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


grade_tool = _load("grade")


def grade_cli(dist, *submissions):
    """Run the grading command on several submissions; return (stdout, reports)."""
    report_path = Path(submissions[0]).parent / "reports.json"
    proc = subprocess.run([sys.executable, str(TOOLS / "grade.py"), "--dist", str(dist),
                           "--cell-timeout", str(CELL_TIMEOUT), "--call-timeout", str(CALL_TIMEOUT),
                           "--json", str(report_path),
                           *map(str, submissions)],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(report_path.read_text())


def solution_lines(name):
    """The lines of code that otter must strip from a master: marked ``# SOLUTION``
    or between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` inside a code cell."""
    lines, given, inside = [], set(), False
    for line in (MASTERS / f"{name}.py").read_text().splitlines():
        if line.strip() == "# BEGIN SOLUTION":      # inside a code cell, not the raw cell
            inside = True
            continue
        if line.strip() == "# END SOLUTION":
            inside = False
            continue
        code = line.split("#")[0].strip()       # the code without its comment
        if "# SOLUTION" in line or inside:
            if len(code) > 12 and not code.startswith(("#", "def ")):
                lines.append(code)
        else:
            given.add(code)
    return [line for line in lines if line not in given]  # a line also in the skeleton may stay


def student_notebook(dist, name):
    return dist / name / "student" / f"{name}.ipynb"


def solutions_notebook(dist, name):
    return dist / name / "autograder" / f"{name}.ipynb"


def test_generation_writes_student_notebooks_and_autograder_zips(dist):
    for name in NAMES:
        assert student_notebook(dist, name).is_file()
        assert (dist / name / "student" / "lib" / "exercises.py").is_file()
        assert (dist / name / "autograder" / f"{name}-autograder.zip").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_student_notebooks_hold_no_solution_code(dist, name):
    text = student_notebook(dist, name).read_text()
    solutions = solution_lines(name)
    assert len(solutions) >= 2, "the master should have solution code to strip"
    leaked = [line for line in solutions if json.dumps(line)[1:-1] in text]
    assert leaked == []
    assert "HIDDEN" not in text  # hidden tests stay in the autograder


@pytest.mark.parametrize("name", NAMES)
def test_student_notebooks_are_valid_python_with_checks(dist, name):
    nb = nbformat.read(student_notebook(dist, name), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for source in code:
        compile(source, "<cell>", "exec")   # a student can run every cell
    assert sum("grader.check(" in source for source in code) >= 3


def test_solutions_get_full_marks_and_untouched_notebooks_zero(dist):
    submissions = [solutions_notebook(dist, n) for n in NAMES] + \
                  [student_notebook(dist, n) for n in NAMES]
    out, reports = grade_cli(dist, *submissions)
    for report in reports[:3]:
        assert report["possible"] > 0
        assert report["score"] == report["possible"], report
    for report in reports[3:]:
        assert report["score"] == 0, report
    scores = re.findall(r"^score: (\S+)/(\S+)$", out, flags=re.M)
    assert len(scores) == 6 and scores[0][0] == scores[0][1] and scores[3][0] == "0"


def _variant(dist, tmp_path, filename, edit):
    """A copy of the bn_backward solutions with one edit(cells) applied."""
    nb = nbformat.read(solutions_notebook(dist, "bn_backward"), as_version=4)
    edit(nb.cells)
    path = tmp_path / filename
    nbformat.write(nb, path)
    return path


def _replace(needle, old, new):
    def edit(cells):
        cell = next(c for c in cells if c.cell_type == "code" and needle in c.source)
        assert old in cell.source
        cell.source = cell.source.replace(old, new)
    return edit


WRONG = {
    # file name: (edit, question that loses its points, expected words in the feedback)
    "wrong_shape.ipynb": (_replace("def param_grads", "(dy * x_hat).sum(axis=0)", "dy * x_hat"),
                          "q1_params", "wrong shape"),
    "no_gamma.ipynb": (_replace("def backward(dy", "dx = gamma * inv_std", "dx = inv_std"),
                       "q3_simplified", "forgotten gamma"),
    "sign_error.ipynb": (_replace("def backward_staged", "dmu = -dxc.sum(axis=0)",
                                  "dmu = dxc.sum(axis=0)"),
                         "q2_staged", "sign error in the path through the mean"),
}


def test_typical_mistakes_get_partial_marks_and_named_feedback(dist, tmp_path):
    paths = [_variant(dist, tmp_path, f, edit) for f, (edit, _, _) in WRONG.items()]
    out, reports = grade_cli(dist, *paths)
    for (filename, (_, question, words)), report in zip(WRONG.items(), reports):
        assert 0 < report["score"] < report["possible"], (filename, report)
        for name, q in report["questions"].items():
            if name == question:
                assert q["score"] == 0 and words in q["message"], (filename, q)
            else:
                assert q["score"] == q["possible"], (filename, name, q)
        assert words in out


def _add_cell(source, after):
    def edit(cells):
        index = next(i for i, c in enumerate(cells) if c.cell_type == "code" and after in c.source)
        cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return edit


def _delete(needle):
    def edit(cells):
        cells[:] = [c for c in cells if not (c.cell_type == "code" and needle in c.source)]
    return edit


BAD = {
    # file name: (edit, question that loses its points or None, words in the report)
    "syntax_error.ipynb": (_replace("def backward(dy", "def backward(dy, x, gamma, eps=1e-5):",
                                    "def backward(dy, x, gamma, eps=1e-5)"),
                           "q3_simplified", "SyntaxError"),
    "exception.ipynb": (_replace("def backward_staged", "    N = x.shape[0]\n",
                                 "    N = x.shape[0]\n    raise RuntimeError('boom')\n"),
                        "q2_staged", "RuntimeError: boom"),
    "missing_cell.ipynb": (_delete("def param_grads"), "q1_params", "NameError"),
    "endless_loop.ipynb": (_add_cell("while True:\n    pass", after="from lib.batchnorm"),
                           None, "endless loop"),
    "endless_function.ipynb": (_replace("def backward(dy", "    N = x.shape[0]\n",
                                        "    N = x.shape[0]\n    while True:\n        pass\n"),
                               "q3_simplified", "endless loop"),
}


def test_bad_submissions_are_graded_and_the_next_one_normally(dist, tmp_path):
    paths = [_variant(dist, tmp_path, f, edit) for f, (edit, _, _) in BAD.items()]
    broken = tmp_path / "bn_backward_broken.ipynb"
    broken.write_text('{"cells": [ this is not json')
    good = solutions_notebook(dist, "bn_backward")
    out, reports = grade_cli(dist, *paths, broken, good)
    for (filename, (_, question, words)), report in zip(BAD.items(), reports):
        text = json.dumps(report)
        assert words in text, (filename, report)
        for name, q in report["questions"].items():
            lost = name == question
            assert q["score"] == (0 if lost else q["possible"]), (filename, name, q)
    not_json = reports[len(BAD)]
    assert not_json["assignment"] == "bn_backward"          # recognised from its file name
    assert not_json["score"] == 0 and not_json["possible"] == 10
    assert "could not be graded" in " ".join(not_json["notes"])
    assert reports[-1]["score"] == reports[-1]["possible"] == 10
    assert out.count("\nscore: ") + out.startswith("score: ") == len(BAD) + 2


def test_a_course_folder_is_graded_in_parallel_into_a_csv_for_the_lms(dist, tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for k in range(3):
        (folder / f"student{k}.ipynb").write_bytes(solutions_notebook(dist, "bn_backward").read_bytes())
    (folder / "student9.ipynb").write_bytes(student_notebook(dist, "bn_backward").read_bytes())
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, str(TOOLS / "grade.py"), str(folder), "-j", "2",
                           "--assignment", "bn_backward", "--csv", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    import csv
    rows = list(csv.DictReader(out.open()))
    assert [r["student"] for r in rows] == ["student0", "student1", "student2", "student9"]
    assert rows[0].keys() >= {"assignment", "q1_params", "q2_staged", "q3_simplified", "total", "possible", "notes"}
    assert [r["total"] for r in rows] == ["10", "10", "10", "0"] and {r["possible"] for r in rows} == {"10"}
    assert rows[0]["q2_staged"] == "4" and rows[3]["q2_staged"] == "0"


def test_a_reference_never_comes_from_the_students_own_function(dist, tmp_path):
    """bn_gradient_scale q2 used to divide two values of the student's grad_norm: a constant
    grad_norm made the ratio 1 and still scored. The reference now comes from lib."""
    nb = nbformat.read(solutions_notebook(dist, "bn_gradient_scale"), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def grad_norm" in c.source)
    cell.source = "def grad_norm(x, dy, a, eps=1e-5):\n    return 1.0\n"
    path = tmp_path / "bn_gradient_scale_constant.ipynb"
    nbformat.write(nb, path)
    out, reports = grade_cli(dist, path)
    q = reports[0]["questions"]
    assert q["q1_grad_norm"]["score"] == 0 and q["q2_scale"]["score"] == 0, q
    assert "scale invariant, but the gradient is not" in q["q2_scale"]["message"]
