"""The students' copy of ``lib`` for an assignment: nothing in it answers a question.

``bn_backward`` asks for the backward pass, which ``lib.batchnorm`` implements five ways and
``lib.exercises`` computes (as references, and piece by piece in its catalogue of mistakes).
Its students' copy therefore leaves out every backward pass of ``lib.batchnorm`` (``backward``
raises and says why) and gives ``lib.exercises`` the references and mistakes of the notebook's
own public problems as data (``_answers.npz``), computed here from the full ``lib``: numbers
for those few inputs, no formula. The grader runs every submission of that assignment
against this same copy (``sandbox.py`` mounts it), so a notebook that calls the book's own
backward pass gets the error a student would, not marks.

    python studentlib.py NAME DEST      # writes DEST/lib (generate.py does this)
"""
from __future__ import annotations

import ast
import atexit
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

# the top-level definitions each assignment's copy leaves out, by file
LEFT_OUT = {
    "bn_backward": {
        "batchnorm.py": ("backward", "_backward_staged", "_backward_rowwise", "rowwise_paths",
                         "_backward_columnwise", "_backward_simplified", "_BACKWARDS"),
        "exercises.py": ("_reference", "_dx_mistakes", "_eps_mistakes", "_no_eps_dx"),
    },
}

# the public problems of the assignment's grader.check cells: (N, D, seed, eps)
PUBLIC = {
    "bn_backward": [(6, 3, 0, 1e-5), (9, 2, 7, 1e-5), (5, 1, 1, 1e-5), (8, 4, 2, 1e-5),
                    (4, 2, 0, 1e-3), (12, 5, 1, 1e-3)],
}

BATCHNORM_STUB = '''

def backward(dy, cache, method="simplified"):
    """Left out of this assignment's copy of lib: the assignment asks you to write it."""
    raise NotImplementedError("lib.batchnorm.backward is not in this assignment's copy of lib: "
                              "the assignment asks you to write the backward pass yourself")
'''

EXERCISES_TABLE = '''

def _answer(x, gamma, dy, eps):
    """The references of the notebook's public problems, stored as numbers (_answers.npz)."""
    import hashlib
    import json
    from pathlib import Path
    parts = [np.ascontiguousarray(np.asarray(a, dtype=np.float64)) for a in (x, gamma, dy)]
    digest = hashlib.sha256(repr([(p.shape, float(eps)) for p in parts]).encode()
                            + b"".join(p.tobytes() for p in parts)).hexdigest()[:24]
    folder = Path(__file__).resolve().parent
    messages = json.loads((folder / "_answers.json").read_text()).get(digest)
    if messages is None:
        raise ValueError("this assignment's copy of lib checks only the notebook's own problems "
                         "(problem(...) with the shapes, seeds and eps of its grader.check cells)")
    with np.load(folder / "_answers.npz", allow_pickle=False) as data:
        arrays = {k[len(digest) + 1:]: data[k] for k in data.files if k.startswith(digest + "_")}
    return arrays, messages


def _reference(x, gamma, dy, eps):
    arrays, _ = _answer(x, gamma, dy, eps)
    _, cache = batchnorm.forward(x, gamma, np.zeros_like(np.asarray(gamma, dtype=float)), eps)
    return arrays["dx"], arrays["dgamma"], arrays["dbeta"], cache


def _dx_mistakes(ref, cache, dy, eps):
    arrays, messages = _answer(cache.x, cache.gamma, dy, eps)
    return [(arrays[f"m{k}"], m) for k, m in enumerate(messages)]


def _eps_mistakes(x, gamma, dy, eps):
    return []
'''


def _key(x, gamma, dy, eps) -> str:
    parts = [np.ascontiguousarray(np.asarray(a, dtype=np.float64)) for a in (x, gamma, dy)]
    return hashlib.sha256(repr([(p.shape, float(eps)) for p in parts]).encode()
                          + b"".join(p.tobytes() for p in parts)).hexdigest()[:24]


def left_out(source: str, names) -> str:
    """``source`` without its top-level functions and assignments named in ``names``."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop = set()
    for node in tree.body:
        named = {node.name} if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
            {t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)}
        if named & set(names):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            drop.update(range(first - 1, node.end_lineno))
    missing = set(names) - {n.name for n in tree.body if hasattr(n, "name")} - {
        t.id for n in tree.body for t in getattr(n, "targets", []) if isinstance(t, ast.Name)}
    if missing:
        raise SystemExit(f"studentlib: {', '.join(sorted(missing))} no longer in lib: update LEFT_OUT")
    return "".join(line for k, line in enumerate(lines) if k not in drop)


def _table(name: str, dest: Path) -> None:
    """The references and mistakes of the public problems, from the full lib."""
    from lib import exercises
    arrays, messages = {}, {}
    for N, D, seed, eps in PUBLIC[name]:
        x, gamma, _, dy = exercises.problem(N, D, seed=seed)
        key = _key(x, gamma, dy, eps)
        dx, dgamma, dbeta, cache = exercises._reference(x, gamma, dy, eps)
        known = exercises._dx_mistakes(dx, cache, np.asarray(dy, dtype=float), eps) + \
            exercises._eps_mistakes(x, gamma, dy, eps)
        key2 = _key(cache.x, cache.gamma, dy, eps)
        for k in {key, key2}:
            arrays.update({f"{k}_dx": dx, f"{k}_dgamma": dgamma, f"{k}_dbeta": dbeta})
            arrays.update({f"{k}_m{i}": np.asarray(a, dtype=float) for i, (a, _) in enumerate(known)})
            messages[k] = [m for _, m in known]
    np.savez(dest / "_answers.npz", **arrays)
    (dest / "_answers.json").write_text(json.dumps(messages))


def write(name: str, lib_dir: Path) -> None:
    """Turn ``lib_dir`` (a copy of the full lib) into the students' copy for ``name``."""
    for file, names in LEFT_OUT.get(name, {}).items():
        path = lib_dir / file
        text = left_out(path.read_text(), names)
        text += BATCHNORM_STUB if file == "batchnorm.py" else EXERCISES_TABLE
        path.write_text(text)
    if name in PUBLIC:
        _table(name, lib_dir)


_BUILT: dict[str, str] = {}
_BUILDING = threading.Lock()


def parent_for(name: str, full_lib: Path) -> str:
    """A folder holding the students' ``lib`` of ``name``, built once a process from
    ``full_lib`` (the lib this grader imports), readable by the sandbox's user."""
    if name not in LEFT_OUT:
        return str(Path(full_lib).parent)
    with _BUILDING:
        return _build(name, full_lib)


def _build(name: str, full_lib: Path) -> str:
    if name not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix=f"bn-lib-{name}-"))
        atexit.register(shutil.rmtree, folder, True)
        shutil.copytree(full_lib, folder / "lib", ignore=shutil.ignore_patterns("__pycache__"))
        write(name, folder / "lib")
        for path in [folder, *folder.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        _BUILT[name] = str(folder)
    return _BUILT[name]


if __name__ == "__main__":
    write(sys.argv[1], Path(sys.argv[2]) / "lib")
