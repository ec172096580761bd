"""The build's page extensions, one behaviour each (book/_ext: local_katex, local_thebe, page_fixes,
static_widgets).

Fast tests on small inputs; the built site is checked in test_browser.
The KaTeX tests run a real (tiny) Sphinx build, so a formula KaTeX cannot typeset is shown to
fail the build, naming the page.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sphinx.errors import ExtensionError

from conftest import ROOT

EXT = ROOT / "book" / "_ext"
sys.path.insert(0, str(EXT))

import local_katex  # noqa: E402
import page_fixes  # noqa: E402
import static_widgets  # noqa: E402

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="KaTeX renders under Node (make installs it)")


KATEX_CONF = "extensions = ['local_katex']\nhtml_math_renderer = 'katex_checked'\n"


def _sphinx(tmp_path: Path, page: str, conf: str = KATEX_CONF) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\n" + conf)
    (src / "index.rst").write_text(page)
    # Output goes to files, not pipes, and the build runs in its own process group: a KaTeX
    # server (Node) that outlived Sphinx would hold a pipe open, and the test would wait on it.
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src),
                                 str(tmp_path / "out")], stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            proc.wait(timeout=300)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)     # anything the build left running
            except ProcessLookupError:
                pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(), err.read_text())


@needs_node
def test_a_formula_is_typeset_at_build_time_with_its_mathml(tmp_path):
    done = _sphinx(tmp_path, "Title\n=====\n\nInline :math:`\\hat x_i = x_i - \\mu`.\n\n"
                             ".. math:: \\frac{\\partial J}{\\partial x} = P g\n")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert html.count('class="katex"') == 2 and html.count("<math") == 2
    assert "katex.min.js" not in html and "mathjax" not in html.lower()
    css = tmp_path / "out" / "_static" / "katex" / "katex.min.css"
    assert css.is_file() and ".woff)" not in css.read_text(), "only the woff2 fonts are named"
    fonts = list((tmp_path / "out" / "_static" / "katex" / "fonts").glob("*.woff2"))
    assert fonts and all(f.stat().st_size < 20_000 for f in fonts), "fonts cut to what the formulas draw"
    assert 'rel="preload"' in html and "KaTeX_Math-Italic.woff2" in html


@needs_node
@pytest.mark.parametrize("bad", ["\\frac{a}{", "\\notamacro x", "x^"])
def test_a_formula_katex_cannot_typeset_fails_the_build_and_names_it(tmp_path, bad):
    done = _sphinx(tmp_path, f"Title\n=====\n\nA formula: :math:`{bad}`.\n")
    assert done.returncode != 0
    assert "KaTeX cannot typeset" in done.stderr and "index.rst" in done.stderr, done.stderr


SLOW_SERVER = ("import os, pathlib, socket, sys, time\n"
               "pathlib.Path(sys.argv[1] + '.pid').write_text(str(os.getpid()))\n"
               "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); time.sleep(float(sys.argv[2]))\n"
               "s.listen(); c, _ = s.accept(); c.recv(1)\n")


class _Server:
    """Stands in for KaTeXServer: a process that creates its socket file before it listens."""

    def __init__(self, delay):
        self.delay = delay

    def build_command(self, socket):
        return [sys.executable, "-c", SLOW_SERVER, str(socket), str(self.delay)]

    @staticmethod
    def timeout_error(timeout):
        return RuntimeError(f"no server after {timeout} s")


def test_the_katex_server_is_reached_even_when_it_listens_late(tmp_path):
    process, sock = local_katex.start_server_process(_Server(0.3), tmp_path, timeout=20)
    sock.close()
    assert process.wait(timeout=10) == 0


def test_a_katex_server_that_never_answers_is_stopped(tmp_path):
    with pytest.raises(RuntimeError, match="no server"):
        local_katex.start_server_process(_Server(60), tmp_path, timeout=1)
    pid = int((tmp_path / "katex.sock.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)                         # gone, not left running


def test_the_katex_the_site_serves_is_the_one_that_renders():
    assert local_katex.vendored_version() == local_katex.katex.katex_version


def test_fonts_used_follow_the_classes_of_the_formulas():
    rules = local_katex.font_rules((local_katex.VENDOR / "dist" / "katex.min.css").read_text())
    plain = '<span class="katex"><span class="mord mathnormal">x</span></span>'
    assert local_katex.fonts_used(plain, rules) == ["KaTeX_Main-Regular.woff2", "KaTeX_Math-Italic.woff2"]
    fancy = plain + '<span class="mord mathbb">R</span><span class="delimsizing size2">(</span>'
    assert {"KaTeX_AMS-Regular.woff2", "KaTeX_Size2-Regular.woff2"} <= set(local_katex.fonts_used(fancy, rules))
    assert local_katex.fonts_used("<p>no math</p>", rules) == []


def test_only_the_characters_formulas_draw_are_kept(tmp_path):
    (tmp_path / "a.html").write_text('<p>prose ∫</p><span class="katex"><span class="katex-mathml">TeX ∑</span>'
                                     '<span class="katex-html" aria-hidden="true"><span>x</span>'
                                     '<span>∂</span></span></span>')
    assert local_katex.characters_shown(tmp_path) == {ord("x"), ord("∂")}


# ---------------------------------------------------------------- local_thebe


def test_sphinx_thebes_script_is_written_once_and_points_at_the_sites_thebe(tmp_path):
    """Sphinx 7 and sphinx-thebe as pinned: without local_thebe the script is there twice, from unpkg."""
    done = _sphinx(tmp_path, "Title\n=====\n\nText.\n", "extensions = ['sphinx_thebe', 'local_thebe']\n"
                   "thebe_config = {'repository_url': 'https://github.com/a/b'}\n")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert html.count("const THEBE_JS_URL") == 1 and "unpkg.com" not in html
    assert '<script type="text/x-thebe-config">{"mathjaxUrl": false}</script>' in html
    assert (tmp_path / "out" / "_static" / "thebe" / "index.js").is_file()


# ---------------------------------------------------------------- page_fixes


def test_icon_fonts_keep_the_icons_pages_and_style_sheets_use(tmp_path):
    static = tmp_path / "_static"
    static.mkdir()
    (static / "theme.css").write_text('.fa-bell:before{content:"\\f0f3"}.fa-search:before,'
                                      '.fa-magnifying-glass:before{content:"\\f002"}.fa-rocket:before{content:"\\f135"}'
                                      '.admonition-title:after{content:"\\f06a"}:root{--pst-icon-bell:"\uf0f3"}')
    (tmp_path / "page.html").write_text('<i class="fa-solid fa-magnifying-glass"></i>')
    assert page_fixes.icons_used(tmp_path) == {0xF002, 0xF06A, 0xF0F3}


def test_the_search_scripts_leave_every_page_but_the_search_page():
    head = ('<script src="_static/searchtools.js"></script>\n<script src="_static/language_data.js"></script>\n'
            '<script src="searchindex.js"></script><script src="_static/keep.js"></script>')
    assert page_fixes.SEARCH_SCRIPTS.sub("", head) == '<script src="_static/keep.js"></script>'


def test_figures_load_lazily_with_the_size_their_svg_declares(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.svg").write_text('<?xml version="1.0"?>\n<svg width="300pt" height="150pt" '
                                                'viewBox="0 0 300 150"></svg>')
    page = tmp_path / "p.html"
    html = page_fixes.lazy_figures('<img alt="a figure" src="_images/f.svg" /><img src="_static/logo.svg">', page)
    assert html == '<img loading="lazy" alt="a figure" src="_images/f.svg" width="400" height="200"><img src="_static/logo.svg">'


def test_a_figure_of_panels_side_by_side_is_stacked_on_a_phone(tmp_path):
    from build_kernel import panels

    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.svg").write_text(
        f'<svg xmlns:xlink="http://www.w3.org/1999/xlink" {panels.ATTRIBUTE}="0,0,300,150;300,0,300,150" '
        'width="600pt" height="150pt" viewBox="0 0 600 150" xmlns="http://www.w3.org/2000/svg"><g/></svg>')
    (tmp_path / "_images" / "g.svg").write_text('<svg width="900pt" height="150pt" viewBox="0 0 900 150"></svg>')
    html = page_fixes.lazy_figures('<img alt="two panels" src="_images/f.svg" /><img alt="wide" src="_images/g.svg" />',
                                   tmp_path / "p.html")
    assert html == ('<picture><source media="(max-width: 40rem)" srcset="_images/f-stacked.svg" '
                    f'width="400" height="{round((300 + panels.GAP) * 4 / 3)}">'
                    '<img loading="lazy" alt="two panels" src="_images/f.svg" width="800" height="200"></picture>'
                    '<span class="bn-wide-figure"><img loading="lazy" alt="wide" src="_images/g.svg" '
                    'width="1200" height="200"></span>')
    assert panels.stacked_svg((tmp_path / "_images" / "f.svg").read_text())[0] == \
        (tmp_path / "_images" / "f-stacked.svg").read_text()


# ---------------------------------------------------------------- static_widgets


def _png(colour) -> str:
    out = io.BytesIO()
    Image.new("RGB", (4, 2), colour).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_frames_become_files_and_hidden_ones_wait_in_data_src(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / static_widgets.FRAMES).mkdir(parents=True)
    a, b, c = _png("red"), _png("blue"), _png("green")
    page = tmp_path / "chapters" / "p.html"
    page.write_text('<div class="bn-static-widget">'
                    f'<img class="bn-frame" data-key="0" alt="x" src="data:image/png;base64,{a}">'
                    f'<picture><source media="m" srcset="data:image/png;base64,{c}">'
                    f'<img class="bn-frame" data-key="1" alt="y" hidden src="data:image/png;base64,{b}"></picture></div>')
    assert static_widgets.extract_frames(page, tmp_path)
    html = page.read_text()
    assert "data:image" not in html
    shown = html.split('data-key="1"')[0]
    assert ' src="../_images/frames/' in shown, "the shown frame keeps src"
    assert shown.count('loading="lazy"') == 1, "and loads when the reader nears the widget"
    hidden = html.split('<picture>')[1]
    assert 'data-srcset="../_images/frames/' in hidden and 'data-src="../_images/frames/' in hidden
    assert " src=" not in hidden and " srcset=" not in hidden, "a hidden frame is not fetched with the page"
    assert len(list((tmp_path / static_widgets.FRAMES).glob("*.png"))) == 3


@pytest.mark.parametrize("changed", [
    '<div class="bn-static-widget"><img class="bn-still" src="data:image/png;base64,{a}"></div>',
    '<div class="bn-static-widget"><img class="bn-frame" src="data:image/png;base64,{a}">'
    '<img data-frame src="data:image/png;base64,{a}"></div>',
])
def test_frames_the_rewrite_no_longer_recognises_fail_the_build(tmp_path, changed):
    (tmp_path / "chapters").mkdir()
    (tmp_path / static_widgets.FRAMES).mkdir(parents=True)
    page = tmp_path / "chapters" / "p.html"
    page.write_text(changed.format(a=_png("red")))
    with pytest.raises(ExtensionError, match="static_widgets"):
        static_widgets.extract_frames(page, tmp_path)
