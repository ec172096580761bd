"""A page that glues numbers from another page is written again whenever that page is.

myst-nb pastes ``{glue:text}`chapters/08_gradient.md::key:.3f``` from the other page's
``.glue.json`` while the page is written, but Sphinx writes a page only when its own source
changed: after chapter 8 runs again, the introduction would keep the old numbers. This
extension remembers which pages each page glues from, and marks a page for writing whenever
one of those was read again in the same build.
"""
from __future__ import annotations

from myst_nb.ext.glue.utils import PendingGlueReference


def _sources(env):
    if not hasattr(env, "bn_glue_sources"):
        env.bn_glue_sources = {}          # page -> the pages it glues from
    return env.bn_glue_sources


def record(app, doctree):
    sources = {node.refdoc for node in doctree.findall(PendingGlueReference)}
    if sources:
        _sources(app.env)[app.env.docname] = sources


def remember_read(app, env, docnames):
    env.bn_glue_read = set(docnames)


def purge(app, env, docname):
    _sources(env).pop(docname, None)


def merge(app, env, docnames, other):
    _sources(env).update({d: s for d, s in _sources(other).items() if d in docnames})


def to_write(app, env):
    read = getattr(env, "bn_glue_read", set())
    return [page for page, sources in _sources(env).items() if sources & read and page not in read]


def setup(app):
    app.connect("doctree-read", record)
    app.connect("env-before-read-docs", remember_read)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-updated", to_write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
