"""Gradescope's entry point: grade the upload in the sandbox, write Gradescope's results.

The autograder zip that ``generate.py`` writes replaces otter's ``run_autograder`` with a
call of this file. It grades ``<root>/submission/*.ipynb`` as the zip's assignment with the
same sandboxed, results-only grader as ``make grade`` and writes
``<root>/results/results.json`` in Gradescope's format. ``<root>`` is ``/autograder`` on
Gradescope; a test points ``$AUTOGRADER_ROOT`` elsewhere.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "files"))      # the zip's copy of lib
sys.path.insert(0, str(HERE))

import grade  # noqa: E402


def results(report: dict) -> dict:
    tests = [{"name": name, "score": q["score"], "max_score": q["possible"],
              "output": q.get("message", "right")} for name, q in report["questions"].items()]
    return {"score": report["score"], "tests": tests, "output": "\n".join(report["notes"]),
            "visibility": "visible"}


def main() -> None:
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    name = (HERE / "assignment.txt").read_text().strip()
    uploads = sorted((root / "submission").glob("*.ipynb"))
    report = (grade.grade(uploads[0], assignment=name) if uploads
              else grade._empty(name, ["no .ipynb file was uploaded"]))
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results(report), indent=1))
    grade.print_report(uploads[0] if uploads else Path("(nothing)"), report)


if __name__ == "__main__":
    main()
