"""Every chapter as a Jupyter notebook that Colab and a plain Jupyter open.

A chapter is a MyST Markdown notebook, which Colab cannot read. At the end of each HTML
build this extension turns every text notebook of the book into an ``.ipynb`` with jupytext:

* a first code cell installs the book's ``lib`` (from the repository, at the commit the site
  was built from) when it is missing, and does nothing when it is present;
* MyST markup that Jupyter would show as source is written out as plain Markdown: each
  ``{checked}`` equation becomes its glued LaTeX (with the page's equation number), glued
  numbers become their values, exercises, solutions and proofs become headed paragraphs and
  folded ``<details>``, and cross-references become links to the published site.

The notebooks go to ``_build/notebooks/`` (the folder the deploy workflow publishes on the
``notebooks`` branch, which Colab opens) and over the page's ``.ipynb`` download in
``_sources/``. The page's Colab launch button points at the published notebook.
"""
from __future__ import annotations

import ast
import html
import json
import os
import posixpath
import re
import subprocess
from pathlib import Path

import jupytext
import nbformat
from sphinx.util import logging
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

BRANCH = "notebooks"            # .github/workflows/book.yml publishes _build/notebooks here
COLAB = "https://colab.research.google.com"
SOURCE_ENV = "BNBOOK_LIB_SOURCE"  # a test points the install cell at a local checkout
LOGGER = logging.getLogger(__name__)

