"""Generate the student notebooks and the autograders from the masters.

    python assignments/tools/generate.py [--out assignments/dist] [name ...]

For every master ``assignments/masters/<name>.py`` (a jupytext percent
script in otter-assign format) this

1. converts it to ``<name>.ipynb`` in a staging folder, next to a copy of
   the book's ``lib`` package (so the handed-out folder and the autograder
   zip are self-contained);
2. runs ``otter assign`` on it, which writes

   * ``<out>/<name>/student/``: the notebook without solutions, with tests
     that ``grader.check`` runs in the notebook, and ``lib/``;
   * ``<out>/<name>/autograder/``: the solutions notebook and the
     autograder zip ``<name>-autograder.zip`` (for ``otter run`` or
     Gradescope).

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


LIB_MODULES = ("__init__.py", "batchnorm.py", "gradcheck.py", "exercises.py", "symbolic.py")
"""The modules of ``lib`` that the assignments use (copied next to each notebook)."""


def masters():
    """Names of the master notebooks, in order."""
    return sorted(p.stem for p in MASTERS.glob("*.py"))


def copy_lib(dest: Path):
    """Copy the modules the assignments need to ``dest/lib``."""
    (dest / "lib").mkdir(parents=True)
    for module in LIB_MODULES:
        shutil.copy(LIB / module, dest / "lib" / module)


def generate(name: str, out: Path) -> float:
    """Build one assignment into ``out/name``; return the seconds it took."""
    start = time.perf_counter()
    master = MASTERS / f"{name}.py"
    if not master.is_file():
        raise SystemExit(f"no master notebook {master} (known: {', '.join(masters())})")
    stage = out / "_staging" / name
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    copy_lib(stage)
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
    # a stable name instead of otter's time-stamped one
    for zip_path in (target / "autograder").glob(f"{name}-autograder_*.zip"):
        zip_path.rename(target / "autograder" / f"{name}-autograder.zip")
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
