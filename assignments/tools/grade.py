"""Grade submissions in a sandbox, from results only; one student or a whole course.

    python assignments/tools/grade.py SUBMISSION.ipynb|FOLDER [...] [--assignment NAME]
           [-j 2] [--csv grades.csv] [--json grades.json] [--seed N]
           [--cell-timeout 60] [--call-timeout 30] [--timeout 600]

For each submission the grader draws fresh inputs (``specs.py``), runs the notebook in a
bubblewrap sandbox (``sandbox.py``, ``runner.py``) that hands back only the numbers the
student's code computed on them, and judges those numbers here against references from
``lib``. Nothing the student defines, patches or prints changes a mark; scores are bounded
by each question's points; hidden references and solutions never enter the sandbox.

It prints one line a question (marks, and the first mistake found), notes, and last a line
``score: X/Y`` per submission; ``--csv`` writes one row a submission for an LMS (Canvas,
Moodle) and ``--json`` every report. A folder stands for the ``.ipynb`` files in it. With
``-j N``, N submissions are graded at a time; one that crashes or hangs costs only itself.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import secrets
import signal
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import derivation  # noqa: E402
import sandbox  # noqa: E402
import specs  # noqa: E402
import studentlib  # noqa: E402

HERE = Path(__file__).resolve().parent
DIST = HERE.parent / "dist"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def known_assignments(dist: Path | None = None) -> list[str]:
    """Names of the assignments the grader has questions for, longest first."""
    return sorted(specs.ASSIGNMENTS, key=len, reverse=True)


def assignment_of(submission: Path, dist: Path | None = None) -> str | None:
    """The assignment of a notebook: its otter metadata, else the start of its file name."""
    try:
        meta = json.loads(submission.read_text(encoding="utf-8")).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name")
        if name in specs.ASSIGNMENTS:
            return name
    except (OSError, ValueError, AttributeError):
        pass
    return next((k for k in known_assignments() if submission.stem.startswith(k)), None)


def clean(text, limit=300) -> str:
    """Text from the sandbox on one line, without control characters, and short."""
    return _CONTROL.sub(" ", str(text)).strip()[:limit]


def hint(error: str) -> str:
    """An error of the student's code, with what it usually means."""
    if "llipsis" in error:
        return f"unfinished: a placeholder `...` is still in the answer ({error})"
    if "NameError" in error:
        return f"{error} (a line of the answer missing, or a cell deleted, not run or failed?)"
    if "did not finish" in error:
        return f"{error} (an endless loop?)"
    return error


# ---------------------------------------------------------------- one submission

class GraderError(RuntimeError):
    """The grader cannot grade at all (its sandbox does not start): the batch stops, loudly."""


def _empty(name, notes):
    questions = {q.name: {"score": 0.0, "possible": float(q.points), "message": "not graded (see the notes)"}
                 for q in specs.ASSIGNMENTS.get(name, [])}
    return {"assignment": name, "score": 0.0, "possible": sum(q["possible"] for q in questions.values()),
            "questions": questions, "notes": notes}


def _job(folder: Path, submission: Path, questions, rng):
    """Write the sandbox's job: the notebook, what to compute, on which inputs."""
    request, inputs, judges = [], {}, {}
    for q in questions:
        cases, arrays, judge = q.build(rng)
        for case in cases:
            case["args"] = [f"{q.name}.{a}" if isinstance(a, str) and a in arrays else a
                            for a in case.get("args", [])]
        inputs.update({f"{q.name}.{k}": v for k, v in arrays.items()})
        request.append({"name": q.name, "cases": cases})
        judges[q.name] = judge, len(cases)
    (folder / "submission.ipynb").write_bytes(submission.read_bytes())
    (folder / "request.json").write_text(json.dumps({"questions": request}))
    np.savez(folder / "inputs.npz", **inputs)
    return judges


