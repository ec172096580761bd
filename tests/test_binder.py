"""Binder: every chapter has launch buttons, and a launch link opens the chapter as a notebook.

The slow test (``make test-all``: it needs an environment of its own) does what mybinder.org
does with this repository, on this machine: a fresh virtual environment,
`pip install -r binder/requirements.txt` (the lock), `binder/postBuild` from the repository
root, then JupyterLab; headless chromium opens the `urlpath` of each chapter's Binder link (read from
the built page) and must see a notebook with the chapter's cells, not a text editor.
"""
from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jupytext
import pytest
import yaml

from conftest import BOOK, CHROMIUM_ARGS, ROOT, chromium_path, notebook_pages


BINDER = ROOT / "binder"


def binder_link(page_html: str) -> str | None:
    match = re.search(r'href="(https://mybinder\.org/v2/[^"]+)"', page_html)
    return html.unescape(match.group(1)) if match else None


# ---------------------------------------------------------------- the files Binder reads (fast)


def test_binder_gets_python_311_the_locked_tree_and_runs_postbuild():
    # repo2docker reads binder/ alone when it exists: every file it needs must be there
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    requirements = [line for line in (BINDER / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements == ["-r ../requirements.lock"], "Binder installs the lock, as make does"
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "Binder runs postBuild only if it is executable"
    script = post_build.read_text()
    assert "pip install --no-deps --no-build-isolation -e ." in script   # lib importable from any folder
    assert "jupytext-config set-default-viewer" in script               # .md opens as a notebook


# ---------------------------------------------------------------- launch buttons on the built pages


@pytest.mark.slow
def test_every_chapter_has_binder_and_live_code_buttons(built_book):
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    repo = urlparse(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "main")
    pages = notebook_pages(built_book.source)  # the toc the build used (chapters land meanwhile)
    assert pages
    for page in pages:
        text = (built_book.html / f"{page}.html").read_text(encoding="utf-8")
        link = binder_link(text)
        assert link, f"{page} has no Binder launch button"
        assert link.startswith(f"https://mybinder.org/v2/gh/{repo}/{branch}?"), link
        assert parse_qs(urlparse(link).query)["urlpath"] == [f"lab/tree/book/{page}.md"], link
        assert "btn-launch-thebe" in text, f"{page} has no Live Code (Thebe) button"


# ---------------------------------------------------------------- as Binder would do it (slow)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A copy of the repository set up the way repo2docker sets it up (fresh venv, postBuild)."""
    base = tmp_path_factory.mktemp("binder")
    repo, home, venv = base / "repo", base / "home", base / "venv"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".venv", ".git", "_build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        "test-artifacts", ".jupyter_cache", ".ipynb_checkpoints"))
    home.mkdir()
    # A fresh home, as on Binder; the package caches stay this machine's, to save downloads.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PYTHONPATH", "IPYTHONDIR"))}
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env.update(HOME=str(home), VIRTUAL_ENV=str(venv),
               PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    python = shutil.which("python3.11") or sys.executable
    _run([python, "-m", "venv", str(venv)], env=env)
    # The same file Binder installs. uv (in the lock) installs the same pins from its cache in
    # seconds; pip, the fallback, downloads everything again here (about 3 minutes).
    uv = Path(sys.executable).parent / "uv"
    install = ([str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
               if uv.exists() else [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"])
    _run([*install, "-r", "binder/requirements.txt"], cwd=repo, env=env, timeout=900)
    _run([str(repo / "binder" / "postBuild")], cwd=repo, env=env, timeout=300)
    return repo, venv, env


@pytest.mark.slow
@pytest.mark.fresh_env
@pytest.mark.timeout(900)
def test_lib_importable_in_binder_env(binder_env):
    repo, venv, env = binder_env
    # From another folder than the repository: the editable install, not the working directory.
    proc = _run([str(venv / "bin" / "python"), "-c",
                 "import lib.batchnorm, lib.gradcheck; print(lib.batchnorm.__file__)"],
                cwd=env["HOME"], env=env)
    assert Path(proc.stdout.strip()).resolve().is_relative_to(repo.resolve())


@pytest.fixture(scope="module")
def jupyterlab(binder_env):
    """JupyterLab from the Binder environment on 127.0.0.1, a random port and a random token."""
    repo, venv, env = binder_env
    port, token = _free_port(), secrets.token_hex(16)
    log = open(Path(env["HOME"]) / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
         "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True", *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "JupyterLab exited:\n" + Path(log.name).read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start:\n" + Path(log.name).read_text()[-3000:]
            time.sleep(0.5)
        yield base, token, repo
    finally:
        # Stop the server we started and, with it, the kernels it started (same process group).
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=30)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.mark.slow
@pytest.mark.fresh_env
@pytest.mark.timeout(900)
def test_launch_link_opens_each_chapter_as_a_notebook(built_book, jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token, repo = jupyterlab
    repo_book = repo / "book"
    chromium = chromium_path()
    pages = notebook_pages(built_book.source)
    assert pages
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for page_name in pages:
                link = binder_link((built_book.html / f"{page_name}.html").read_text(encoding="utf-8"))
                assert link, f"{page_name} has no Binder link"
                urlpath = parse_qs(urlparse(link).query)["urlpath"][0]
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                # ?reset: a fresh workspace, so that tabs restored from the previous chapter do not count.
                page.goto(f"{base}{urlpath}?reset&token={token}", wait_until="domcontentloaded")
                page.locator(".jp-NotebookPanel:visible .jp-Notebook, .jp-FileEditor:visible"
                             ).first.wait_for(timeout=90_000)
                # What the reader sees in the main area: JupyterLab's own view of the current document.
                # (Cells are counted in the notebook model: JupyterLab 4 renders off-screen cells lazily.)
                shown = page.wait_for_function("""path => {
                    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                    if (!w || !w.context || w.context.path !== path || !w.content.model) return null;
                    if (!w.context.isReady) return null;  // the file's content is not loaded yet
                    if (!w.content.model.cells) return {notebook: false, editor: true, cells: []};
                    const cells = [...Array(w.content.model.cells.length).keys()]
                        .map(i => w.content.model.cells.get(i).type);
                    return {notebook: w.hasClass('jp-NotebookPanel'), editor: w.hasClass('jp-FileEditor') ||
                            !!w.node.querySelector('.jp-FileEditor'), factory: w.context.factoryName || '', cells};
                }""", arg=urlpath.removeprefix("lab/tree/"), timeout=60_000).json_value()
                expected = [c.cell_type for c in jupytext.read(repo_book / f"{page_name}.md").cells]
                assert shown["notebook"] and not shown["editor"], f"{page_name} opened as {shown}"
                assert shown["cells"] == expected, f"{page_name}: JupyterLab shows cells {shown['cells']}"
                assert shown["cells"].count("code") >= 1
                context.close()
        finally:
            browser.close()
