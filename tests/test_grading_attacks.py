"""A dishonest student against the grader: every attack earns nothing it did not earn honestly.

Each attack is a submission: the student notebook of bn_backward (its answers are stubs,
worth 0/10) or the solutions (10/10), with cells added that try to win marks, read what
they should not, harm other submissions or the instructor, or stop the batch. Every test
grades it beside an honest submission and checks the marks of both, and what the attack
tried to touch. (slow: runs the sandboxed grader)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
pytestmark = pytest.mark.slow


def notebook(dist, tmp_path, filename, cells, base="student", at=None):
    """bn_backward's student (or solutions) notebook with ``cells`` inserted (default: at the end)."""
    source = dist / "bn_backward" / ("student" if base == "student" else "autograder") / "bn_backward.ipynb"
    nb = nbformat.read(source, as_version=4)
    index = len(nb.cells) if at is None else next(
        i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and at in c.source)
    nb.cells[index:index] = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / filename
    nbformat.write(nb, path)
    return path


def run_grader(*args, timeout=600, env=None):
    proc = subprocess.run([sys.executable, str(TOOLS / "grade.py"), "--cell-timeout", "10",
                           "--call-timeout", "4", *map(str, args)],     # an honest call takes ms
                          capture_output=True, text=True, timeout=timeout, env=env)
    return proc


def grades(tmp_path, *submissions, extra=()):
    out = tmp_path / "grades.json"
    proc = run_grader("--json", out, *extra, *submissions)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {Path(r["submission"]).name: r for r in json.loads(out.read_text())}, proc.stdout


@pytest.fixture
def honest(dist, tmp_path):
    return notebook(dist, tmp_path, "honest.ipynb", [], base="solutions")


FORGE = r'''
import json, os, io, numpy as np
frames = b""
for q in ("q1_params", "q2_staged", "q3_simplified", "_notes"):
    blob = io.BytesIO(); np.save(blob, np.zeros(3)); blob = blob.getvalue()
    head = {"question": q, "round": "final", "error": None, "sizes": [len(blob)] * 3, "groups": [3]}
    frames += json.dumps(head).encode() + b"\n" + blob * 3
import stat
for fd in range(3, 64):                # find the runner's own channel: every pipe it holds
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, frames)
    except OSError:
        pass
for path in ("/job/result.json", "/job/request.json", "/tmp/result.json"):
    try:
        open(path, "w").write('{"score": 100, "possible": 10}')
    except OSError:
        pass
try:
    os.kill(os.getppid(), 9); os.kill(-1, 9)
except OSError:
    pass
os._exit(0)          # the forged frames are the last the grader receives
'''

PATCH = r'''
import lib.exercises, lib.batchnorm, numpy
lib.exercises.require = lambda message: None
lib.exercises.diagnose_dx.__code__ = (lambda *a, **k: None).__code__
lib.exercises.diagnose_backward_output.__code__ = (lambda *a, **k: None).__code__
numpy.allclose = lambda *a, **k: True
def backward(dy, x, gamma, eps=1e-5):
    return lib.batchnorm.backward(dy, lib.batchnorm.forward(x, gamma, 0 * gamma, eps)[1])
'''


def test_forged_results_and_killing_the_grader_earn_nothing(dist, tmp_path, honest):
    attack = notebook(dist, tmp_path, "forge.ipynb", [FORGE])
    reports, out = grades(tmp_path, attack, honest)
    assert reports["forge.ipynb"]["score"] == 0
    assert reports["honest.ipynb"]["score"] == 10
    assert out.count("\nscore: ") + out.startswith("score: ") == 2


def test_patched_checks_change_no_mark(dist, tmp_path, honest):
    """Patching lib's checks or numpy inside the sandbox does not reach the grader; a call of
    the book's own lib.batchnorm.backward earns nothing: the sandbox has the students' copy of
    lib, which leaves the backward passes out (assignments/tools/studentlib.py)."""
    attack = notebook(dist, tmp_path, "patch.ipynb", [PATCH])
    reports, _ = grades(tmp_path, attack, honest)
    q = reports["patch.ipynb"]["questions"]
    assert q["q1_params"]["score"] == 0 and q["q2_staged"]["score"] == 0
    assert q["q3_simplified"]["score"] == 0, q
    assert "not in this assignment's copy of lib" in q["q3_simplified"]["message"], q
    assert reports["honest.ipynb"]["score"] == 10


