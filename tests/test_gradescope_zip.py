"""The Gradescope autograder zips grade with the sandboxed grader, in an environment built
from the zip alone: a fresh venv with only the zip's requirements.txt (uv, cached), the
zip's own lib and grading files, and Gradescope's folder layout. (slow)"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
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
