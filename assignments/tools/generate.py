"""Generate the student notebooks and the autograders from the masters.

    python assignments/tools/generate.py [--out assignments/dist] [name ...]

For every master ``assignments/masters/<name>.py`` (a jupytext percent
script in otter-assign format) this

1. converts it to ``<name>.ipynb`` in a staging folder, next to a copy of
   the ``lib`` files it and its grader import (so the handed-out folder and
   the autograder zip are self-contained);
2. runs ``otter assign`` on it, which writes

   * ``<out>/<name>/student/``: the notebook without solutions, with tests
     that ``grader.check`` runs in the notebook, and ``lib/``;
   * ``<out>/<name>/autograder/``: the solutions notebook and the
     autograder zip ``<name>-autograder.zip`` for Gradescope, which this
     script then makes grade with the kit's sandboxed grader
     (:func:`gradescope_zip`).

It prints how long each step took.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSIGNMENTS = HERE.parent
ROOT = ASSIGNMENTS.parent
MASTERS = ASSIGNMENTS / "masters"
LIB = ROOT / "lib"
BIN = Path(sys.executable).parent


GRADING = ("grade.py", "sandbox.py", "runner.py", "specs.py", "gradescope.py", "studentlib.py", "sreprs.py", "derivation.py")
"""The grader's files, which the autograder zip carries for Gradescope."""


def lib_files(*sources: Path) -> list[Path]:
    """The files of ``lib`` that ``sources`` import, followed through lib's own imports
    (the book's one implementation of that closure, ``book/_ext/lib_digest.py``)."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from lib_digest import dependencies
    return sorted({path for source in sources for path in dependencies(source, LIB)})


def masters():
    """Names of the master notebooks, in order."""
    return sorted(p.stem for p in MASTERS.glob("*.py"))


def copy_lib(dest: Path, master: Path):
    """Copy the lib files the assignment and its grader import to ``dest/lib``."""
    for path in lib_files(master, HERE / "specs.py"):
        target = dest / "lib" / path.relative_to(LIB)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


def gradescope_zip(zip_path: Path, name: str):
    """Make otter's autograder zip grade with this kit: the sandboxed, results-only grader
    replaces otter's in-process run, and the zip names the packages its grading imports."""
    import zipfile
    requirements = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.split("==")[0].strip() in ("numpy", "sympy")]
    with zipfile.ZipFile(zip_path) as old:
        members = {m: old.read(m) for m in old.namelist()}
    env = members["environment.yml"].decode()
    members["environment.yml"] = env.replace("  - pip:\n", "  - pip:\n" + "".join(
        f"      - {r}\n" for r in requirements)).encode()
    members["requirements.txt"] = ("\n".join(requirements) + "\n").encode()
    members["setup.sh"] += b"\napt-get install -y bubblewrap util-linux || true\n"
    lines = members["run_autograder"].decode().rstrip("\n").splitlines()
    assert lines[-1].endswith("run_otter.py"), f"otter's run_autograder changed: {lines[-1]}"
    members["run_autograder"] = "\n".join(lines[:-1] + ["python /autograder/source/grading/gradescope.py", ""]).encode()
    for file in GRADING:
        members[f"grading/{file}"] = (HERE / file).read_bytes()
    members["grading/assignment.txt"] = name.encode()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as new:
        for member, data in members.items():
            new.writestr(zip_member(member), data)


EXECUTABLE = ("run_autograder", "setup.sh")


def zip_member(name: str):
    """A zip entry readable by everyone (``writestr`` with a bare name stores mode 0600, which
    the sandbox's unprivileged user cannot read on Gradescope's fallback path); the two
    scripts Gradescope runs are executable."""
    import zipfile
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3                      # Unix: unzip honours the mode bits
    mode = 0o755 if name in EXECUTABLE else 0o644
    info.external_attr = (0o100000 | mode) << 16
    return info


def generate(name: str, out: Path) -> float:
    """Build one assignment into ``out/name``; return the seconds it took."""
    start = time.perf_counter()
    master = MASTERS / f"{name}.py"
    if not master.is_file():
        raise SystemExit(f"no master notebook {master} (known: {', '.join(masters())})")
    stage = out / "_staging" / name
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    copy_lib(stage, master)
    subprocess.run([str(BIN / "jupytext"), "--quiet", "--to", "ipynb", "--output",
                    str(stage / f"{name}.ipynb"), str(master)], check=True)
    target = (out / name).resolve()
    shutil.rmtree(target, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs",
                           f"{name}.ipynb", str(target)],
                          cwd=stage, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"otter assign failed for {name}")
    shutil.rmtree(stage)
    sys.path.insert(0, str(HERE))
    import studentlib
    studentlib.write(name, target / "student" / "lib")      # nothing in it answers a question
    # a stable name instead of otter's time-stamped one
    for zip_path in (target / "autograder").glob(f"{name}-autograder_*.zip"):
        zip_path.rename(target / "autograder" / f"{name}-autograder.zip")
    gradescope_zip(target / "autograder" / f"{name}-autograder.zip", name)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="masters to build (default: all)")
    parser.add_argument("--out", type=Path, default=ASSIGNMENTS / "dist")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for name in args.names or masters():
        seconds = generate(name, out)
        total += seconds
        zips = sorted((out / name / "autograder").glob("*.zip"))
        print(f"{name}: student/{name}.ipynb and autograder/{zips[-1].name} ({seconds:.1f} s)")
    shutil.rmtree(out / "_staging", ignore_errors=True)
    print(f"generated in {out} ({total:.1f} s)")


if __name__ == "__main__":
    main()