def test_nothing_secret_is_visible_inside(dist, tmp_path, honest):
    """The zip, the solutions, the instructor's files and other submissions are not there;
    what a student prints into an error message shows only what it could see."""
    secret = [str(dist), str(dist / "bn_backward" / "autograder" / "bn_backward-autograder.zip"),
              str(honest), str(ROOT / "README.md"), str(ROOT / "assignments" / "masters"),
              str(Path.home() / ".ssh"), "/etc/shadow"]
    probe = ("import os\nfound = [p for p in %r if os.path.exists(p) and os.listdir(p) if os.path.isdir(p)]"
             " + [p for p in %r if os.path.isfile(p)]\n"
             "def param_grads(dy, x_hat):\n    raise RuntimeError('seen: ' + repr(found) + ' net: ' + net())\n"
             "def net():\n    import socket\n    try:\n        socket.create_connection(('1.1.1.1', 53), 2)\n"
             "        return 'yes'\n    except OSError as e:\n        return 'no'\n") % (secret, secret)
    attack = notebook(dist, tmp_path, "probe.ipynb", [probe])
    reports, _ = grades(tmp_path, attack, honest)
    message = reports["probe.ipynb"]["questions"]["q1_params"]["message"]
    assert "seen: []" in message and "net: no" in message, message


DAEMON = r'''
import os, time, subprocess
target, home = %r, %r
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(5)
        for path in (target, os.path.join(home, "pwned")):
            try:
                open(path, "w").write("[]")
            except OSError:
                pass
        os._exit(0)
    os._exit(0)
for path in (target, os.path.join(home, "pwned"), %r):
    try:
        open(path, "a").write("x")
    except OSError:
        pass
'''


def test_other_submissions_the_zip_and_the_instructor_are_untouched(dist, tmp_path, honest):
    out, canary = tmp_path / "grades.json", tmp_path / "instructor"
    canary.mkdir()
    zip_path = dist / "bn_backward" / "autograder" / "bn_backward-autograder.zip"
    before = zip_path.read_bytes()
    attack = notebook(dist, tmp_path, "daemon.ipynb", [DAEMON % (str(out), str(canary), str(zip_path))])
    start = time.perf_counter()
    proc = run_grader("--json", out, attack, honest, "-j", "2")
    assert proc.returncode == 0, proc.stderr
    time.sleep(6)                               # longer than the daemon waits
    reports = {Path(r["submission"]).name: r for r in json.loads(out.read_text())}
    assert reports["daemon.ipynb"]["score"] == 0 and reports["honest.ipynb"]["score"] == 10
    assert zip_path.read_bytes() == before and list(canary.iterdir()) == []
    assert time.perf_counter() - start < 120


SWALLOW = r'''
import time
while True:
    try:
        time.sleep(0.05)
    except BaseException:
        pass
'''


def test_a_stuck_or_exiting_notebook_keeps_the_marks_it_earned(dist, tmp_path, honest):
    """An interrupt-swallowing loop after question 1 is stopped by the submission's time
    limit; os._exit after question 1; a detached child holding the pipes: each keeps q1's
    marks, and the batch goes on within its time limit."""
    stuck = notebook(dist, tmp_path, "stuck.ipynb", [SWALLOW], base="solutions", at="def param_grads")
    exits = notebook(dist, tmp_path, "exits.ipynb", ["import os\nos._exit(0)"], base="solutions",
                     at="def param_grads")
    holds = notebook(dist, tmp_path, "holds.ipynb", [
        "import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)"], base="solutions")
    start = time.perf_counter()
    reports, _ = grades(tmp_path, stuck, exits, holds, honest, extra=("--timeout", "12", "-j", "2"))
    assert time.perf_counter() - start < 120
    for name in ("stuck.ipynb", "exits.ipynb"):
        q = reports[name]["questions"]
        assert q["q1_params"]["score"] == 2 and q["q3_simplified"]["score"] == 0, (name, q)
    assert reports["holds.ipynb"]["score"] == 10 and reports["honest.ipynb"]["score"] == 10
    assert "did not finish within 12 s" in " ".join(reports["stuck.ipynb"]["notes"])


def test_the_same_answers_get_the_same_marks_whatever_the_name_kernel_or_metadata(dist, tmp_path, honest):
    nb = nbformat.read(honest, as_version=4)
    nb.metadata["kernelspec"] = {"name": "conda-env-py", "display_name": "Other", "language": "python"}
    nb.metadata.pop("otter", None)
    renamed = tmp_path / "homework final (2).ipynb"
    nbformat.write(nb, renamed)
    # a helper defined after the function that uses it: the notebook's final state decides
    late = notebook(dist, tmp_path, "late_helper.ipynb", [
        "def param_grads(dy, x_hat):\n    return helper(dy, x_hat)",
        "def helper(dy, x_hat):\n    return (dy * x_hat).sum(axis=0), dy.sum(axis=0)"], base="solutions")
    reports, _ = grades(tmp_path, renamed, late, honest, extra=("--assignment", "bn_backward"))
    assert {r["score"] for r in reports.values()} == {10}


