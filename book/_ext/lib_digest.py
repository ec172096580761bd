"""Re-execute a chapter whenever the library code it runs has changed, and say plainly why a
chapter failed.

jupyter-cache keys a notebook on its code cells only, so an edit to ``lib`` (a formula of
``lib/steps``, say) would leave every chapter's cached outputs, and its ticked checks, in
place. This extension gives each chapter a digest of what its result can depend on: the
files of ``lib`` it imports, followed through ``lib``'s own imports, what the build's kernels
load before any cell (their IPython profile, ``quiet_kernels.py``, and the ``build_kernel``
package it runs) and the locked tree ``requirements.lock``. When a chapter's
digest differs from the one recorded after its last successful run, its jupyter-cache
record is dropped and Sphinx reads it again, so it is executed afresh. Digests are recorded
only for chapters that executed without error, so a failing chapter keeps failing until it
is fixed.

Two records are kept, because the HTML site and the PDF edition share one execution cache
but not one Sphinx environment: the cache's record (beside jupyter-cache) says which lib the
cached outputs were made with, and each builder's record (beside its doctrees) says which
lib that builder last read and wrote the chapter with. A chapter re-executed by one build
is read again, from the cache, and written again by the other.

Execution errors do not stop the build at the first chapter (``nb_execution_raise_on_error``
is off in ``_config.yml``): myst-nb warns, ``-W --keep-going`` carries on, and at the end
this extension prints one short paragraph per failing chapter (the step that failed, at
which size, and what did not cancel, for a sympy check) and makes the build fail even
without ``-W``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
STAMP = "lib-digests.json"
_IMPORT = re.compile(r"^\s*(?:from\s+(lib(?:\.\w+)*)\s+import\s+([^\n#]+)|import\s+(lib(?:\.\w+)*))",
                     re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- what a chapter depends on

def lib_root() -> Path:
    """The folder of the ``lib`` the build's kernels import (same environment, same path)."""
    spec = importlib.util.find_spec("lib")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _imports_in_text(text):
    """Dotted lib modules imported by the ``import`` lines of ``text`` (names included)."""
    for frm, names, plain in _IMPORT.findall(text):
        if plain:
            yield plain
            continue
        yield frm
        for name in names.strip("() ").split(","):
            name = name.strip().split(" as ")[0].strip()
            if name and name.isidentifier():
                yield f"{frm}.{name}"


def dependencies(source: Path, root: Path) -> list[Path]:
    """The files of ``lib`` (in ``root``) that the chapter ``source`` imports, directly or
    through lib: :func:`lib.store.imported_files`, which also keys the stored results."""
    from lib.store import imported_files

    return imported_files(list(_imports_in_text(source.read_text(encoding="utf-8"))), root)