INSTALL = '''\
# Colab or a plain Jupyter: install the book's `lib` if it is missing (here it does nothing
# when `lib` is already importable, as in Binder or the book's own environment).
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("lib") is None:
    source = os.environ.get("{env}", "{source}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    f"bnbook-lib[notebook] @ {{source}}"], check=True)
    importlib.invalidate_caches()
if "google.colab" in sys.modules:  # Colab shows ipywidgets 8 through its custom manager
    from google.colab import output
    output.enable_custom_widget_manager()
'''

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>[^\n]*)\n"
                   r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<text>[^`]*)`")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
TARGET = re.compile(r"^\(\S+\)=[ \t]*\n", re.M)
LABELLED = re.compile(r"\$\$[ \t]*\((?P<label>[\w-]+)\)")


def site_url(repo_url: str) -> str:
    """The GitHub Pages address of a GitHub repository: ``https://org.github.io/name/``."""
    org, name = repo_url.rstrip("/").split("/")[-2:]
    return f"https://{org}.github.io/{name}/"


def glue_values(path: Path) -> dict:
    """The glued outputs of an executed chapter (myst-nb's ``.glue.json``), by key."""
    return {k: v.get("data", {}) for k, v in json.loads(path.read_text()).items()} if path.is_file() else {}


def _options(body: str):
    """Split a directive body into its ``:key: value`` options and the rest."""
    lines, options = body.split("\n"), {}
    while lines and (m := OPTION.match(lines[0])):
        options[m["key"]] = m["value"]
        lines.pop(0)
    return options, "\n".join(lines).strip("\n")


class Converter:
    """MyST Markdown of one chapter to Markdown that Jupyter and Colab render."""

    def __init__(self, glue: dict, resolve, chapter: str = "", other=lambda page: {}):
        # chapter: the prefix of the page's numbers, "8." on chapter 8 (as the site numbers them);
        # other(page): the glued outputs of another page, for {glue:text}`page.md::key`
        self.glue, self.resolve, self.exercises, self.chapter = glue, resolve, 0, chapter
        self.other = other

    def latex(self, key: str) -> str:
        data = self.glue.get(key, {})
        if "text/latex" not in data:
            raise KeyError(f"notebooks: no glued equation {key!r}")
        return data["text/latex"].strip().removeprefix("$").removesuffix("$").removeprefix(r"\displaystyle ")

    def text(self, spec: str) -> str:
        page, _, spec = spec.rpartition("::")
        key, _, fmt = spec.partition(":")
        raw = (self.other(page) if page else self.glue)[key]["text/plain"]
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        return format(value, fmt) if fmt else str(value)

    def md(self, key: str) -> str:
        """A glued Markdown object (``{glue:md}``, a table read from a results file, say)."""
        data = self.glue.get(key, {})
        if "text/markdown" not in data:
            raise KeyError(f"notebooks: no glued Markdown {key!r}")
        return data["text/markdown"].strip()

    def equation(self, key: str) -> str:
        latex = self.latex(key)
        number = self.resolve("eq", f"eq-{key}")[0]
        tag = rf" \tag{{{number}}}" if number else ""
        return f"$$\n{latex}{tag}\n$$"

    def directive(self, m) -> str:
        """A directive (inside a list item too: its indent is kept) as plain Markdown."""
        indent = m["indent"]
        body = "\n".join(line.removeprefix(indent) for line in m["body"].split("\n"))
        text = self._directive(m["name"], m["arg"].strip(), body)
        return "\n".join(indent + line if line else line for line in text.split("\n"))

    def _directive(self, name, arg, body) -> str:
        options, body = _options(body)
        body = self.markdown(body)
        if name == "checked":
            equation = self.equation(options["key"])
            return f"{equation}\n\n*✓ checked by sympy for {self.text(options['key'] + '-sizes')}*"
        if name == "glue:math":
            return self.equation(arg)
        if name == "glue:md":
            return self.md(arg)
        if name == "exercise":
            self.exercises += 1
            return f"**Exercise {self.chapter}{self.exercises}.** {body}"
        if name == "solution":
            return f"<details><summary>Solution</summary>\n\n{body}\n\n</details>"
        if name == "solution-start":
            return f"**Solution.** {body}"
        if name == "solution-end":
            return "*(End of the solution.)*"
        if name.startswith("prf:"):
            kind = name[4:].capitalize()
            title = f" ({arg})" if arg else ""
            return f"**{kind}{title}.** {body}" + (" ∎" if kind == "Proof" else "")
        if name == "math":
            return f"$$\n{body}\n$$"
        title = arg or name.capitalize()
        return "\n".join(f"> {line}".rstrip() for line in [f"**{title}**", ""] + body.split("\n"))

    def role(self, m) -> str:
        name, text = m["name"], m["text"]
        if name == "glue:text":
            return self.text(text)
        if name == "glue:md":
            return self.md(text)
        if name in ("cite:p", "cite:t"):
            return self.resolve(name, text)[0]
        explicit = EXPLICIT.match(text)
        label, target = (explicit["text"], explicit["target"]) if explicit else (None, text)
        found, url = self.resolve(name, target)
        if name == "eq":
            return f"({found})"
        return f"[{label or found}]({url})" if url else (label or found)

    def markdown(self, text: str) -> str:
        text = TARGET.sub("", text)
        text = LABELLED.sub(lambda m: rf"\tag{{{self.resolve('eq', m['label'])[0]}}}$$", text)
        text = FENCE.sub(self.directive, text)
        return ROLE.sub(self.role, text)


class Resolver:
    """Titles, equation numbers, citations and site links, from the Sphinx environment."""

    def __init__(self, app, docname: str):
        from pybtex.database import parse_file  # sphinxcontrib-bibtex's own parser
        self.env, self.base = app.env, site_url(app.config.html_theme_options.get("repository_url", ""))
        self.docname, self.entries = docname, {}
        for bib in app.config.bibtex_bibfiles:
            self.entries.update(parse_file(str(Path(app.srcdir) / bib)).entries)

    def equation_number(self, label: str) -> str:
        """The number the site prints for equation ``label``: chapter-prefixed (8.4) with numfig."""
        env = self.env
        docname, number = env.get_domain("math").equations.get(label, (None, None))
        if docname is None:
            return label
        if env.config.numfig and env.config.math_numfig:
            from docutils.nodes import make_id   # how Sphinx names an equation's node: lower case

            table = env.toc_fignumbers.get(docname, {}).get("displaymath", {})
            numbers = table.get(make_id(f"equation-{label}")) or table.get(f"equation-{label}")
            if numbers:
                return ".".join(map(str, numbers))
        return str(number)

    def chapter_prefix(self) -> str:
        """``8.`` on chapter 8 (the prefix of its exercises' numbers), ``""`` on unnumbered pages."""
        number = self.env.toc_secnumbers.get(self.docname, {}).get("")
        return ".".join(map(str, number)) + "." if number else ""

    def page(self, docname: str, anchor: str = "") -> str:
        return f"{self.base}{docname}.html" + (f"#{anchor}" if anchor else "")

    def __call__(self, kind: str, target: str):
        env = self.env
        if kind == "doc":
            docname = posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))
            return env.titles[docname].astext(), self.page(docname)
        if kind == "ref":
            docname, anchor, title = env.domaindata["std"]["labels"][target]
            return title, self.page(docname, anchor)
        if kind == "prf:ref":
            return "the lemma", None
        if kind == "eq":
            return self.equation_number(target), None
        if kind in ("cite:p", "cite:t"):
            return citation(self.entries, kind, target), None
        raise KeyError(f"notebooks: no conversion for the role {{{kind}}}")


