"""Every chapter as a notebook that Colab and a plain Jupyter open (book/_ext/notebooks.py).

Fast tests convert MyST snippets as the extension does; slow tests read the notebooks a build
wrote and run each of them in a fresh virtual environment that starts with nothing but a
kernel, so that the notebook's own first cell must install everything else.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import BOOK, ROOT, notebook_pages

sys.path.insert(0, str(BOOK / "_ext"))
import notebooks  # noqa: E402  (the extension under test)

MYST_LEFT = re.compile(r"```\{|:::\{|\{(glue:text|glue:math|cite:p|cite:t|doc|ref|eq|prf:ref)\}`")
GLUE = {"dbeta": {"text/latex": r"$\displaystyle \frac{\partial J}{\partial \beta} = \sum_i g_i$"},
        "dbeta-sizes": {"text/plain": "'N = 2..5'"},
        "rate": {"text/plain": "0.0625"}}


def resolve(kind, target):
    table = {("eq", "eq-dbeta"): ("7", None), ("doc", "02_basics"): ("Backprop basics", "https://s/02.html"),
             ("cite:p", "ioffe2015"): ("(Ioffe and Szegedy, 2015)", None)}
    return table[(kind, target)]


def convert(text, chapter=""):
    return notebooks.Converter(GLUE, resolve, chapter).markdown(text)


def test_a_checked_equation_becomes_its_glued_latex_with_its_number():
    out = convert("```{checked} lib.steps.basics.dbeta_step\n:key: dbeta\n:implements: x\n```\n")
    assert r"\frac{\partial J}{\partial \beta} = \sum_i g_i \tag{7}" in out
    assert "checked by sympy for N = 2..5" in out and "{checked}" not in out


def test_glued_numbers_roles_and_exercises_become_plain_markdown():
    out = convert("Rate {glue:text}`rate:.2f`, see {doc}`02_basics` and eq. {eq}`eq-dbeta` "
                  "{cite:p}`ioffe2015`.\n\n```{exercise}\n:label: ex-a\n\nDo it.\n```\n\n"
                  "```{solution} ex-a\n:class: dropdown\n\nDone.\n```\n")
    assert "Rate 0.06, see [Backprop basics](https://s/02.html) and eq. (7) (Ioffe and Szegedy, 2015)." in out
    assert "**Exercise 1.** Do it." in out
    numbered = convert("```{exercise}\n:label: ex-a\n\nDo it.\n```\n", chapter="8.")
    assert "**Exercise 8.1.** Do it." in numbered, "numbered as the site numbers it"
    assert "<details><summary>Solution</summary>\n\nDone.\n\n</details>" in out
    assert not MYST_LEFT.search(out), out


def test_a_number_glued_on_another_page_is_read_from_that_page():
    other = {"10_training.md": {"depth": {"text/plain": "20"}}}
    converter = notebooks.Converter(GLUE, resolve, "", lambda page: other.get(page, {}))
    out = converter.markdown("Networks of {glue:text}`10_training.md::depth:d` blocks, rate {glue:text}`rate:.2f`.")
    assert out == "Networks of 20 blocks, rate 0.06."


def test_a_missing_glued_equation_is_an_error_not_a_blank():
    with pytest.raises(KeyError, match="no glued equation 'nope'"):
        convert("```{checked} lib.x\n:key: nope\n```\n")


def test_the_colab_branch_is_the_one_the_workflow_publishes():
    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    published = [s["with"] for s in steps if "actions-gh-pages" in s.get("uses", "")]
    assert published and published[0]["publish_branch"] == notebooks.BRANCH
    assert published[0]["publish_dir"] == "book/_build/notebooks"


def _generated(built_book):
    folder = built_book.source / "_build" / "notebooks"
    return {page: folder / f"{page}.ipynb" for page in notebook_pages()}


@pytest.mark.slow
def test_every_chapter_has_a_colab_notebook_and_a_download(built_book):
    assert built_book.returncode == 0, built_book.log[-3000:]
    for page, path in _generated(built_book).items():
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert "find_spec(\"lib\")" in nb.cells[1].source, f"{page}: first code cell is not the install cell"
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not MYST_LEFT.search(markdown), f"{page}: MyST markup left: {MYST_LEFT.search(markdown)[0]}"
        download = built_book.html / "_sources" / f"{page}.ipynb"
        assert nbformat.read(download, as_version=4).cells[1].source == nb.cells[1].source
        html = (built_book.html / f"{page}.html").read_text()
        assert f"/blob/{notebooks.BRANCH}/{page}.ipynb" in html, f"{page}: no Colab link to its notebook"
        # equations and exercises carry the numbers the page prints: (8.4), Exercise 8.1
        shown = re.findall(r'<span class="eqno">\(([\d.]+)\)', html)
        tags = re.findall(r"\\tag\{([^}]*)\}", markdown)
        assert set(tags) <= set(shown), f"{page}: notebook numbers {sorted(set(tags) - set(shown))[:3]} not on the page"
        if page.startswith("chapters/"):
            chapter = str(int(page.split("/")[1][:2]))
            assert len(tags) == len(shown), f"{page}: {len(shown)} numbered equations, {len(tags)} tagged"
            assert all(t.startswith(chapter + ".") for t in tags), (page, tags[:3])
            exercises = re.findall(r"\*\*Exercise ([\d.]+)\.\*\*", markdown)
            assert all(e.startswith(chapter + ".") for e in exercises) and exercises, (page, exercises[:3])


@pytest.fixture(scope="module")
def fresh_kernel(tmp_path_factory):
    """A new venv holding only ipykernel (to be a kernel at all), and a copy of lib to install."""
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ipykernel"], check=True)
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(root / "venv"),
                    "--name", "bnfresh"], check=True, capture_output=True)
    checkout = root / "checkout"
    shutil.copytree(ROOT / "lib", checkout / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", checkout)
    return root, python, f"file://{checkout}"


@pytest.mark.slow
@pytest.mark.fresh_env
@pytest.mark.timeout(1500)
def test_each_notebook_runs_in_a_fresh_environment_after_its_install_cell(built_book, fresh_kernel,
                                                                          monkeypatch, tmp_path):
    root, python, source = fresh_kernel
    monkeypatch.setenv("JUPYTER_PATH", str(root / "venv" / "share" / "jupyter"))
    monkeypatch.setenv(notebooks.SOURCE_ENV, source)
    check = [str(python), "-c", "import importlib.util as u; print(u.find_spec('lib') is None)"]
    assert subprocess.run(check, capture_output=True, text=True, cwd=tmp_path).stdout.strip() == "True"
    timings = {}
    for page, path in _generated(built_book).items():
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = NotebookClient(nb, timeout=600, kernel_name="bnfresh",
                                resources={"metadata": {"path": str(tmp_path)}})
        try:
            client.execute()
        except CellExecutionError as exc:
            pytest.fail(f"{page}.ipynb fails in a fresh environment:\n{str(exc)[-3000:]}")
        timings[page] = round(time.perf_counter() - start, 1)
        widgets = [o for c in nb.cells for o in c.get("outputs", [])
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        if "08_gradient" in page:
            assert widgets, "chapter 8's widgets did not display in the fresh environment"
        assert not [o for o in widgets if "text/html" in o["data"]], f"{page} drew a static widget"
    print("seconds per notebook in a fresh environment:", timings)
    assert subprocess.run(check, capture_output=True, text=True, cwd=tmp_path).stdout.strip() == "False"


def test_nbgitpuller_paths_come_from_the_repository_address():
    path = notebooks.puller_path("https://github.com/org/repo", "assignments/a/a.ipynb")
    assert path == ("/hub/user-redirect/git-pull?repo=https%3A//github.com/org/repo"
                    "&branch=notebooks&urlpath=lab/tree/repo/assignments/a/a.ipynb")


@pytest.mark.slow
def test_the_instructors_page_has_a_puller_link_for_each_assignment_and_the_chapters(built_book):
    page = (built_book.html / "instructors.html").read_text()
    repo = yaml.safe_load((BOOK / "_config.yml").read_text())["repository"]["url"]
    targets = ["chapters"] + [f"assignments/{m.stem}/{m.stem}.ipynb"
                              for m in sorted((ROOT / "assignments" / "masters").glob("*.py"))]
    for target in targets:
        path = notebooks.puller_path(repo, target).replace("&", "&amp;")
        assert f'data-path="{path}"' in page, f"no nbgitpuller link for {target}"
    assert 'id="bn-hub"' in page and '<label for="bn-hub">' in page


def test_a_directive_inside_a_list_item_keeps_its_indent():
    out = convert("1. Sums to zero:\n\n   ```{checked} lib.x\n   :key: dbeta\n   ```\n2. Next.\n")
    assert "\n   $$\n   \\frac{\\partial J}" in out and "```" not in out