def _judge(question, judge, frames, submission=None, cases=0) -> dict:
    """Marks for one question from the last report of it the sandbox made (``cases``: how many
    cases it has; a question's ``overtime`` hint is about its last, largest, case)."""
    mine = [f for f in frames if f["question"] == question.name]
    entry = {"score": 0.0, "possible": float(question.points)}
    if not mine:
        entry["message"] = "not reached: the notebook stopped before this answer could be checked"
        return entry
    last = mine[-1]
    if last["error"] is not None:
        entry["message"] = hint(clean(last["error"]))
        if question.overtime and "did not finish" in last["error"] \
                and last["error"].startswith(f"case {cases}:"):
            entry["message"] += f": {question.overtime}"
        return entry
    if question.derived and submission is not None:
        try:
            machine = derivation.computed(submission, question.derived)
        except (OSError, ValueError, RecursionError):
            machine = None
        if machine:
            entry["message"] = (f"{question.derived} is computed with {machine}: the question asks you to "
                                f"derive it and write the result as a formula (check it with sp.diff "
                                f"in a separate line, not in the answer)")
            return entry
    try:
        message = judge(last["groups"])
    except (ValueError, TypeError, IndexError) as exc:
        message = f"the answer could not be compared: {clean(exc)}"
    if message is None:
        entry["score"] = float(question.points)
    else:
        entry["message"] = clean(message, 500)
    return entry


def grade(submission: Path, dist: Path = DIST, assignment: str | None = None, cell_timeout: float = 60,
          timeout: float = 600, call_timeout: float = 30, seed: int | None = None) -> dict:
    """Grade one submission; never raises for a bad submission. Returns its report. Raises
    GraderError when the sandbox does not start at all (no fault of the submission's)."""
    submission = Path(submission).resolve()
    if not submission.is_file():
        return _empty(assignment, [f"no submission to grade: {submission} is not a file"])
    name = assignment or assignment_of(submission)
    if name not in specs.ASSIGNMENTS:
        known = ", ".join(sorted(specs.ASSIGNMENTS))
        return _empty(None, [f"cannot tell which assignment {submission.name} is (known: {known}); "
                             f"pass --assignment NAME"])
    seed = secrets.randbits(63) if seed is None else seed
    questions = specs.ASSIGNMENTS[name]
    report = _empty(name, [])
    report["seed"] = seed
    with tempfile.TemporaryDirectory(prefix="bn-grade-") as tmp:
        judges = _job(Path(tmp), submission, questions, np.random.default_rng(seed))
        lib = studentlib.parent_for(name, Path(sandbox.lib_parent()) / "lib")   # what students have
        frames, stop = sandbox.run(Path(tmp), timeout, cell_timeout, call_timeout, lib)
    if not any(f["question"] == "_started" for f in frames):
        raise GraderError(f"the sandbox did not start the grader's runner on {submission.name} "
                          f"({stop or 'it gave no output'}): the grader, not the submission, is at fault; "
                          f"check that the interpreter, its environment and lib are readable by the "
                          f"sandbox's user (the instructors page, 'Grading')")
    frames = [f for f in frames if f["question"] != "_started"]
    for q in questions:
        judge, cases = judges[q.name]
        report["questions"][q.name] = _judge(q, judge, frames, submission, cases)
    notes = [f for f in frames if f["question"] == "_notes"]
    if notes:
        try:
            report["notes"] += [clean(n) for n in json.loads(notes[-1]["error"] or "[]")][:20]
        except (ValueError, TypeError):
            pass
    if stop:
        report["notes"].append(stop)
    if not frames:
        report["notes"].append("the submission could not be graded: it gave no results "
                               "(is it a readable notebook?)")
    report["score"] = sum(min(q["score"], q["possible"]) for q in report["questions"].values())
    return report


# ---------------------------------------------------------------- a batch

def submissions_in(paths) -> list[Path]:
    """Files as given; a folder stands for the notebooks in it, sorted."""
    found = []
    for path in map(Path, paths):
        found += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    return found


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


# Where an LMS puts the student's id in the names of the files it hands out. A pattern has a
# group ``id`` (and may have ``name``); it is tried on the file's name, then on its folder's.
LMS_PATTERNS = {
    # Canvas: lastfirst_<userid>_<submissionid>_<upload>.ipynb (lastfirst_LATE_... when late)
    "canvas": r"^(?P<name>[a-z0-9-]+?)(?:_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_.+$",
    # Moodle: "Full Name_<id>_assignsubmission_file_<upload>.ipynb", or a folder of that name
    "moodle": r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_.*$",
}


