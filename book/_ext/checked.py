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
source, included from ``lib`` at build time (never copied into the page), and the
``lib`` function that uses the formula. The PDF edition prints the equation and the tick
line; the folded code is in the site only.
"""
from __future__ import annotations

import importlib
import inspect
import os

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class Checked(SphinxDirective):
    required_arguments = 1                  # the dotted name of the step function
    option_spec = {"key": directives.unchanged_required, "implements": directives.unchanged}

    def _source(self, dotted):
        module, name = dotted.rsplit(".", 1)
        function = inspect.unwrap(getattr(importlib.import_module(module), name))
        path = inspect.getsourcefile(function)
        here = os.path.dirname(self.env.doc2path(self.env.docname))
        return os.path.relpath(path, here), name

    def run(self):
        dotted, key = self.arguments[0], self.options["key"]
        path, name = self._source(dotted)
        implements = self.options.get("implements")
        used = (f"The formula is what `{implements}` computes." if implements
                else "The step is a statement about the formula; no library function depends on it alone.")
        lines = [f"```{{glue:math}} {key}", f":label: eq-{key}", "```", "",
                 f"✓ checked by sympy for {{glue:text}}`{key}-sizes`", "",
                 "`````{only} html",      # the PDF edition prints the tick, not the code
                 "````{admonition} How this is checked", ":class: dropdown bn-how", "",
                 f"`{dotted}` builds both sides at each size and proves their difference is zero. "
                 f"{used}", "",
                 f"```{{literalinclude}} {path}", f":pyobject: {name}", ":language: python", "```",
                 "````", "`````"]
        container = nodes.container(classes=["bn-checked-equation"])
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("checked", Checked)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