def citation(entries, kind: str, keys: str) -> str:
    """Author-year text of ``{cite:p}`` and ``{cite:t}`` from the book's bibliography."""
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        entry = entries[key]
        names = [p.last_names[0].strip("{}") for p in entry.persons.get("author", [])]
        who = names[0] + (" et al." if len(names) > 2 else f" and {names[1]}" if len(names) == 2 else "")
        year = entry.fields["year"]
        parts.append(f"{who} ({year})" if kind == "cite:t" else f"{who}, {year}")
    return "; ".join(parts) if kind == "cite:t" else f"({'; '.join(parts)})"


def install_source(app) -> str:
    """``git+<repository>@<commit>``: the lib of the commit this site is built from."""
    repo = app.config.html_theme_options.get("repository_url", "")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app.srcdir, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "main"
    return f"git+{repo}@{commit}"


def chapter_notebook(md: Path, converter: Converter, page_url: str, source: str):
    """The notebook of one chapter: a note and the install cell, then the chapter's cells."""
    nb = jupytext.read(md, fmt="md:myst")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source)
    note = nbformat.v4.new_markdown_cell(
        f"*This notebook is generated from a chapter of* Backprop through Batch Norm; "
        f"*the page is at <{page_url}>. Run the first cell once: it installs the book's `lib` "
        f"when it is missing.*")
    install = nbformat.v4.new_code_cell(INSTALL.format(env=SOURCE_ENV, source=source))
    nb.cells[:0] = [note, install]
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def is_text_notebook(path: Path) -> bool:
    return path.suffix == ".md" and path.read_text(encoding="utf-8").lstrip().startswith("---\njupytext")


def write_notebook(app, pagename, templatename, context, doctree) -> None:
    """Generate this page's notebook, offer it for download and open it in Colab."""
    md = Path(app.srcdir) / f"{pagename}.md"
    if app.builder.format != "html" or not md.is_file() or not is_text_notebook(md):
        return
    build = Path(app.outdir).parent
    resolver = Resolver(app, pagename)
    executed = build / "jupyter_execute"
    other = lambda page: glue_values(  # noqa: E731 (a page's path is relative to this one's)
        executed / Path(os.path.normpath(Path(pagename).parent / page)).with_suffix(".glue.json"))
    converter = Converter(glue_values(executed / f"{pagename}.glue.json"), resolver,
                          resolver.chapter_prefix(), other)
    try:
        nb = chapter_notebook(md, converter, resolver.page(pagename), install_source(app))
    except KeyError as exc:   # a chapter that failed to run glued nothing: say so, do not abort
        LOGGER.warning(f"{pagename}: no notebook written ({exc.args[0]})", location=pagename)
        return
    for target in (build / "notebooks" / f"{pagename}.ipynb", Path(app.outdir) / "_sources" / f"{pagename}.ipynb"):
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    _point_colab(app, context, pagename)