def student_of(path, pattern: str | None = None) -> tuple[str, str]:
    """``(id, name)`` of the student a submission belongs to, from its LMS file name
    (``pattern``, else Canvas's or Moodle's); else ``("", the file's stem)``."""
    path = Path(path)
    patterns = [pattern] if pattern else list(LMS_PATTERNS.values())
    for text in (path.name, path.parent.name):
        for regex in patterns:
            match = re.match(regex, text)
            if match and match.groupdict().get("id"):
                found = match.groupdict()
                return found["id"], found.get("name") or path.stem
    return "", path.stem


def spreadsheet_safe(value) -> str:
    """A CSV cell that a spreadsheet shows as text: one starting with = + - @ (a formula to
    Excel, LibreOffice and Google Sheets), a tab or a carriage return gets a leading '."""
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", text):
        return "'" + text
    return text


CSV_FIELDS = ["student_id", "student", "file", "assignment", "seed"]


def csv_paths(path: Path, reports: list[dict]) -> dict:
    """The CSV file of each assignment: ``path`` when the batch has one, else one file per
    assignment beside it (``grades.bn_backward.csv``), so that each has fixed question columns."""
    names = list(dict.fromkeys(r["assignment"] for r in reports))
    if len(names) == 1:
        return {names[0]: path}
    return {n: path.with_name(f"{path.stem}.{n or 'unrecognised'}{path.suffix}") for n in names}


def write_csv(path: Path, reports: list[dict], pattern: str | None = None) -> list[Path]:
    """One row a submission: the student's id (from the LMS file name) and name, the file, the
    assignment, the seed, each of the assignment's questions (always the same columns), the
    total, the possible total and the notes; every cell safe for a spreadsheet."""
    written = []
    for name, target in csv_paths(Path(path), reports).items():
        questions = [q.name for q in specs.ASSIGNMENTS.get(name, [])]
        with open(target, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([*CSV_FIELDS, *questions, "total", "possible", "notes"])
            for r in (r for r in reports if r["assignment"] == name):
                student_id, student = student_of(r["submission"], pattern)
                marks = [_fmt(r["questions"][q]["score"]) if q in r["questions"] else "" for q in questions]
                row = [student_id, student, Path(r["submission"]).name, name or "", r.get("seed", ""),
                       *marks, _fmt(r["score"]), _fmt(r["possible"]), " | ".join(r["notes"])]
                writer.writerow([spreadsheet_safe(cell) for cell in row])
        written.append(target)
    return written


def _stop_cleanly(signum, frame):
    """SIGTERM or Ctrl-C: stop the sandboxes, then unwind, so that temporary folders go."""
    sandbox.kill_all()
    raise SystemExit(128 + signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of them")
    parser.add_argument("--dist", type=Path, default=DIST, help="(kept for compatibility; unused)")
    parser.add_argument("--assignment", choices=sorted(specs.ASSIGNMENTS), help="default: from each notebook")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded at a time")
    parser.add_argument("--cell-timeout", type=float, default=60, help="seconds a cell may run")
    parser.add_argument("--call-timeout", type=float, default=30, help="seconds one call of an answer may run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a submission may take in all")
    parser.add_argument("--seed", type=int, help="draw the same inputs again (default: fresh ones)")
    parser.add_argument("--json", type=Path, help="also write every report to this JSON file")
    parser.add_argument("--csv", type=Path, help="also write one row a submission to this CSV file "
                                                 "(one file per assignment when the batch mixes them)")
    parser.add_argument("--id-pattern", help="a regular expression with a group (?P<id>...) that finds the "
                                             "student's id in a file's (or its folder's) name; default: "
                                             "Canvas's and Moodle's names")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_cleanly)
    signal.signal(signal.SIGINT, _stop_cleanly)
    files = submissions_in(args.submissions)

    def one(path):
        return {"submission": str(path), **grade(path, args.dist, args.assignment, args.cell_timeout,
                                                 args.timeout, args.call_timeout, args.seed)}

    reports, printing = [None] * len(files), threading.Lock()

    def one_and_print(k):
        report = one(files[k])
        with printing:                  # each report as its submission finishes
            reports[k] = report
            done = sum(r is not None for r in reports)
            print(f"[{done}/{len(files)}]", end=" ")
            print_report(files[k], report)
            sys.stdout.flush()

    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(one_and_print, range(len(files))))
    except GraderError as err:
        sys.exit(f"grade.py: cannot grade: {err}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1), encoding="utf-8")
    if args.csv:
        for path in write_csv(args.csv, reports, args.id_pattern):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
