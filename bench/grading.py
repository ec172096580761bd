"""The ``grading`` section of ``make bench``: what the sandbox costs, and what -j buys.

* seconds per submission (the bn_backward solutions), graded in the sandbox against the
  same runner started directly, without bubblewrap or limits: the overhead ratio;
* a batch of 50 copies (6 with --quick) graded by ``grade.py`` serially and with ``-j 2``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "assignments" / "tools"


def _tools():
    sys.path.insert(0, str(TOOLS))
    import grade
    import sandbox
    return grade, sandbox


def _per_submission(grade, sandbox, solution, rounds):
    """Median seconds of one grading, sandboxed and direct, interleaved round by round."""
    sandboxed, direct = [], []
    real = sandbox.command
    for _ in range(rounds):
        for times, command in ((sandboxed, real),
                               (direct, lambda job, c, k, *_: [sys.executable, "-I", str(sandbox.RUNNER), str(job)])):
            sandbox.command = command
            start = time.perf_counter()
            report = grade.grade(solution, assignment="bn_backward", seed=1)
            times.append(time.perf_counter() - start)
            assert report["score"] == report["possible"], report
    sandbox.command = real
    return median(sandboxed), median(direct)


def _batch(folder, jobs):
    start = time.perf_counter()
    subprocess.run([sys.executable, str(TOOLS / "grade.py"), str(folder), "-j", str(jobs), "--seed", "1",
                    "--assignment", "bn_backward"], check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - start


def bench_grading(quick):
    grade, sandbox = _tools()
    if not sandbox.bwrap_works():
        return {"skipped": "bubblewrap cannot make namespaces on this machine"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, str(TOOLS / "generate.py"), "--out", str(tmp / "dist"), "bn_backward"],
                       check=True, capture_output=True, timeout=600)
        solution = tmp / "dist" / "bn_backward" / "autograder" / "bn_backward.ipynb"
        boxed, direct = _per_submission(grade, sandbox, solution, 3 if quick else 7)
        count = 6 if quick else 50
        (tmp / "batch").mkdir()
        for k in range(count):
            shutil.copy(solution, tmp / "batch" / f"student{k:02d}.ipynb")
        serial, parallel = _batch(tmp / "batch", 1), _batch(tmp / "batch", 2)
    return {"sandboxed_s": boxed, "direct_s": direct, "overhead": boxed / direct,
            "batch": count, "serial_s": serial, "parallel_s": parallel, "speedup": serial / parallel}
