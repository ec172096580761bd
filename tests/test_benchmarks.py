"""Chapter 6's benchmark table comes from the committed results file (issue 24, item 16).

The table and the numbers around it are rendered from ``bench/results/backward.json`` by
``lib.benchmarks``; no timing is typed in the chapter's prose; the file says where, when and
on what it ran; and a chapter that renders the file is executed again when it changes.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT

from lib import benchmarks

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lib_digest  # noqa: E402

CHAPTER = ROOT / "book" / "chapters" / "06_simplification.md"


def prose(path):
    """The Markdown of a chapter without its code cells."""
    return re.sub(r"```\{code-cell\}.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_committed_file_is_a_real_run_with_its_machine_and_versions():
    results = benchmarks.load()
    m = results["machine"]
    for key in ("date", "commit", "cpus", "cpu_model", "python", "numpy", "platform"):
        assert m.get(key), key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", m["date"])
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", m["commit"])
    assert "backward" in results["sections"] and not results["quick"]


def test_the_table_is_the_files_figures():
    results = benchmarks.load()
    table = benchmarks.backward_table(results)
    rows = benchmarks.rows(results)
    for r in rows:
        for method in benchmarks.METHODS:
            value = r["ratio_to_copy"][method]
            shown = f"{value:.2g} × copy" if value < 10 else f"{value:.0f} × copy"
            assert shown in table, (method, r["N"], r["D"])
    # a different file gives a different table: nothing in it is fixed text
    other = copy.deepcopy(results)
    for r in other["backward"]["rows"]:
        r["ratio_to_copy"] = {k: v * 3.7 for k, v in r["ratio_to_copy"].items()}
    assert benchmarks.backward_table(other) != table


def test_a_framework_that_was_not_measured_has_no_row():
    results = benchmarks.load()
    without = copy.deepcopy(results)
    without["backward"]["torch"] = None
    for r in without["backward"]["rows"]:
        r["ratio_to_copy"].pop("torch", None)
    assert "PyTorch" not in benchmarks.backward_table(without)
    assert "not measured" in benchmarks.torch_sentence(without)
    assert "not installed" in benchmarks.machine_line(without)
    measured = copy.deepcopy(without)
    measured["backward"]["torch"] = "9.9.9"
    for r in measured["backward"]["rows"]:
        r["ratio_to_copy"]["torch"] = 7.0
    assert "| PyTorch, one thread | 7 × copy |" in benchmarks.backward_table(measured)
    assert "9.9.9" in benchmarks.torch_sentence(measured)


def test_a_quick_run_is_refused(tmp_path):
    results = benchmarks.load()
    results["quick"] = True
    path = tmp_path / "quick.json"
    path.write_text(json.dumps(results))
    with pytest.raises(ValueError, match="quick"):
        benchmarks.load(path)


def test_chapter_6_types_no_timing():
    text = prose(CHAPTER)
    assert not re.search(r"\d\s*(×|x) copy", text), "a ratio to copy typed in chapter 6"
    assert not re.search(r"\d\s*(µs|ms)\b", text), "a time typed in chapter 6"
    assert not re.search(r"PyTorch \d", text), "a PyTorch version typed in chapter 6"
    assert not re.search(r"numpy \d", text), "a numpy version typed in chapter 6"
    assert "{glue:md}`bench-table`" in text.replace("```{glue:md} bench-table", "{glue:md}`bench-table`")


def test_chapter_6_is_executed_again_when_the_results_file_changes(tmp_path):
    """The build's digest of chapter 6 covers the results file (lib_digest.DATA_FILES)."""
    shutil.copytree(ROOT / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    results = tmp_path / "bench" / "results" / "backward.json"
    results.parent.mkdir(parents=True)
    shutil.copy(benchmarks.RESULTS, results)
    chapter = tmp_path / "06.md"
    shutil.copy(CHAPTER, chapter)
    before = lib_digest.digest(chapter, tmp_path / "lib")
    data = json.loads(results.read_text())
    data["backward"]["rows"][0]["ratio_to_copy"]["staged"] *= 2
    results.write_text(json.dumps(data))
    assert lib_digest.digest(chapter, tmp_path / "lib") != before


def test_a_clean_build_and_a_readers_first_run_start_with_empty_caches(tmp_path, monkeypatch):
    """make bench after make test: the store and the widget cache that make test filled are not
    read by the "clean" build or by a reader's first run of a chapter (they would train nothing)."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))    # bench/run.py, the path restored after
    import run as bench

    warm = {"BNBOOK_RESULTS_CACHE": "/tmp/warm-results", "BNBOOK_WIDGET_CACHE": "/tmp/warm-widgets",
            "IPYTHONDIR": "/tmp/site-build-profile"}
    monkeypatch.setattr(bench, "CHILD_ENV", {**bench.CHILD_ENV, **warm})
    for env in (bench.cold_caches(tmp_path), bench.reader_env(tmp_path)):
        for key in ("BNBOOK_RESULTS_CACHE", "BNBOOK_WIDGET_CACHE"):
            folder = env[key]
            assert folder != warm[key] and folder.startswith(str(tmp_path)), (key, folder)
            assert not Path(folder).exists() or not any(Path(folder).iterdir()), f"{folder} is not empty"
    assert "IPYTHONDIR" not in bench.reader_env(tmp_path), "a reader's kernel is not the site build's"
    assert bench.cold_caches(tmp_path)["IPYTHONDIR"] == warm["IPYTHONDIR"]
