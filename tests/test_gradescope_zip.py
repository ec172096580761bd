"""The Gradescope autograder zips grade with the sandboxed grader, in an environment built
from the zip alone: a fresh venv with only the zip's requirements.txt (uv, cached), the
zip's own lib and grading files, and Gradescope's folder layout. (slow)"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
NAMES = ("bn_backward", "bn_gradient_scale", "bn_symbolic")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.mark.fresh_env
@pytest.mark.parametrize("name", NAMES)
def test_the_zip_grades_in_an_environment_built_from_the_zip_alone(dist, name, tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(dist / name / "autograder" / f"{name}-autograder.zip") as archive:
        archive.extractall(root / "source")
        assert "python /autograder/source/grading/gradescope.py" in archive.read("run_autograder").decode()
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(tmp_path / "env")], check=True)
    python = tmp_path / "env" / "bin" / "python"
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(python), "-r",
                    str(root / "source" / "requirements.txt")], check=True, timeout=600)
    # the student folder, handed out alone (an LMS zip), imports in that environment too
    proc = subprocess.run([str(python), "-c", "import lib.exercises, lib.batchnorm, lib.symbolic; print(lib.__file__)"],
                          cwd=dist / name / "student", capture_output=True, text=True)
    assert proc.returncode == 0 and str(dist / name / "student") in proc.stdout, proc.stderr
    for notebook, expected in (("autograder", "all"), ("student", 0)):
        (root / "submission").mkdir(parents=True, exist_ok=True)
        for old in (root / "submission").iterdir():
            old.unlink()
        shutil.copy(dist / name / notebook / f"{name}.ipynb", root / "submission" / "upload.ipynb")
        proc = subprocess.run([str(python), str(root / "source" / "grading" / "gradescope.py")],
                              env={"AUTOGRADER_ROOT": str(root), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        possible = sum(t["max_score"] for t in results["tests"])
        assert possible > 0 and results["score"] == (possible if expected == "all" else 0), results


@pytest.mark.parametrize("name", NAMES)
def test_the_grader_and_the_zip_agree_on_the_points(dist, name):
    sys.path.insert(0, str(TOOLS))
    import specs
    import ast
    points = {}
    with zipfile.ZipFile(dist / name / "autograder" / f"{name}-autograder.zip") as archive:
        for member in archive.namelist():
            if member.startswith("tests/") and member.endswith(".py"):
                tree = ast.parse(archive.read(member).decode())
                test = next(ast.literal_eval(n.value) for n in tree.body
                            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "test")
                points[test["name"]] = float(test["points"])
    assert points == {q.name: float(q.points) for q in specs.ASSIGNMENTS[name]}


def _autograde(python, root, env=()):
    proc = subprocess.run([str(python), str(root / "source" / "grading" / "gradescope.py")],
                          env={"AUTOGRADER_ROOT": str(root), "PATH": "/usr/bin:/bin", **dict(env)},
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text()), proc.stdout


DEBIAN_PYTHON = Path("/usr/bin/python3.11")


@pytest.mark.fresh_env
def test_the_zip_grades_on_gradescopes_fallback_as_user_nobody(dist):
    """Gradescope's usual case: no namespaces for bubblewrap, the grader root, the notebook run
    as user nobody. The zip is unpacked with unzip (its modes kept, as Gradescope does) into a
    folder only root can enter, beside a fresh venv (Debian's interpreter: one under /root would
    need /root opened, which a test must not do to its machine). An honest notebook gets full
    marks on both paths; with a scratch notebook uploaded beside it, the right one is graded and
    the report says which and why."""
    if os.geteuid() != 0 or not DEBIAN_PYTHON.exists():
        pytest.skip("needs root (to drop to nobody, as on Gradescope) and Debian's python3.11")
    name = "bn_backward"
    base = Path(tempfile.mkdtemp(prefix="gradescope-"))     # mode 0700, like /root
    try:
        root = base / "autograder"
        root.mkdir()
        subprocess.run(["unzip", "-q", str(dist / name / "autograder" / f"{name}-autograder.zip"), "-d",
                        str(root / "source")], check=True)
        uv = Path(sys.executable).parent / "uv"
        subprocess.run([str(uv), "venv", "--quiet", "--python", str(DEBIAN_PYTHON), str(base / "env")], check=True)
        python = base / "env" / "bin" / "python"
        subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(python), "-r",
                        str(root / "source" / "requirements.txt")], check=True, timeout=600)
        submission = root / "submission"
        submission.mkdir(parents=True)
        shutil.copy(dist / name / "autograder" / f"{name}.ipynb", submission / f"{name}.ipynb")
        (submission / "Untitled.ipynb").write_text(json.dumps(
            {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        os.utime(submission / "Untitled.ipynb")              # the newer one, and still not graded
        for env in ((), {"BN_SANDBOX": "fallback"}):
            results, out = _autograde(python, root, env)
            assert results["score"] == 10, (env, results, out)
            assert "graded bn_backward.ipynb because its metadata names this assignment" in results["output"]
            assert "not graded: Untitled.ipynb" in results["output"]
        (submission / "Untitled.ipynb").unlink()
        probe = json.loads((submission / f"{name}.ipynb").read_text())
        probe["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import os\ndef param_grads(dy, x_hat):\n"
                                         "    raise RuntimeError(f'uid {os.getuid()} euid {os.geteuid()}')"})
        (submission / f"{name}.ipynb").write_text(json.dumps(probe))
        results, out = _autograde(python, root, {"BN_SANDBOX": "fallback"})
        assert "uid 65534 euid 65534" in results["tests"][0]["output"], results
        assert results["score"] == 8, results
    finally:
        shutil.rmtree(base, ignore_errors=True)
