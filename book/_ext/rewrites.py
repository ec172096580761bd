"""A rewrite of another package's output that fails the build when it finds nothing to rewrite.

page_fixes, local_thebe and local_katex rewrite what the theme, sphinx-thebe, docutils and KaTeX
write. When that output changes, a plain ``str.replace`` or ``re.sub`` does nothing, silently,
and the workaround is dead. ``replace`` raises instead, naming the extension, the fix, what it
looked for and where; ``missing`` is the same error for checks that do not substitute text.
"""
from __future__ import annotations

import re

from sphinx.errors import ExtensionError


def missing(fix: str, what: str, where: str) -> ExtensionError:
    return ExtensionError(f"{fix}: {what} not found in {where}: the upstream output changed; "
                          "update or drop this fix")


def replace(text: str, old: str | re.Pattern, new, fix: str, what: str, where: str, count: int = 0) -> str:
    """``text`` with ``old`` (a string, or a pattern) replaced by ``new``; ``old`` must occur."""
    if isinstance(old, str):
        old, literal = re.compile(re.escape(old)), new
        new = lambda match: literal      # noqa: E731  (a string taken as it is, backslashes too)
    fixed, found = old.subn(new, text, count)
    if not found:
        raise missing(fix, what, where)
    return fixed
