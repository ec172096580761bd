"""Gradescope's entry point: grade the upload in the sandbox, write Gradescope's results.

The autograder zip that ``generate.py`` writes replaces otter's ``run_autograder`` with a
call of this file (``grading/gradescope.py`` inside the zip, ``assignments/tools/gradescope.py``
in the repository). It grades one notebook of ``<root>/submission/`` as the zip's assignment
with the same sandboxed, results-only grader as ``make grade`` and writes
``<root>/results/results.json`` in Gradescope's format. ``<root>`` is ``/autograder`` on
Gradescope; a test points ``$AUTOGRADER_ROOT`` elsewhere.

Gradescope's containers usually forbid the namespaces bubblewrap needs; the grader then runs
the notebook as user ``nobody`` (``sandbox.fallback``), who must be able to read the zip's
files and reach the interpreter (otter's environment lives under ``/root``):
:func:`open_to_sandbox` opens them (read and search, never write) in this throwaway container.
"""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE.parent / "files"
sys.path.insert(0, str(FILES))      # the zip's copy of lib
sys.path.insert(0, str(HERE))

import grade  # noqa: E402
import sandbox  # noqa: E402


def results(report: dict) -> dict:
    tests = [{"name": name, "score": q["score"], "max_score": q["possible"],
              "output": q.get("message", "right")} for name, q in report["questions"].items()]
    return {"score": report["score"], "tests": tests, "output": "\n".join(report["notes"]),
            "visibility": "visible"}


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        os.chmod(path, stat.S_IMODE(mode) | bits)


def open_to_sandbox() -> None:
    """Let the fallback's user read the grader, lib and the environment (Gradescope runs this
    as root in a container of its own; nothing here gives anyone write access)."""
    if os.geteuid() != 0 or sandbox.bwrap_works():
        return
    for top in (HERE, FILES):
        for folder, _, files in os.walk(top):
            _add_mode(Path(folder), 0o055)
            for file in files:
                _add_mode(Path(folder) / file, 0o044)
    for path in (sys.executable, sys.prefix, sys.base_prefix, HERE, FILES):
        real = Path(os.path.realpath(path))
        for folder in reversed(real.parents):
            _add_mode(folder, 0o001)        # search only: the folder's listing stays closed
        _add_mode(real, 0o005 if real.is_dir() else 0o004)


def _names(path: Path) -> set[str]:
    """The otter assignment name a notebook declares, if any."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        return {meta.get("otter", {}).get("assignment_name")}
    except (OSError, ValueError, AttributeError):
        return set()


def choose(uploads: list[Path], name: str) -> tuple[Path | None, list[str]]:
    """The notebook to grade among those uploaded, and a note saying which and why when there
    was a choice: one whose otter metadata names the assignment, then one whose file name
    starts with it, then the most recently changed."""
    if len(uploads) <= 1:
        return (uploads[0] if uploads else None), []

    def rank(p):
        return (name in _names(p), p.name.startswith(name), p.stat().st_mtime)

    ranked = sorted(uploads, key=lambda p: (rank(p), str(p)), reverse=True)
    chosen, runner_up = ranked[0], ranked[1]
    best, second = rank(chosen), rank(runner_up)
    if best[0] and not second[0]:
        reason = "its metadata names this assignment"
    elif best[1] and not second[1]:
        reason = f"its file name starts with {name}"
    else:
        reason = "it is the most recently changed of those that fit the assignment equally well"
    others = ", ".join(p.name for p in ranked[1:])
    return chosen, [f"{len(uploads)} notebooks were uploaded; graded {chosen.name} because {reason}; "
                    f"not graded: {others}. Upload only the notebook of {name}."]


def main() -> None:
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    name = (HERE / "assignment.txt").read_text().strip()
    open_to_sandbox()
    uploads = sorted(p for p in (root / "submission").rglob("*.ipynb")
                     if ".ipynb_checkpoints" not in p.parts and p.is_file())
    chosen, notes = choose(uploads, name)
    report = (grade.grade(chosen, assignment=name) if chosen
              else grade._empty(name, ["no .ipynb file was uploaded"]))
    report["notes"] = notes + report["notes"]
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results(report), indent=1))
    grade.print_report(chosen or Path("(nothing)"), report)


if __name__ == "__main__":
    main()
