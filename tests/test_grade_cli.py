"""assignments/tools/grade.py: submissions it cannot grade are reported, not crashed on."""
import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location("grade", ROOT / "assignments" / "tools" / "grade.py")
grade = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grade)


def test_a_missing_submission_is_named(tmp_path):
    report = grade.grade(tmp_path / "nope.ipynb", dist=tmp_path)
    assert report["score"] == 0 and report["notes"] == [
        f"no submission to grade: {tmp_path / 'nope.ipynb'} is not a file"]


def test_an_unknown_notebook_lists_only_real_assignments(tmp_path):
    dist = tmp_path / "dist"
    (dist / "bn_backward" / "autograder").mkdir(parents=True)
    (dist / ".generated").touch()                     # the Makefile's stamp is no assignment
    submission = tmp_path / "homework.ipynb"
    submission.write_text("{}")
    report = grade.grade(submission, dist=dist)
    assert report["score"] == 0
    assert "(known: bn_backward, bn_gradient_scale, bn_symbolic); pass --assignment NAME" in report["notes"][0]
