"""Every rewrite of another package's output in book/_ext fails the build when that output changed.

Each test feeds a hook (page_fixes, local_thebe, local_katex) the output it rewrites, with the
one thing it looks for missing or changed, and expects the ExtensionError that names the fix.
A test of the whole hook on intact input shows that the input is otherwise what the hook needs.
"""
from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import pytest
from docutils import nodes
from sphinx.builders.html._assets import _JavaScript
from sphinx.errors import ExtensionError

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import local_katex  # noqa: E402
import local_thebe  # noqa: E402
import page_fixes  # noqa: E402
import rewrites  # noqa: E402


def test_replace_takes_a_string_as_it_is_and_fails_when_it_is_absent():
    assert rewrites.replace(r"a\1b", r"\1", "\\2", "x fix 1", "it", "p.html") == r"a\2b"
    with pytest.raises(ExtensionError, match=r"x fix 1: it not found in p\.html"):
        rewrites.replace("abc", "d", "e", "x fix 1", "it", "p.html")


# ---------------------------------------------------------------- local_thebe

THEBE_BODY = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const thebe_selector = ".cell"'


def _thebe_app(body=THEBE_BODY, late=True):
    """What Sphinx holds once sphinx-thebe has registered its scripts after the builder started."""
    registry = SimpleNamespace(js_files=[("doctools.js", {}), (None, {"body": body, "priority": 500})])
    scripts = [_JavaScript("_static/doctools.js")] + ([_JavaScript(None, body=body)] if late else [])
    return SimpleNamespace(registry=registry, builder=SimpleNamespace(format="html", _js_files=scripts))


def test_thebe_is_served_locally_and_its_script_written_once():
    app = _thebe_app()
    local_thebe.thebe_script_once(app, None, [])
    assert app.registry.js_files[1][1]["body"].startswith(f"const THEBE_JS_URL = {local_thebe.LOCAL};")
    assert [js.filename for js in app.builder._js_files] == ["_static/doctools.js"]


@pytest.mark.parametrize("app", [_thebe_app(body=THEBE_BODY.replace("unpkg.com", "cdn.jsdelivr.net")),
                                 _thebe_app(body="const thebe_selector = '.cell'"),
                                 _thebe_app(late=False)], ids=["cdn-changed", "no-config", "sphinx-fixed"])
def test_local_thebe_fails_when_sphinx_thebe_or_sphinx_changed(app):
    with pytest.raises(ExtensionError, match="local_thebe: .* not found"):
        local_thebe.thebe_script_once(app, None, [])


# ---------------------------------------------------------------- page_fixes, in the page's context


def _doctree(*children):
    document = nodes.document(None, None)
    document.extend(children)
    return document


def test_fix_3_fails_on_a_page_with_citations_but_no_biblioentry_role():
    context = {"body": '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">'}
    page_fixes.fix_bibliography_roles(None, "bibliography", "page.html", context, _doctree(nodes.citation()))
    assert 'role="listitem"' in context["body"] and "doc-biblioentry" not in context["body"]
    context = {"body": '<ul class="citation-list"><li class="citation">'}
    with pytest.raises(ExtensionError, match=r"page_fixes fix 3: .* bibliography\.html"):
        page_fixes.fix_bibliography_roles(None, "bibliography", "page.html", context, _doctree(nodes.citation()))


def test_fix_4_fails_when_a_notebooks_widget_state_is_not_where_myst_nb_put_it():
    env = SimpleNamespace(nb_metadata={"ch": {"js_files": {"ipywidgets_state": (None, {})}}})
    app = SimpleNamespace(env=env)
    state = _JavaScript(None, type=page_fixes.WIDGET_STATE, body="{}")
    context = {"script_files": [_JavaScript("_static/doctools.js"), state]}
    page_fixes.drop_widget_state(app, "ch", "page.html", context, None)
    assert state not in context["script_files"]
    context = {"script_files": [_JavaScript(None, type="application/x-widget-state", body="{}")]}
    with pytest.raises(ExtensionError, match=r"page_fixes fix 4: .* ch\.html"):
        page_fixes.drop_widget_state(app, "ch", "page.html", context, None)


