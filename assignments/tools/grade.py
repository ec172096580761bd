"""Grade submissions with the otter autograders, robustly, without Docker.

    python assignments/tools/grade.py SUBMISSION.ipynb [...] [--dist assignments/dist]
           [--assignment NAME] [--cell-timeout 60] [--timeout 600] [--json out.json]

Each submission is graded by ``otter.api.grade_submission`` in a process of
its own (this script calling itself with ``--child``) with a time limit, so
a submission that crashes the grader, never stops or cannot be read costs
only its own marks. Inside that process every notebook cell gets
``--cell-timeout`` seconds; a cell that runs longer (an endless loop) is
interrupted and grading goes on with the next cell, so the questions it did
not break still earn their points.

For every submission it prints one line a question with the likely mistake,
notes on cells that failed, and last a line ``score: X/Y``.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIST = HERE.parent / "dist"


# --------------------------------------------------------------------------
# which autograder, and how many points it has
# --------------------------------------------------------------------------

def known_assignments(dist: Path) -> list[str]:
    """Names of the generated assignments (folders with an autograder), longest first."""
    if not dist.is_dir():
        return []
    return sorted((p.name for p in dist.iterdir() if (p / "autograder").is_dir()),
                  key=len, reverse=True)


def assignment_of(submission: Path, dist: Path) -> str | None:
    """The assignment a notebook belongs to: its otter metadata, else its file name."""
    try:
        meta = json.loads(submission.read_text(encoding="utf-8")).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name")
        if name and (dist / name).is_dir():
            return name
    except (OSError, ValueError, AttributeError):
        pass
    return next((k for k in known_assignments(dist) if submission.stem.startswith(k)), None)


def autograder_zip(dist: Path, name: str) -> Path:
    zips = sorted((dist / name / "autograder").glob("*.zip"))
    if not zips:
        raise SystemExit(f"no autograder zip in {dist / name / 'autograder'}: run 'make assignments'")
    return zips[-1]


def questions(zip_path: Path) -> dict[str, float]:
    """Question name -> points, read from the autograder's OK-format test files."""
    points = {}
    with zipfile.ZipFile(zip_path) as archive:
        for member in sorted(archive.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", member):
                tree = ast.parse(archive.read(member).decode("utf-8"))
                for node in tree.body:
                    if isinstance(node, ast.Assign) and node.targets[0].id == "test":
                        test = ast.literal_eval(node.value)
                        points[test["name"]] = float(test.get("points") or 0)
    return points


# --------------------------------------------------------------------------
# the child: grade one notebook with otter, cells time-limited
# --------------------------------------------------------------------------

def _limit_cells(seconds: int):
    """Make otter's notebook execution interrupt any cell running over ``seconds``."""
    import nbconvert.preprocessors as preprocessors

    base = preprocessors.ExecutePreprocessor

    class TimedExecutePreprocessor(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.timeout = seconds
            self.interrupt_on_timeout = True

    preprocessors.ExecutePreprocessor = TimedExecutePreprocessor


def _failure_line(text: str) -> str:
    """The most telling line of a failed doctest: the exception it ended with."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        m = re.match(r"^([\w.]*(?:Error|Mistake|Exception|Interrupt|TooSlow)):\s*(.*)$", line)
        if m:
            kind, message = m.group(1).split(".")[-1], m.group(2)
            if kind == "Mistake":
                return message
            if "ellipsis" in message:
                return (f"unfinished: a placeholder `...` is still in the answer "
                        f"({kind}: {message})")
            if kind == "NameError":
                return (f"NameError: {message} (a line of the answer missing, or a cell "
                        f"deleted, not run or failed?)")
            return f"{kind}: {message}"
    return lines[-1] if lines else "failed"


def _cell_notes(nb) -> list[str]:
    """One note for each code cell of the executed submission that raised an error."""
    notes = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if "grader.check" in source or "otter.Notebook" in source:
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            first = source.strip().splitlines()[0][:60] if source.strip() else ""
            ename, evalue = out.get("ename", ""), out.get("evalue", "")
            if ename == "KeyboardInterrupt":
                what = "did not finish in time and was stopped (an endless loop?)"
            else:
                what = f"raised {ename}: {evalue}"
            notes.append(f"cell {index} ({first!r}) {what}")
    return notes


def child(zip_path: str, submission: str, result_path: str, cell_timeout: int):
    _limit_cells(cell_timeout)
    import otter.api

    results = otter.api.grade_submission(submission, zip_path, quiet=True)
    out = {"questions": {}, "notes": []}
    for name, test_file in results.results.items():
        entry = {"score": float(test_file.score), "possible": float(test_file.possible)}
        if test_file.score < test_file.possible:
            entry["message"] = _failure_line(test_file.summary())
        out["questions"][name] = entry
    if results.notebook is not None:
        out["notes"] = _cell_notes(results.notebook)
    Path(result_path).write_text(json.dumps(out), encoding="utf-8")


# --------------------------------------------------------------------------
# the parent: one process per submission
# --------------------------------------------------------------------------

def grade(submission: Path, dist: Path = DIST, assignment: str | None = None,
          cell_timeout: int = 60, timeout: int = 600) -> dict:
    """Grade one submission; never raises for a bad submission.

    Returns a dict with ``assignment``, ``score``, ``possible``,
    ``questions`` (name -> score, possible, message) and ``notes``.
    """
    submission = Path(submission).resolve()
    if not submission.is_file():
        return {"assignment": assignment, "score": 0.0, "possible": 0.0, "questions": {},
                "notes": [f"no submission to grade: {submission} is not a file"]}
    name = assignment or assignment_of(submission, dist)
    if name is None:
        known = ", ".join(sorted(known_assignments(dist))) or "none"
        return {"assignment": None, "score": 0.0, "possible": 0.0, "questions": {},
                "notes": [f"cannot tell which assignment {submission.name} is (known: {known}); "
                          f"pass --assignment NAME"]}
    zip_path = autograder_zip(dist, name)
    points = questions(zip_path)
    report = {"assignment": name, "questions": {}, "notes": []}
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", str(zip_path), str(submission),
               str(result_path), "--cell-timeout", str(cell_timeout)]
        # a session of its own, so that on timeout the kernel dies with the grader
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=tmp, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=timeout)
            failure = None if result_path.exists() else _crash_text(stderr)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            failure = f"grading did not finish within {timeout} s and was stopped"
        if failure is None:
            child_out = json.loads(result_path.read_text(encoding="utf-8"))
            report["questions"] = child_out["questions"]
            report["notes"] = child_out["notes"]
    if failure is not None:
        report["notes"].append(f"the submission could not be graded: {failure}")
    for q, possible in points.items():  # a question the grader never reached scores 0
        report["questions"].setdefault(q, {"score": 0.0, "possible": possible,
                                           "message": "not graded (see the notes)"})
    report["score"] = sum(q["score"] for q in report["questions"].values())
    report["possible"] = sum(points.values())
    return report


def _crash_text(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "the grader stopped without a result"
    last = lines[-1]
    if "NotJSONError" in stderr or "JSONDecodeError" in last:
        return f"the file is not a readable notebook ({last})"
    return last


def _fmt(value: float) -> str:
    return f"{value:g}"


def print_report(submission: Path, report: dict):
    print(f"== {Path(submission).name} (assignment: {report['assignment']})")
    for name, q in report["questions"].items():
        line = f"  {name:<22} {_fmt(q['score'])}/{_fmt(q['possible'])}"
        if q.get("message"):
            line += f"  {q['message']}"
        print(line)
    for note in report["notes"]:
        print(f"  note: {note}")
    print(f"score: {_fmt(report['score'])}/{_fmt(report['possible'])}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        parser = argparse.ArgumentParser()
        parser.add_argument("--child", nargs=3)
        parser.add_argument("--cell-timeout", type=int, default=30)
        args = parser.parse_args(argv)
        child(*args.child, args.cell_timeout)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path)
    parser.add_argument("--dist", type=Path, default=DIST, help="where 'make assignments' wrote")
    parser.add_argument("--assignment", help="assignment name (default: from the notebook)")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds a cell may run")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a submission may take")
    parser.add_argument("--json", type=Path, help="also write every report to this JSON file")
    args = parser.parse_args(argv)
    reports = []
    for submission in args.submissions:
        report = grade(submission, args.dist.resolve(), args.assignment,
                       args.cell_timeout, args.timeout)
        print_report(submission, report)
        reports.append({"submission": str(submission), **report})
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
