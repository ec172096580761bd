"""Live Code's Thebe served by the site itself, and sphinx-thebe's configuration script written once.

``make book`` unpacks the pinned npm package ``thebe`` into ``book/_vendor/thebe``
(``tools/npm_fetch.py``, hash-checked); at the end of an HTML build its bundle is copied into
``_static/thebe``, and sphinx-thebe's inline ``const THEBE_JS_URL`` points there, not at unpkg.com.
Sphinx 7 wrote that script twice (the second ``const`` was a SyntaxError on every page): it is
written once. Thebe still loads only when the reader clicks Live Code; after that the only other
host it talks to is the Binder it starts. A second Thebe configuration (Thebe merges every
``text/x-thebe-config`` script) turns off its MathJax 2 download.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

from rewrites import missing, replace

VENDOR = Path(__file__).resolve().parents[1] / "_vendor" / "thebe"
TARGET = "_static/thebe"
CDN = re.compile(r'"https://unpkg\.com/thebe@[^"]*/lib/index\.js"')
# Resolved against the page's own root (Sphinx writes ``<html data-content_root="../">``), so
# one script serves pages at every depth.
LOCAL = f'document.documentElement.dataset.content_root + "{TARGET}/index.js"'


def _bundle() -> Path:
    lib = VENDOR / "lib"
    if not (lib / "index.js").is_file():
        raise ExtensionError(f"local_thebe: {lib / 'index.js'} is missing: run "
                             "`python tools/npm_fetch.py book/_vendor` (make book does)")
    return lib


def copy_thebe(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / TARGET
    target.mkdir(parents=True, exist_ok=True)
    for file in _bundle().iterdir():
        if file.suffix in (".js", ".css"):
            shutil.copy2(file, target / file.name)


def thebe_script_once(app, env, docnames) -> None:
    """Runs once a build, right after sphinx-thebe has registered its scripts."""
    if app.builder.format != "html":
        return
    # works around executablebooks/sphinx-thebe#24: the URL of the Thebe it loads is not configurable
    configs = [attrs for _, attrs in app.registry.js_files if "const THEBE_JS_URL" in attrs.get("body", "")]
    if len(configs) != 1:
        raise missing("local_thebe", "sphinx-thebe's one `const THEBE_JS_URL = ...` script", "Sphinx's scripts")
    configs[0]["body"] = replace(configs[0]["body"], CDN, LOCAL, "local_thebe", '`THEBE_JS_URL = '
                                 '"https://unpkg.com/thebe@.../lib/index.js"`', "sphinx-thebe's script")
    # works around sphinx-doc/sphinx#13402 (fixed in Sphinx 8.2; jupyter-book 1.x needs Sphinx 7): the
    # builder keeps a script registered after it started, and adds it again from the registry
    kept = [js for js in app.builder._js_files if js.filename is not None]
    if len(kept) == len(app.builder._js_files):
        raise missing("local_thebe", "Sphinx's early copy of sphinx-thebe's script (filename None)",
                      "the builder's scripts")
    app.builder._js_files[:] = kept


def setup(app):
    app.connect("builder-inited", lambda app: app.builder.format == "html" and _bundle())
    app.connect("build-finished", copy_thebe)
    app.connect("env-before-read-docs", thebe_script_once, priority=900)   # sphinx-thebe's runs at 500
    app.add_js_file(None, type="text/x-thebe-config", body='{"mathjaxUrl": false}')
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
