"""Substitutions made from the repository's own files, so that nothing is typed twice.

* ``{{ how_to_cite }}``: the citation of the book, written from ``CITATION.cff``;
* ``{{ repository }}``, the one repository address of ``_config.yml`` (``repository.url``);
* ``{{ pdf_link }}``, a link to the PDF edition where the deploy workflow publishes it (the
  site's address on GitHub Pages, from ``repository.url``): ``make book`` builds no PDF, so a
  link into the local site would lead nowhere until ``make pdf`` has run.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from notebooks import site_url


def _citation_file(app) -> Path:
    """``CITATION.cff`` beside book/, or beside the lib the build imports (a copy of book/)."""
    spec = importlib.util.find_spec("lib")
    candidates = [Path(app.srcdir).parent / "CITATION.cff",
                  Path(next(iter(spec.submodule_search_locations))).parent / "CITATION.cff"]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"citation: no CITATION.cff in {' or '.join(map(str, candidates))}")


def how_to_cite(cff: dict) -> str:
    """One line: authors (year). *Title* (version). URL."""
    authors = ", ".join(a.get("name") or f"{a.get('family-names', '')}, {a.get('given-names', '')}"
                        for a in cff.get("authors", []))
    year = str(cff.get("date-released", ""))[:4]
    return (f"{authors} ({year}). *{cff['title']}* (version {cff.get('version', '')}). "
            f"<{cff.get('repository-code', '')}>")


def pdf_name(app) -> str:
    """The PDF edition's file name: the LaTeX target of ``_config.yml``, ``.tex`` made ``.pdf``."""
    book = yaml.safe_load((Path(app.srcdir) / "_config.yml").read_text())
    return Path(book["latex"]["latex_documents"]["targetname"]).with_suffix(".pdf").name


def substitutions(app, config):
    cff = yaml.safe_load(_citation_file(app).read_text())
    repo = (config.html_theme_options or {}).get("repository_url", "")
    subs = {"how_to_cite": how_to_cite(cff), "repository": repo,
            "pdf_link": f'<a href="{site_url(repo)}{pdf_name(app)}">one PDF</a>'}
    config.myst_substitutions = {**(config.myst_substitutions or {}), **subs}


def setup(app):
    app.connect("config-inited", substitutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