def digest(source: Path, root: Path) -> str:
    """sha256 of the chapter's lib files (path and content), of what the build's kernels load
    before any cell (their profile and the files of ``build_kernel``), and of the locked tree
    of packages.

    ``build_kernel``'s own imports of lib are not followed: it reaches lib only through the
    objects a chapter makes (a slider figure), whose modules the chapter's imports count.
    """
    from quiet_kernels import KERNEL, PROFILE

    h = hashlib.sha256()
    for path in dependencies(source, root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for path in sorted(KERNEL.rglob("*.py")):
        h.update(b"build_kernel/" + path.relative_to(KERNEL).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(PROFILE.encode())                  # the kernels' profile: figure formats, start-up
    requirements = root.parent / "requirements.lock"
    if requirements.is_file():
        h.update(requirements.read_bytes())
    for path in data_files(source, root):       # recorded results a chapter renders
        h.update(path.relative_to(root.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


DATA_FILES = {"benchmarks.py": ("bench/results/backward.json",)}
"""Files outside lib that a lib module reads and a chapter renders (module path inside lib -> paths
from the repository root): a chapter importing the module depends on them too."""


def data_files(source: Path, root: Path) -> list[Path]:
    """The data files (see :data:`DATA_FILES`) of the lib modules the chapter imports."""
    out = []
    for module in dependencies(source, root):
        for rel in DATA_FILES.get(module.relative_to(root).as_posix(), ()):
            path = root.parent / rel
            if path.is_file():
                out.append(path)
    return out


# ---------------------------------------------------------------- Sphinx hooks

def _notebooks(app, env):
    """docname -> source path of every page that is executed (MyST notebooks)."""
    out = {}
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and "kernelspec:" in path.read_text(encoding="utf-8").split("\n---", 1)[0]:
            out[docname] = path
    return out


def _stamp_paths(app) -> tuple[Path, Path]:
    """The execution cache's record and this builder's record (html and latex share a doctree
    folder, and Sphinx writes a page again only when its source is newer than the page)."""
    own = Path(app.doctreedir) / STAMP.replace(".json", f"-{app.builder.name}.json")
    return Path(app.env.mystnb_config.execution_cache_path) / STAMP, own


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def outdated(app, env, added, changed, removed):
    """Chapters whose lib changed: drop their cached outputs and have Sphinx read them again."""
    from jupyter_cache import get_cache

    cached, read = (_read(path) for path in _stamp_paths(app))
    root = lib_root()
    app.lib_digests = {doc: digest(path, root) for doc, path in _notebooks(app, env).items()}
    stale = [doc for doc, d in app.lib_digests.items() if cached.get(doc) != d]
    if stale:
        _drop_cached(get_cache(app.env.mystnb_config.execution_cache_path),
                     [Path(env.doc2path(doc)).resolve() for doc in stale])
        LOGGER.info(f"lib_digest: {len(stale)} chapter(s) depend on changed lib code and "
                    f"will be executed again: {', '.join(sorted(stale))}")
    return sorted(set(stale) | {doc for doc, d in app.lib_digests.items() if read.get(doc) != d})


def _drop_cached(cache, sources):
    """Remove the cache records of these notebooks: by their path, and by their code (a
    record made from a copy of the book elsewhere matches by content, not by path)."""
    import jupytext

    pks = {r.pk for r in cache.list_cache_records() if Path(r.uri).resolve() in set(sources)}
    for source in sources:
        try:
            pks.add(cache.match_cache_notebook(jupytext.read(source)).pk)
        except KeyError:
            pass
    for pk in pks:
        cache.remove_cache(pk)


def _failure_text(traceback: str) -> str:
    """The useful lines of a cell's traceback: a StepError's message, or the last error line."""
    text = _ANSI.sub("", traceback or "")
    step = re.findall(r"StepError: (.*)", text)
    if step:
        return "sympy check failed: " + step[-1].strip()
    lines = [line for line in text.splitlines() if re.match(r"^\w*(Error|Exception)\b", line)]
    return (lines[-1] if lines else text.strip().splitlines()[-1] if text.strip() else "unknown error")[:600]


def finished(app, exception):
    """Record digests of the chapters that ran cleanly; summarise the ones that failed."""
    from myst_nb.sphinx_ import NbMetadataCollector

    if not hasattr(app, "lib_digests") or exception is not None:
        return                                   # an aborted build confirms nothing
    paths, failures = _stamp_paths(app), []
    records = [_read(path) for path in paths]
    for doc, d in app.lib_digests.items():
        data = NbMetadataCollector.get_exec_data(app.env, doc) if doc in app.env.all_docs else None
        failed = bool(data and not data.get("succeeded", True))
        if failed:
            failures.append((doc, _failure_text(data.get("traceback"))))
        for recorded in records:
            recorded.pop(doc, None) if failed else recorded.update({doc: d})
    for path, recorded in zip(paths, records):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True))
    if failures:
        summary = "\n".join(f"  {doc}: {text}" for doc, text in failures)
        LOGGER.error(f"{len(failures)} chapter(s) failed to execute:\n{summary}")
        app.statuscode = 1


def setup(app):
    app.connect("env-get-outdated", outdated)
    app.connect("build-finished", finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
