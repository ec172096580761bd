"""The benchmark runner's plumbing (bench/run.py). Nothing here asserts on speed."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import ROOT

RUN = ROOT / "bench" / "run.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path, *args):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout


def test_quick_backward_writes_every_method_and_ratio(tmp_path):
    from lib.batchnorm import METHODS

    results, table = run(tmp_path, "--only", "backward")
    assert results["quick"] is True and results["sections"] == ["backward"]
    rows = results["backward"]["rows"]
    assert {(r["dtype"], r["N"], r["D"]) for r in rows} == {
        (dtype, N, D) for dtype in ("float32", "float64") for N, D in [(8, 16), (32, 64)]}
    for r in rows:
        for name in ("copy", *METHODS):
            assert r["seconds"][name] > 0 and r["cpu_seconds"][name] >= 0
        for name in METHODS:
            assert r["ratio_to_copy"][name] > 0
        assert r["staged_over_simplified"] > 0
        if results["backward"]["torch"]:                  # torch is optional
            assert r["simplified_over_torch"] > 0
            assert r["torch_max_rel_diff"] < 1e-3         # torch computes the same gradient
        else:
            assert r["simplified_over_torch"] is None
    assert any(g["goal"].startswith("staged time / simplified time") for g in results["goals"])
    assert "Backward (median time per call" in table and "Goals" in table


def test_backward_without_torch_skips_the_torch_column(monkeypatch):
    bench = load_runner()
    monkeypatch.setitem(sys.modules, "torch", None)       # import torch now raises ImportError
    result = bench.bench_backward(quick=True)
    assert result["torch"] is None
    for r in result["rows"]:
        assert "torch" not in r["seconds"] and r["simplified_over_torch"] is None
    goals = bench.evaluate_goals({"backward": result})
    assert not any("torch" in g["goal"] for g in goals)


def test_unknown_section_is_refused_with_the_valid_names():
    proc = subprocess.run([sys.executable, str(RUN), "--only", "backwards"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode != 0
    assert "backwards" in proc.stderr and "backward" in proc.stderr.split("choose from")[1]


def test_corners_take_both_ends_of_sliders_and_every_choice():
    bench = load_runner()

    class Control:
        def __init__(self, key, values, numeric):
            self.key, self.values, self.numeric = key, values, numeric

    controls = [Control("N", (1, 2, 4, 8), True), Control("act", ("linear", "relu"), False),
                Control("one", (3,), True)]
    assert list(bench.corners(controls)) == [
        {"N": 1, "act": "linear", "one": 3}, {"N": 1, "act": "relu", "one": 3},
        {"N": 8, "act": "linear", "one": 3}, {"N": 8, "act": "relu", "one": 3}]


def test_toc_pages_are_the_executable_pages_of_the_toc():
    bench = load_runner()
    pages = bench.toc_pages()
    toc = (ROOT / "book" / "_toc.yml").read_text()
    assert pages, "the table of contents lists no executable page"
    for page in pages:
        assert page.suffix == ".md" and page.exists()
        assert f"file: {page.relative_to(ROOT / 'book').with_suffix('').as_posix()}" in toc
        assert "kernelspec:" in page.read_text()


def test_goals_report_misses_and_hits():
    bench = load_runner()
    row = {"dtype": "float32", "N": 1024, "D": 4096,
           "staged_over_simplified": 3.0, "cpu_staged_over_simplified": 3.1,
           "simplified_over_torch": 1.5, "cpu_simplified_over_torch": 1.4,
           "ratio_to_copy": {"simplified": 4.0}, "cpu_ratio_to_copy": {"simplified": 6.0}}
    results = {"backward": {"torch": "x", "rows": [row]},
               "book": {"clean_s": 400.0, "rebuild_s": 10.0, "clean_ok": True, "rebuild_ok": True},
               "chapters": {"rows": [{"page": "a.md", "seconds": 3.0, "error": None},
                                     {"page": "b.md", "seconds": 1.0, "error": "CellExecutionError: x"}]},
               "symbolic": {"total_s": 12.0}}
    met = {g["goal"].split(",")[0].split(" (")[0]: g["met"] for g in bench.evaluate_goals(results)}
    assert met["staged time / simplified time"] is True
    assert met["simplified time / torch time"] is False
    assert met["simplified time / copy time"] is True
    assert met["clean build"] is False and met["rebuild with nothing changed"] is True
    assert met["slowest chapter"] is False            # a page that raises misses the goal
    assert met["all symbolic checks"] is True


@pytest.mark.slow
def test_quick_run_of_every_section_writes_every_key(tmp_path):
    results, table = run(tmp_path)
    for key in ("machine", "backward", "widgets", "book", "chapters", "symbolic", "goals"):
        assert key in results, key
    assert results["book"]["skipped"]                      # --quick does not build the book
    assert results["chapters"]["rows"][0]["error"] is None
    assert results["chapters"]["kernel_start_s"] > 0
    widgets = results["widgets"]
    assert widgets.get("skipped") or all(r["seconds"] > 0 for r in widgets["rows"])
    assert "Chapters (executed like Binder" in table


def test_a_page_with_its_own_limit_is_judged_against_it():
    bench = load_runner()
    rows = [{"page": "chapters/09_training.md", "seconds": 30.0, "error": None},
            {"page": "chapters/02_basics.md", "seconds": 5.0, "error": None}]
    goals = {g["goal"]: g for g in bench.evaluate_goals({"chapters": {"rows": rows}})}
    (slowest,) = [g for name, g in goals.items() if name.startswith("slowest chapter")]
    assert slowest["met"] is True                       # 30 s against chapter 9's 60 s
    rows[1]["seconds"] = 25.0                           # 25 s against the default 20 s
    goals = [g for g in bench.evaluate_goals({"chapters": {"rows": rows}})
             if g["goal"].startswith("slowest chapter")]
    assert goals[0]["met"] is False and "02_basics" in goals[0]["goal"]


@pytest.mark.slow
def test_quick_grading_bench_times_the_sandbox_and_the_batch(tmp_path):
    results, table = run(tmp_path, "--only", "grading")
    gr = results["grading"]
    assert gr["sandboxed_s"] > 0 and gr["direct_s"] > 0 and gr["batch"] == 6
    assert gr["serial_s"] > 0 and gr["parallel_s"] > 0
    assert "Grading: one submission" in table


def test_page_goals_judge_the_slowest_and_heaviest_page():
    bench = load_runner()
    rows = {"intro.html": {"dom_ready_ms": 450.0, "cls": 0.01, "bytes": 190_000, "next_page_bytes": 0},
            "chapters/08_gradient.html": {"dom_ready_ms": 1200.0, "cls": 0.004, "bytes": 300_000,
                                          "next_page_bytes": 160_000}}
    pages = {"rows": rows, "worst_dom_ready_ms": 1200.0, "worst_cls": 0.01,
             "worst_first_visit_bytes": 300_000, "worst_next_page_bytes": 160_000}
    met = {g["goal"]: g["met"] for g in bench.evaluate_goals({"pages": pages})}
    assert met["slowest DOM ready on the slow link"] is False
    assert met["largest layout shift"] is True
    assert met["heaviest first visit (kB)"] is True
    assert met["heaviest page after the intro (kB)"] is False
