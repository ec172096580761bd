"""``{checked}``: a numbered, checked equation, with the code that checks it one click away.

In a chapter, a code cell runs a step of ``lib.steps`` and glues it
(``step.glue("dbeta")``: its LaTeX under ``dbeta`` and its sizes under
``dbeta-sizes``). The directive

    ```{checked} lib.steps.basics.dbeta_step
    :key: dbeta
    :implements: lib.batchnorm.backward
    ```

then shows the glued equation, numbered and labelled ``eq-dbeta`` (so that
``{eq}`eq-dbeta``` works from any chapter), a line saying for which sizes sympy
proved it, and a folded block "How this is checked" with the step function's own
source, read from ``lib`` at build time (never copied into the page), and the
``lib`` function that uses the formula. The function's docstring is shown as text above
its code, its references rendered: ``{eq}`` as the equation's number, ``:func:`` and
doubled backticks as code, numpy sections as lists. The PDF edition prints the equation
and the tick line; the folded code is in the site only.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import textwrap

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


PY_ROLE = re.compile(r":(?:py:)?(?:func|data|class|meth|mod|attr|obj):`~?([^`]+)`")
MATH_ROLE = re.compile(r":math:`([^`]+)`")
DOUBLE_TICKS = re.compile(r"``([^`]+)``")
SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.M)
ENTRY = re.compile(r"^(\w+) : (.+)$")           # "name : type" of a numpy section


def docstring_markdown(doc: str) -> str:
    """A numpy docstring as MyST Markdown: Python roles and doubled backticks as code,
    ``:math:`` as math, each numpy section ("Parameters" over dashes) as a bold title over a
    list of its entries (an entry's indented lines joined to it)."""
    doc = PY_ROLE.sub(r"`\1`", doc)
    doc = MATH_ROLE.sub(r"$\1$", doc)
    doc = DOUBLE_TICKS.sub(r"`\1`", doc)
    parts = SECTION.split(doc)
    out = [parts[0].strip()]
    for title, body in zip(parts[1::2], parts[2::2]):
        items = []                          # [head, description]
        for line in body.strip("\n").splitlines():
            if not line.strip():
                continue
            if line.startswith((" ", "\t")) and items:
                items[-1][1] += " " + line.strip()
            else:
                items.append([ENTRY.sub(r"`\1` (\2)", line.strip()), ""])
        out.append(f"**{title}**\n\n" + "\n".join(f"- {head}" + (f":{text}" if text else "")
                                                   for head, text in items))
    return "\n\n".join(p for p in out if p)


def split_docstring(function):
    """(source without its docstring, docstring) of a function, read from its file."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.splitlines()
    body = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)).body
    first = body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return source, ""
    del lines[first.lineno - 1:first.end_lineno]
    return "\n".join(lines), inspect.cleandoc(first.value.value)


class Checked(SphinxDirective):
    required_arguments = 1                  # the dotted name of the step function
    option_spec = {"key": directives.unchanged_required, "implements": directives.unchanged}

    def run(self):
        dotted, key = self.arguments[0], self.options["key"]
        module, name = dotted.rsplit(".", 1)
        function = inspect.unwrap(getattr(importlib.import_module(module), name))
        self.env.note_dependency(os.path.abspath(inspect.getsourcefile(function)))
        code, doc = split_docstring(function)
        if "```" in code:
            raise self.error(f"{dotted}: its code holds a ``` fence, which would end the fold's")
        implements = self.options.get("implements")
        used = (f"The formula is what `{implements}` computes." if implements
                else "The step is a statement about the formula; no library function depends on it alone.")
        lines = [f"```{{glue:math}} {key}", f":label: eq-{key}", "```", "",
                 f"✓ checked by sympy for {{glue:text}}`{key}-sizes`", "",
                 "`````{only} html",      # the PDF edition prints the tick, not the code
                 "````{admonition} How this is checked", ":class: dropdown bn-how", "",
                 f"`{dotted}` builds both sides at each size and proves their difference is zero. "
                 f"{used}", "", *docstring_markdown(doc).splitlines(), "",
                 "```python", *code.splitlines(), "```",
                 "````", "`````"]
        container = nodes.container(classes=["bn-checked-equation"])
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("checked", Checked)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