def test_fix_11_fails_when_no_script_file_is_left_to_defer():
    context = {"script_files": [_JavaScript("_static/doctools.js")]}
    page_fixes.defer_scripts(None, "intro", "page.html", context, None)
    assert context["script_files"][0].attributes["defer"] == "defer"
    context = {"script_files": [_JavaScript(None, body="var x = 1;")]}
    with pytest.raises(ExtensionError, match=r"page_fixes fix 11: .* intro\.html"):
        page_fixes.defer_scripts(None, "intro", "page.html", context, None)


# ---------------------------------------------------------------- page_fixes, in the written pages

PAGE = f"""<html><head>
<script defer src="../_static/scripts/fontawesome.js?digest=1"></script>
    <script src="../_static/searchtools.js"></script>
    <script src="../_static/language_data.js"></script>
    <script src="../searchindex.js"></script>
</head><body>{page_fixes.SIDEBAR}</div><img alt="a figure" src="../_images/f.png" /></body></html>"""
PARTS = {5: page_fixes.SIDEBAR, 6: '<script defer src="../_static/scripts/fontawesome.js?digest=1"></script>',
         8: '<script src="../searchindex.js"></script>', 9: '<img alt="a figure" src="../_images/f.png" />'}


def _site(tmp_path, page=PAGE, fontawesome=True):
    """A built site of one chapter, as the build leaves it for written_pages."""
    static = tmp_path / "_static"
    (static / "scripts").mkdir(parents=True)
    (static / "theme.css").write_text('.fa-bars:before{content:"\\f0c9"}')
    if fontawesome:
        (static / "scripts" / "fontawesome.js").write_text("")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "ch.html").write_text(page)
    builder = SimpleNamespace(format="html", page_fixes_written=[(tmp_path / "chapters" / "ch.html", True)])
    return SimpleNamespace(builder=builder, outdir=str(tmp_path))


def test_written_pages_fixes_an_intact_page(tmp_path, monkeypatch):
    monkeypatch.setattr(page_fixes, "subset_icon_fonts", lambda outdir: None)
    page_fixes.written_pages(_site(tmp_path), None)
    html = (tmp_path / "chapters" / "ch.html").read_text()
    assert 'role="region"' in html and "fontawesome" not in html and "searchindex" not in html
    assert 'loading="lazy"' in html and not (tmp_path / "_static" / "scripts" / "fontawesome.js").exists()


@pytest.mark.parametrize("fix", sorted(PARTS))
def test_written_pages_fail_when_what_a_fix_rewrites_is_missing(tmp_path, monkeypatch, fix):
    monkeypatch.setattr(page_fixes, "subset_icon_fonts", lambda outdir: None)
    with pytest.raises(ExtensionError, match=rf"page_fixes fix {fix}: .* chapters/ch\.html"):
        page_fixes.written_pages(_site(tmp_path, PAGE.replace(PARTS[fix], "")), None)


def test_fix_6_fails_when_the_theme_ships_no_fontawesome_js(tmp_path, monkeypatch):
    monkeypatch.setattr(page_fixes, "subset_icon_fonts", lambda outdir: None)
    with pytest.raises(ExtensionError, match=r"page_fixes fix 6: the theme's fontawesome\.js not found"):
        page_fixes.written_pages(_site(tmp_path, fontawesome=False), None)


def test_fix_7_fails_without_icon_rules_or_icon_fonts(tmp_path, monkeypatch):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.css").write_text(".fa-bars::before{content:var(--fa)}")
    with pytest.raises(ExtensionError, match="page_fixes fix 7: Font Awesome's class rules"):
        page_fixes.icons_used(tmp_path)
    (tmp_path / "_static" / "theme.css").write_text('.fa-bars:before{content:"\\f0c9"}')
    with pytest.raises(ExtensionError, match=r"page_fixes fix 7: the theme's icon fonts"):
        page_fixes.subset_icon_fonts(tmp_path)      # the site's _static has no webfonts folder


# ---------------------------------------------------------------- local_katex


def test_katex_css_rewrites_fail_on_a_changed_style_sheet():
    css = (local_katex.VENDOR / "dist" / "katex.min.css").read_text()
    assert ".woff)" not in local_katex.woff2_only(css) and local_katex.font_rules(css)
    woff2_alone = re.sub(local_katex.WOFF_FALLBACKS, "", css)
    with pytest.raises(ExtensionError, match="local_katex: a font's woff and ttf fallbacks"):
        local_katex.woff2_only(woff2_alone)
    with pytest.raises(ExtensionError, match="local_katex: a font rule"):
        local_katex.font_rules(css.replace("font-family:KaTeX_", "font-family:Katex"))