def _point_colab(app, context, pagename) -> None:
    org, name = app.config.html_theme_options["repository_url"].rstrip("/").split("/")[-2:]
    url = f"{COLAB}/github/{org}/{name}/blob/{BRANCH}/{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == "Colab":
                button["url"] = url


# ---------------------------------------------------------------- nbgitpuller links

PULLER_JS = """(function(){var box=document.getElementById('bn-hub');if(!box)return;
function update(){var hub=box.value.trim().replace(/\\/+$/,'');
document.querySelectorAll('a.bn-pull').forEach(function(a){var ok=/^https?:\\/\\/[^\\s]+$/.test(hub);
a.hidden=!ok;if(ok){a.href=hub+a.getAttribute('data-path');}});
try{localStorage.setItem('bn-hub',hub);}catch(e){}}
try{box.value=localStorage.getItem('bn-hub')||'';}catch(e){}
box.addEventListener('input',update);update();})();"""


def puller_path(repo_url: str, target: str) -> str:
    """nbgitpuller's ``/hub/user-redirect/git-pull?...`` for a path of the notebooks branch."""
    from urllib.parse import urlencode
    name = repo_url.rstrip("/").split("/")[-1]
    query = urlencode({"repo": repo_url, "branch": BRANCH, "urlpath": f"lab/tree/{name}/{target}"}, safe="/")
    return f"/hub/user-redirect/git-pull?{query}"


def assignments_folder(srcdir) -> Path:
    """``assignments/masters`` beside book/, or beside the lib the build imports (a copy of book/)."""
    import importlib.util
    lib = Path(next(iter(importlib.util.find_spec("lib").submodule_search_locations)))
    for root in (Path(srcdir).parent, lib.parent):
        if (root / "assignments" / "masters").is_dir():
            return root / "assignments" / "masters"
    raise FileNotFoundError(f"notebooks: no assignments/masters beside {srcdir} or {lib.parent}")


class PullerLinks(SphinxDirective):
    """``{nbgitpuller-links}``: a table of nbgitpuller links, one per assignment and one for
    the chapters, from the repository address; a field for the hub's address completes them."""

    def run(self):
        repo = self.config.html_theme_options.get("repository_url", "")
        masters = sorted(p.stem for p in assignments_folder(self.env.srcdir).glob("*.py"))
        rows = [("All chapters", "chapters")] + [(f"Assignment <code>{m}</code>", f"assignments/{m}/{m}.ipynb")
                                                 for m in masters]
        esc = html.escape
        body = "".join(
            f'<tr><td>{label}<br><a class="bn-pull" hidden '
            f'data-path="{esc(puller_path(repo, target), quote=True)}">open on your hub</a></td>'
            f'<td><code style="word-break:break-all;white-space:normal">{esc(puller_path(repo, target))}</code></td></tr>'
            for label, target in rows)
        markup = ('<p><label for="bn-hub">Your JupyterHub\'s address: </label>'
                  '<input id="bn-hub" type="url" placeholder="https://hub.example.edu" size="32"></p>'
                  '<div class="bn-table-wrap" role="region" tabindex="0" aria-label="nbgitpuller links">'
                  '<table class="bn-table"><thead><tr><th scope="col">What</th>'
                  f'<th scope="col">Path to append to the hub\'s address</th></tr></thead><tbody>{body}</tbody>'
                  f"</table></div><script>{PULLER_JS}</script>")
        return [nodes.raw("", markup, format="html")]


def setup(app):
    app.add_directive("nbgitpuller-links", PullerLinks)
    app.connect("html-page-context", write_notebook, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
