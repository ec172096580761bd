"""assignments/tools/grade.py: submissions it cannot grade are reported, not crashed on."""
import importlib.util
from pathlib import Path

import pytest

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


def _report(path, assignment="bn_backward", note="fine", seed=7):
    questions = {q.name: {"score": 1.0, "possible": float(q.points)}
                 for q in grade.specs.ASSIGNMENTS.get(assignment, [])}
    return {"submission": str(path), "assignment": assignment, "score": float(len(questions)),
            "possible": 10.0, "questions": questions, "notes": [note], "seed": seed}


def test_the_student_id_comes_from_the_lms_file_name():
    assert grade.student_of("sub/doejane_12345_678910_bn_backward.ipynb") == ("12345", "doejane")
    assert grade.student_of("doejane_LATE_12345_678910_Untitled-1.ipynb") == ("12345", "doejane")
    assert grade.student_of("Jane Doe_4711_assignsubmission_file_bn_backward.ipynb") == ("4711", "Jane Doe")
    assert grade.student_of("Jane Doe_4711_assignsubmission_file_/nb.ipynb") == ("4711", "Jane Doe")
    assert grade.student_of("s1234567-hw1.ipynb", r"^s(?P<id>\d+)-") == ("1234567", "s1234567-hw1")
    assert grade.student_of("homework.ipynb") == ("", "homework")


def test_the_csv_has_fixed_columns_a_seed_and_no_formula(tmp_path):
    import csv
    reports = [_report(tmp_path / "doejane_12345_678910_bn_backward.ipynb", note="=HYPERLINK(\"http://x\")"),
               _report(tmp_path / "b.ipynb", note="+1 -2 @me"),
               _report(tmp_path / "c.ipynb", assignment="bn_symbolic")]
    reports[1]["questions"].pop("q2_staged")          # a report without a question keeps the column
    written = grade.write_csv(tmp_path / "grades.csv", reports)
    assert [p.name for p in written] == ["grades.bn_backward.csv", "grades.bn_symbolic.csv"]
    rows = list(csv.reader(written[0].open()))
    assert rows[0] == ["student_id", "student", "file", "assignment", "seed", "q1_params", "q2_staged",
                       "q3_simplified", "total", "possible", "notes"]
    assert rows[1][:2] == ["12345", "doejane"] and rows[1][4] == "7"
    assert rows[2][6] == ""
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row
    assert rows[1][-1] == "'=HYPERLINK(\"http://x\")" and rows[2][-1] == "'+1 -2 @me"
    symbolic = list(csv.reader(written[1].open()))
    assert symbolic[0][5:9] == ["q1_mean", "q2_variance", "q3_exponent", "q4_formula"]


def test_each_report_is_printed_as_its_submission_finishes(tmp_path, monkeypatch, capsys):
    import time
    slow, fast = tmp_path / "slow.ipynb", tmp_path / "fast.ipynb"
    for path in (slow, fast):
        path.write_text("{}")

    def fake(path, *args, **kwargs):
        time.sleep(1.0 if Path(path).name == "slow.ipynb" else 0.0)
        return {k: v for k, v in _report(path).items() if k != "submission"}
    monkeypatch.setattr(grade, "grade", fake)
    grade.main([str(slow), str(fast), "-j", "2"])
    out = capsys.readouterr().out
    assert out.index("[1/2] == fast.ipynb") < out.index("[2/2] == slow.ipynb"), out


def test_a_sandbox_that_does_not_start_stops_the_batch_loudly(tmp_path, monkeypatch):
    """No first frame from the runner (the interpreter out of the sandbox's reach, say): the
    grader's fault, not the student's. It raises, and the command exits non-zero, instead of
    giving every submission 0 with a note blaming the notebook."""
    submission = tmp_path / "bn_backward.ipynb"
    submission.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    monkeypatch.setattr(grade.sandbox, "run", lambda *a, **k: ([], "the submission's process ended with status 127"))
    with pytest.raises(grade.GraderError, match="not the submission"):
        grade.grade(submission, assignment="bn_backward")
    with pytest.raises(SystemExit) as stop:
        grade.main([str(submission), "--assignment", "bn_backward"])
    assert "cannot grade" in str(stop.value) and "status 127" in str(stop.value)