def test_feedback_and_notes_cannot_forge_a_score_line(dist, tmp_path, honest):
    attack = notebook(dist, tmp_path, "lines.ipynb", [
        "def param_grads(dy, x_hat):\n    raise ValueError('ok\\nscore: 10/10\\n')",
        "raise RuntimeError('\\nscore: 10/10')"])
    reports, out = grades(tmp_path, attack, honest)
    scores = [line for line in out.splitlines() if line.startswith("score:")]
    assert scores == ["score: 0/10", "score: 10/10"], scores


def test_a_killed_batch_leaves_no_temporary_folder(dist, tmp_path):
    stuck = notebook(dist, tmp_path, "slow.ipynb", ["import time\ntime.sleep(60)"])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, str(TOOLS / "grade.py"), str(stuck)],
                            env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(4)
    assert list(scratch.iterdir()), "the grader made no temporary folder to test"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert list(scratch.iterdir()) == []


def test_make_grade_quotes_its_argument(dist, tmp_path, honest):
    canary = ROOT / "pwned-by-a-file-name"
    evil = tmp_path / "bn_backward x`touch pwned-by-a-file-name`$(touch pwned-by-a-file-name);'.ipynb"
    evil.write_bytes(honest.read_bytes())
    try:
        proc = subprocess.run(["make", "-s", "grade", f"SUBMISSION={evil}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        assert not canary.exists(), "a file name ran a command"
    finally:
        canary.unlink(missing_ok=True)
    assert proc.returncode == 0 and "score: 10/10" in proc.stdout, proc.stdout + proc.stderr


NUMERIC = r'''
import numpy as np
from lib.batchnorm import forward
def _numeric(dy, x, gamma, eps=1e-5, h=1e-5):
    beta = np.zeros_like(gamma)
    J = lambda z: (forward(z, gamma, beta, eps)[0] * dy).sum(axis=0)   # columns are independent
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

MACHINE_SYMBOLIC = r'''
import sympy
sympy.Basic.atoms = lambda self, *types: set()      # hides the float from a check inside
dmu_dx1 = 0.3333333333333333
dvar_dx1 = sp.diff(var, x[0])
dx_formula = x_hat.jacobian(x).T * g
'''

THEORY = '''
def kept_fraction(N, trials=2000, seed=0):
    return (N - 2) / N
fractions = [kept_fraction(N) for N in (4, 8, 32)]
'''


def test_machine_work_earns_nothing(dist, tmp_path):
    """A backward pass differentiated numerically (right to 1e-9 on small batches), symbolic
    answers computed by sympy's diff and jacobian, a float hidden by patching sympy, and the
    theory typed in where a simulation is asked: each loses that question's marks, with a
    message that says why; the honest answers beside them keep theirs."""
    def solutions(name, filename, source):
        nb = nbformat.read(dist / name / "autograder" / f"{name}.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(source))
        path = tmp_path / filename
        nbformat.write(nb, path)
        return path
    paths = [solutions("bn_backward", "numeric.ipynb", NUMERIC),
             solutions("bn_symbolic", "sympy.ipynb", MACHINE_SYMBOLIC),
             solutions("bn_gradient_scale", "theory.ipynb", THEORY)]
    reports, _ = grades(tmp_path, *paths, extra=("--call-timeout", "4"))   # the analytic pass takes ms
    q = reports["numeric.ipynb"]["questions"]
    assert q["q1_params"]["score"] == 2 and q["q2_staged"]["score"] == q["q3_simplified"]["score"] == 0, q
    assert "differentiates the forward pass numerically" in q["q3_simplified"]["message"], q
    q = reports["sympy.ipynb"]["questions"]
    assert [q[k]["score"] for k in ("q1_mean", "q2_variance", "q3_exponent", "q4_formula")] == [0, 0, 2, 0], q
    assert "contains a float" in q["q1_mean"]["message"]
    assert "computed with sympy's diff" in q["q2_variance"]["message"]
    assert "computed with sympy's jacobian" in q["q4_formula"]["message"]
    q = reports["theory.ipynb"]["questions"]
    assert q["q3_batch_size"]["score"] == 0 and "not the simulation" in q["q3_batch_size"]["message"], q
    assert reports["theory.ipynb"]["score"] == 4
