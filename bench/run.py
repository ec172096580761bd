"""Benchmarks of the book: ``make bench`` runs ``python bench/run.py``.

Sections (``--only`` picks some, comma-separated):

backward   lib.batchnorm.backward, every method, as a ratio to a plain copy of
           an array of the same size (the memory-bandwidth floor) and, when
           torch is installed, to torch's native CPU kernel on one thread.
widgets    the update time of each widget of lib.widgets at the extremes of
           its controls.
book       a clean strict build of the book in a temporary copy, with an empty
           result store and widget cache, then a rebuild of the same copy with
           nothing changed (jupyter-cache hit).
chapters   each chapter of _toc.yml executed as a Binder reader first runs it
           (jupytext -> nbclient, from the chapter's own folder, empty result store).
symbolic   the exact checks of lib.symbolic, per page and in total (read from
           the chapter runs, so it runs the chapters too).
static     every widget of the built site in Chromium: the time a frame switch takes, the
           bytes each widget adds to its page (bench/static_widgets.py).
pages      every page of the built site on a phone and a 10 Mbps / 40 ms link: bytes,
           requests, first paint, DOM ready, layout shift (bench/pages.py).
grading    a submission graded in the bubblewrap sandbox against the runner started
           directly (the overhead), and 50 submissions serially against -j 2
           (bench/grading.py).

Machines are noisy (this one is shared), so every timing is the median of
repeated runs, contestants are interleaved round by round, and every
comparison is the median of per-round ratios taken in the same run.
The figures go to bench/results.json; a table is printed.
"""
from __future__ import annotations

import os

# The backward benchmarks compare single-threaded kernels (torch runs on one
# thread), so numpy's BLAS gets one thread too. Set before numpy is imported;
# pages and builds started from here get the caller's environment back.
CHILD_ENV = dict(os.environ)
if __name__ == "__main__":              # not when a test imports this file
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402
from statistics import median  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIN = Path(sys.executable).parent
SECTIONS = ("backward", "widgets", "book", "chapters", "symbolic", "static", "pages", "grading")

SHAPES = ((64, 256), (256, 1024), (1024, 4096))
QUICK_SHAPES = ((8, 16), (32, 64))
DTYPES = ("float32", "float64")

# The promises the book makes about speed (issue 7).
GOALS = {
    "simplified_vs_staged": 2.0,       # simplified at least 2x faster than staged
    "simplified_vs_torch": 1.0,        # at least as fast as torch's CPU kernel, 1 thread
    "simplified_vs_copy_large": 5.0,   # within 5x of a copy at (1024, 4096)
    "widget_update_s": 0.100,
    "clean_build_s": 300.0,
    "rebuild_s": 30.0,
    "chapter_s": 20.0,
    # pages that train networks or re-run every check of the book have their own limit
    # (issue 14: the training chapter in at most 60 s; the verification page runs the book's checks twice)
    "chapter_s_pages": {"chapters/10_training.md": 60.0, "verification.md": 60.0},
    "symbolic_total_s": 60.0,
    "static_switch_ms": 16.0,          # a static frame switch within one display frame
    # issue 16: every page on a 10 Mbps / 40 ms link, at 390 px
    "page_dom_ready_ms": 1000.0,
    "page_cls": 0.05,
    "first_visit_bytes": 700_000,      # compressed, a visit's first page
    "next_page_bytes": 150_000,        # compressed, a page after the intro, widget frames aside
    "grading_overhead": 3.0,           # the sandbox at most triples the time of a submission
    "grading_speedup_j2": 1.5,         # -j 2 grades a batch at least 1.5x faster on two cores
}


# --------------------------------------------------------------------------
# timing helpers
# --------------------------------------------------------------------------

def calls_per_sample(fn, target=0.01):
    """How many calls of ``fn`` make one sample of about ``target`` seconds."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target / once))


def sample(fn, number):
    """Seconds per call of ``fn`` over ``number`` calls: (wall clock, CPU time
    of this thread). The CPU time leaves out the moments the thread waited
    for a core, which on a shared machine is most of the noise."""
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(number):
            fn()
        return ((time.perf_counter() - wall) / number, (time.thread_time() - cpu) / number)
    finally:
        gc.enable()


def interleaved(contestants, rounds, target=0.01, seed=0):
    """Time every contestant ``rounds`` times, in a shuffled order each round.

    ``contestants`` maps a name to ``(fn, rounds_or_None)``: a contestant
    with its own smaller number of rounds takes part in only that many.
    Returns two dicts ``{name: [seconds per call, one per round or None]}``:
    wall clock and thread CPU time.
    """
    rng = random.Random(seed)
    numbers = {name: calls_per_sample(fn, target) for name, (fn, _) in contestants.items()}
    wall = {name: [None] * rounds for name in contestants}
    cpu = {name: [None] * rounds for name in contestants}
    for r in range(rounds):
        names = [n for n, (_, own) in contestants.items() if own is None or r < own]
        rng.shuffle(names)
        for name in names:
            wall[name][r], cpu[name][r] = sample(contestants[name][0], numbers[name])
    return wall, cpu


def ratio(samples, a, b):
    """Median over the rounds where both ran of time(a) / time(b)."""
    pairs = [x / y for x, y in zip(samples[a], samples[b]) if x is not None and y is not None]
    return median(pairs) if pairs else None


def med(values):
    values = [v for v in values if v is not None]
    return median(values) if values else None


# --------------------------------------------------------------------------
# 1. backward methods
# --------------------------------------------------------------------------

def torch_backward(x, dy, cache):
    """``(run, version)``: a closure calling torch's native CPU batch-norm
    backward on one thread, and torch's version; ``(None, None)`` without torch."""
    try:
        import torch
    except ImportError:
        return None, None
    torch.set_num_threads(1)
    tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
    tgamma = torch.from_numpy(np.ascontiguousarray(cache.gamma))
    tmu = torch.from_numpy(np.ascontiguousarray(cache.mu))
    tinv = torch.from_numpy(np.ascontiguousarray(cache.inv_std))
    op = torch.ops.aten.native_batch_norm_backward

    def run():
        return op(tdy, tx, tgamma, None, None, tmu, tinv, True, cache.eps, [True, True, True])
    return run, torch.__version__


def bench_backward(quick):
    from lib import batchnorm as bn
    rng = np.random.default_rng(0)
    rows, torch_version = [], None
    for dtype in DTYPES:
        for N, D in (QUICK_SHAPES if quick else SHAPES):
            x = rng.standard_normal((N, D)).astype(dtype)
            dy = rng.standard_normal((N, D)).astype(dtype)
            gamma = rng.uniform(0.5, 2.0, D).astype(dtype)
            beta = rng.standard_normal(D).astype(dtype)
            _, cache = bn.forward(x, gamma, beta)
            big = N * D >= 1024 * 4096
            rounds = 3 if quick else (9 if big else 15)
            target = 0.002 if quick else 0.02
            contestants = {"copy": (dy.copy, None)}
            for m in bn.METHODS:
                slow = m == "columnwise" and big      # an N x N matrix product: seconds a call
                contestants[m] = ((lambda m=m: bn.backward(dy, cache, m)), 3 if slow else None)
            # the formula alone, without backward()'s input checks
            contestants["simplified_core"] = ((lambda: bn._backward_simplified(dy, cache)), None)
            run_torch, version = torch_backward(x, dy, cache)
            torch_err = None
            if run_torch is not None:
                torch_version = version
                contestants["torch"] = (run_torch, None)
                dx_t = run_torch()[0].numpy()
                dx_s = bn.backward(dy, cache)[0]
                torch_err = float(np.abs(dx_t - dx_s).max() / np.abs(dx_s).max())
            samples, cpu = interleaved(contestants, rounds, target)
            row = {"dtype": dtype, "N": N, "D": D, "rounds": rounds,
                   "seconds": {k: med(v) for k, v in samples.items()},
                   "ratio_to_copy": {k: ratio(samples, k, "copy") for k in samples if k != "copy"},
                   "staged_over_simplified": ratio(samples, "staged", "simplified"),
                   "simplified_over_torch": (ratio(samples, "simplified", "torch")
                                             if "torch" in samples else None),
                   "cpu_seconds": {k: med(v) for k, v in cpu.items()},
                   "cpu_ratio_to_copy": {k: ratio(cpu, k, "copy") for k in cpu if k != "copy"},
                   "cpu_staged_over_simplified": ratio(cpu, "staged", "simplified"),
                   "cpu_simplified_over_torch": (ratio(cpu, "simplified", "torch")
                                                 if "torch" in cpu else None),
                   "torch_max_rel_diff": torch_err}
            rows.append(row)
            print(f"  backward {dtype} ({N}, {D}) done", file=sys.stderr, flush=True)
    return {"torch": torch_version, "threads": {"torch": 1 if torch_version else None,
                                                "openblas": os.environ.get("OPENBLAS_NUM_THREADS")},
            "rows": rows}


# --------------------------------------------------------------------------
# 2. widgets
# --------------------------------------------------------------------------

def corners(controls):
    """The extremes of every control: first and last value of a slider,
    every choice of a drop-down. Yields dicts of control values."""
    import itertools
    ends = [(c.values[0], c.values[-1]) if c.numeric else c.values for c in controls]
    ends = [tuple(dict.fromkeys(e)) for e in ends]           # one value if the grid has one
    for combo in itertools.product(*ends):
        yield dict(zip((c.key for c in controls), combo))


def bench_widgets(quick):
    """Each widget's update (what moving a control calls) at its extremes.

    ``cold``: the memoised results are cleared first, so the update computes,
    draws and encodes the PNG, as on a reader's first visit to a setting;
    ``warm``: the same setting again (memoised data, redraw and PNG only).
    """
    try:
        from lib import widgets
    except ImportError as err:
        return {"skipped": f"lib.widgets is not available ({err})", "rows": []}
    factories = [n for n in getattr(widgets, "__all__", []) if n.endswith("_widget")]
    if not factories:
        return {"skipped": "lib.widgets exposes no *_widget factories", "rows": []}
    rows = []
    rounds = 2 if quick else 3
    for fname in factories:
        w = getattr(widgets, fname)()
        live = True
        try:
            w.live                                # build the ipywidgets view: update() renders a PNG
        except Exception:                         # no ipywidgets: time the figure only
            live = False
        settings = list(corners(w.controls))
        if quick:
            settings = settings[:2]
        for values in settings:
            w.update(**values)                    # warm up imports and fonts
            cold, cold_cpu, warm = [], [], []
            for _ in range(rounds):
                w.clear_cache()
                wall, cpu = time.perf_counter(), time.process_time()
                w.update(**values)
                cold.append(time.perf_counter() - wall)
                cold_cpu.append(time.process_time() - cpu)
                warm.append(timeit.timeit(lambda: w.update(**values), number=1))
            setting = ", ".join(f"{k}={v}" for k, v in values.items())
            rows.append({"widget": fname, "setting": setting, "live_png": live,
                         "seconds": median(cold), "cpu_seconds": median(cold_cpu),
                         "warm_seconds": median(warm)})
        print(f"  widget {fname} done", file=sys.stderr, flush=True)
    return {"rows": rows}


# --------------------------------------------------------------------------
# 3. book build
# --------------------------------------------------------------------------

def cold_caches(folder):
    """The caller's environment with an empty result store and widget cache under ``folder``.

    lib.store keeps the experiments' results in the system's temporary folder and the site
    build's kernels keep their widget frames in ``~/.cache``: both outlive a run, so a build
    or a chapter started after ``make test`` would read them and train nothing. A clean
    build, and a reader's first run of a chapter, start without them."""
    folder = Path(folder)
    return {**CHILD_ENV, "BNBOOK_RESULTS_CACHE": str(folder / "results"),
            "BNBOOK_WIDGET_CACHE": str(folder / "widgets")}


def jupyter_book_build(source, env):
    cmd = [str(BIN / "jupyter-book"), "build", str(source),
           "--warningiserror", "--nitpick", "--keep-going"]
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    return (time.perf_counter() - start, children_cpu() - cpu, proc.returncode,
            proc.stdout + proc.stderr)


def children_cpu():
    """CPU seconds used so far by finished child processes (and theirs)."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_book(quick):
    if quick:
        return {"skipped": "--quick does not build the book", "clean_s": None,
                "rebuild_s": None, "clean_cpu_s": None, "rebuild_cpu_s": None,
                "clean_ok": None, "rebuild_ok": None}
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        source = Path(tmp) / "book"
        shutil.copytree(BOOK, source, ignore=shutil.ignore_patterns(
            "_build", ".ipynb_checkpoints", ".jupyter_cache"))
        env = cold_caches(Path(tmp) / "caches")     # the rebuild keeps what the clean build stored
        clean_s, clean_cpu, clean_rc, clean_log = jupyter_book_build(source, env)
        rebuild_s, rebuild_cpu, rebuild_rc, _ = jupyter_book_build(source, env)
    result = {"clean_s": clean_s, "rebuild_s": rebuild_s,
              "clean_cpu_s": clean_cpu, "rebuild_cpu_s": rebuild_cpu,
              "clean_ok": clean_rc == 0, "rebuild_ok": rebuild_rc == 0}
    if clean_rc != 0:
        result["clean_log_tail"] = clean_log[-2000:]
    return result


# --------------------------------------------------------------------------
# 4. chapters (and 5. the symbolic checks they run)
# --------------------------------------------------------------------------

# Appended to every executed page: the symbolic checks the page ran.
_REPORT_CELL = """\
import json as _json, sys as _sys, time as _time
_sym = _sys.modules.get("lib.symbolic")
print("BENCH-SYMBOLIC " + _json.dumps(_sym.timings() if _sym else None))
print("BENCH-CPU " + _json.dumps(_time.process_time()))
"""


def toc_pages():
    """The executable pages listed in book/_toc.yml, in order."""
    import yaml

    def files(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                if isinstance(value, (list, dict)):
                    yield from files(value)
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    pages = []
    for name in [toc["root"], *files(toc)]:
        path = BOOK / f"{name}.md"
        if path.exists() and "kernelspec:" in path.read_text().split("\n---", 1)[0]:
            if path not in pages:
                pages.append(path)
    return pages


def reader_env(caches):
    """A reader's first kernel (Binder's fresh container): the caller's environment with empty
    caches under ``caches``, never a site build's kernel profile."""
    return {k: v for k, v in cold_caches(caches).items() if k != "IPYTHONDIR"}


def execute_page(path, timeout=600):
    """Execute one page like a Binder reader; seconds, error and symbolic timings."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT_CELL))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-reader-") as caches:
            client.execute(env=reader_env(caches))
    except Exception as err:  # a failing page is a figure too: report it
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
    seconds = time.perf_counter() - start
    symbolic = cpu = None
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith("BENCH-SYMBOLIC "):
                symbolic = json.loads(line[len("BENCH-SYMBOLIC "):])
            if line.startswith("BENCH-CPU "):
                cpu = json.loads(line[len("BENCH-CPU "):])
    return seconds, cpu, error, symbolic


def kernel_start_seconds():
    """What a page costs before its first line: starting a kernel, running nothing."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=CHILD_ENV)
    return time.perf_counter() - start


def bench_chapters(quick):
    pages = toc_pages()
    if quick:
        pages = pages[:1]
    rows = []
    for path in pages:
        seconds, cpu, error, symbolic = execute_page(path)
        rows.append({"page": str(path.relative_to(BOOK)), "seconds": seconds,
                     "kernel_cpu_s": cpu, "error": error,
                     "symbolic_checks": len(symbolic) if symbolic is not None else None,
                     "symbolic_s": sum(s for _, s in symbolic) if symbolic is not None else None})
        print(f"  chapter {path.name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return {"kernel_start_s": kernel_start_seconds(), "rows": rows}


def symbolic_from_chapters(chapters):
    rows = [{"page": r["page"], "checks": r["symbolic_checks"], "seconds": r["symbolic_s"]}
            for r in chapters["rows"] if r["symbolic_checks"]]
    if not rows:
        return {"skipped": "no page ran a lib.symbolic check", "total_s": None, "rows": []}
    return {"total_s": sum(r["seconds"] for r in rows),
            "checks": sum(r["checks"] for r in rows), "rows": rows}


# --------------------------------------------------------------------------
# goals and the printed table
# --------------------------------------------------------------------------

def goal(name, value, limit, met, unit, cpu=None):
    """One promise: ``value`` (wall clock) against ``limit``; ``cpu`` is the
    same figure in thread CPU time, shown alongside (met is judged on wall)."""
    return {"goal": name, "value": value, "cpu_value": cpu, "limit": limit, "unit": unit,
            "met": None if value is None and met is not False else bool(met)}


def evaluate_goals(results):
    goals = []
    bw = results.get("backward")
    if bw and bw.get("rows"):
        rows = bw["rows"]
        large = [r for r in rows if (r["N"], r["D"]) == SHAPES[-1]]
        worst = min(rows, key=lambda r: r["staged_over_simplified"])
        goals.append(goal(f"staged time / simplified time, worst size ({worst['dtype']} "
                          f"{worst['N']}x{worst['D']})", worst["staged_over_simplified"],
                          GOALS["simplified_vs_staged"],
                          worst["staged_over_simplified"] >= GOALS["simplified_vs_staged"], "x",
                          worst["cpu_staged_over_simplified"]))
        if bw.get("torch"):
            for r in sorted(rows, key=lambda r: (r["N"], r["dtype"])):
                goals.append(goal(f"simplified time / torch time, {r['dtype']} {r['N']}x{r['D']}",
                                  r["simplified_over_torch"], GOALS["simplified_vs_torch"],
                                  r["simplified_over_torch"] <= GOALS["simplified_vs_torch"], "x",
                                  r["cpu_simplified_over_torch"]))
        for r in large:
            value = r["ratio_to_copy"]["simplified"]
            goals.append(goal(f"simplified time / copy time, {r['dtype']} {r['N']}x{r['D']}", value,
                              GOALS["simplified_vs_copy_large"],
                              value <= GOALS["simplified_vs_copy_large"], "x",
                              r["cpu_ratio_to_copy"]["simplified"]))
    wd = results.get("widgets")
    if wd and wd.get("rows"):
        for name in dict.fromkeys(r["widget"] for r in wd["rows"]):
            worst = max((r for r in wd["rows"] if r["widget"] == name), key=lambda r: r["seconds"])
            goals.append(goal(f"slowest update of {name} ({worst['setting']}, cold)", worst["seconds"],
                              GOALS["widget_update_s"], worst["seconds"] <= GOALS["widget_update_s"],
                              "s", worst["cpu_seconds"]))
    bk = results.get("book")
    if bk and bk.get("clean_s") is not None:
        goals.append(goal("clean build (strict, with execution)", bk["clean_s"], GOALS["clean_build_s"],
                          bk["clean_ok"] and bk["clean_s"] <= GOALS["clean_build_s"], "s",
                          bk.get("clean_cpu_s")))
        goals.append(goal("rebuild with nothing changed", bk["rebuild_s"], GOALS["rebuild_s"],
                          bk["rebuild_ok"] and bk["rebuild_s"] <= GOALS["rebuild_s"], "s",
                          bk.get("rebuild_cpu_s")))
    ch = results.get("chapters")
    if ch and ch.get("rows"):
        limit = lambda r: GOALS["chapter_s_pages"].get(r["page"], GOALS["chapter_s"])  # noqa: E731
        worst = max(ch["rows"], key=lambda r: r["seconds"] / limit(r))
        goals.append(goal(f"slowest chapter ({worst['page']}, against its own limit)", worst["seconds"],
                          limit(worst), worst["seconds"] <= limit(worst)
                          and all(r["error"] is None for r in ch["rows"]), "s",
                          worst.get("kernel_cpu_s")))
        for r in ch["rows"]:
            if r["error"]:
                goals.append(goal(f"{r['page']} runs without error", None, None, False, "s"))
    sy = results.get("symbolic")
    if sy and sy.get("total_s") is not None:
        goals.append(goal("all symbolic checks", sy["total_s"], GOALS["symbolic_total_s"],
                          sy["total_s"] <= GOALS["symbolic_total_s"], "s"))
    st = results.get("static")
    if st and st.get("worst_median_ms") is not None:
        goals.append(goal("slowest static frame switch (median over its moves)", st["worst_median_ms"] / 1e3,
                          GOALS["static_switch_ms"] / 1e3, st["worst_median_ms"] <= GOALS["static_switch_ms"], "s"))
    pg = results.get("pages")
    if pg and pg.get("rows"):
        goals.append(goal("slowest DOM ready on the slow link", pg["worst_dom_ready_ms"] / 1e3,
                          GOALS["page_dom_ready_ms"] / 1e3, pg["worst_dom_ready_ms"] < GOALS["page_dom_ready_ms"], "s"))
        goals.append(goal("largest layout shift", pg["worst_cls"], GOALS["page_cls"],
                          pg["worst_cls"] < GOALS["page_cls"], ""))
        goals.append(goal("heaviest first visit (kB)", pg["worst_first_visit_bytes"] / 1e3,
                          GOALS["first_visit_bytes"] / 1e3,
                          pg["worst_first_visit_bytes"] <= GOALS["first_visit_bytes"], ""))
        goals.append(goal("heaviest page after the intro (kB)", pg["worst_next_page_bytes"] / 1e3,
                          GOALS["next_page_bytes"] / 1e3,
                          pg["worst_next_page_bytes"] <= GOALS["next_page_bytes"], ""))
    gr = results.get("grading")
    if gr and gr.get("overhead") is not None:
        goals.append(goal("sandboxed / direct time of one submission", gr["overhead"], GOALS["grading_overhead"],
                          gr["overhead"] <= GOALS["grading_overhead"], "x"))
        goals.append(goal(f"serial / -j 2 time of {gr['batch']} submissions", gr["speedup"],
                          GOALS["grading_speedup_j2"], gr["speedup"] >= GOALS["grading_speedup_j2"], "x"))
    return goals


def fmt(value, unit=""):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1e6:.0f} us" if value < 1e-3 else (
            f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.1f} s")
    return f"{value:.2f}{unit}"


def print_table(results):
    out = []
    m = results["machine"]
    out.append(f"Machine: {m['cpus']} CPUs, {m['processor']}, Python {m['python']}, "
               f"numpy {m['numpy']}; load average at start {m['load_start']}")
    bw = results.get("backward")
    if bw:
        names = ["copy", "staged", "rowwise", "columnwise", "simplified", "simplified_core"]
        if bw.get("torch"):
            names.append("torch")
        out.append("")
        out.append("Backward (median time per call; in brackets: ratio to a copy)"
                   + (f"; torch {bw['torch']}, 1 thread" if bw.get("torch") else "; torch not installed"))
        out.append(f"{'dtype':8} {'N x D':>11} " + " ".join(f"{n:>20}" for n in names)
                   + f" {'staged/simp':>11} {'simp/torch':>10}")
        for r in bw["rows"]:
            cells = []
            for n in names:
                t = r["seconds"].get(n)
                cells.append(f"{fmt(t, 's')}" if n == "copy" else
                             f"{fmt(t, 's')} ({fmt(r['ratio_to_copy'].get(n))})")
            out.append(f"{r['dtype']:8} {r['N']:>5}x{r['D']:<5} " + " ".join(f"{c:>20}" for c in cells)
                       + f" {fmt(r['staged_over_simplified']):>11} {fmt(r['simplified_over_torch']):>10}")
        out.append("")
        out.append("Backward in thread CPU time (waits for a core left out); ratio to a copy")
        out.append(f"{'dtype':8} {'N x D':>11} " + " ".join(f"{n:>20}" for n in names)
                   + f" {'staged/simp':>11} {'simp/torch':>10}")
        for r in bw["rows"]:
            cells = [fmt(r["cpu_seconds"].get(n), "s") if n == "copy" else
                     f"{fmt(r['cpu_seconds'].get(n), 's')} ({fmt(r['cpu_ratio_to_copy'].get(n))})"
                     for n in names]
            out.append(f"{r['dtype']:8} {r['N']:>5}x{r['D']:<5} " + " ".join(f"{c:>20}" for c in cells)
                       + f" {fmt(r['cpu_staged_over_simplified']):>11}"
                       + f" {fmt(r['cpu_simplified_over_torch']):>10}")
        out.append("(columnwise at 1024x4096 has 3 rounds: an N x N matrix product per call)")
    wd = results.get("widgets")
    if wd:
        out.append("")
        out.append("Widgets (median update time at the extremes of the controls: cold = memo cleared, "
                   "warm = same setting again)" + (f": skipped - {wd['skipped']}" if wd.get("skipped") else ""))
        for r in wd.get("rows", []):
            out.append(f"  {r['widget']:18} {r['setting']:60} cold {fmt(r['seconds'], 's'):>9}"
                       f" (cpu {fmt(r['cpu_seconds'], 's'):>9})  warm {fmt(r['warm_seconds'], 's'):>9}")
    bk = results.get("book")
    if bk:
        out.append("")
        if bk.get("skipped"):
            out.append(f"Book: skipped - {bk['skipped']}")
        else:
            out.append(f"Book: clean build {fmt(bk['clean_s'], 's')} (cpu {fmt(bk['clean_cpu_s'], 's')}, "
                       f"{'ok' if bk['clean_ok'] else 'FAILED'}), "
                       f"rebuild with nothing changed {fmt(bk['rebuild_s'], 's')} "
                       f"(cpu {fmt(bk['rebuild_cpu_s'], 's')}, {'ok' if bk['rebuild_ok'] else 'FAILED'})")
    ch = results.get("chapters")
    if ch:
        out.append("")
        out.append(f"Chapters (executed like Binder; a bare kernel start costs {fmt(ch['kernel_start_s'], 's')};"
                   " cpu = the kernel's CPU time)")
        for r in ch["rows"]:
            out.append(f"  {r['page']:36} {fmt(r['seconds'], 's'):>8}  (cpu {fmt(r['kernel_cpu_s'], 's'):>7})"
                       + (f"  ERROR {r['error']}" if r["error"] else ""))
    sy = results.get("symbolic")
    if sy:
        out.append("")
        if sy.get("skipped"):
            out.append(f"Symbolic checks: skipped - {sy['skipped']}")
        else:
            out.append(f"Symbolic checks: {sy['checks']} checks, {fmt(sy['total_s'], 's')} in total")
            for r in sy["rows"]:
                out.append(f"  {r['page']:36} {r['checks']:4} checks {fmt(r['seconds'], 's'):>8}")
    st = results.get("static")
    if st:
        out.append("")
        if st.get("skipped"):
            out.append(f"Static widgets: skipped - {st['skipped']}")
        else:
            out.append("Static widgets (frame switch: input handler and layout, in Chromium; bytes in the page)")
            for r in st["rows"]:
                out.append(f"  {r['name']:14} {r['page']:34} median {r['median']:.2f} ms, max {r['max']:.2f} ms "
                           f"over {r['moves']} moves, {r['bytes'] / 1e3:.0f} kB")
            for path, size in st["page_bytes"].items():
                out.append(f"  page {path:34} {size / 1e6:.2f} MB (HTML, with its widgets)")
    pg = results.get("pages")
    if pg:
        out.append("")
        if pg.get("skipped"):
            out.append(f"Pages: skipped - {pg['skipped']}")
        else:
            out.append(f"Pages at 390 px on a {pg['link']['mbps']} Mbps / {pg['link']['latency_ms']} ms link "
                       "(compressed bytes; median of the visits)")
            out.append(f"  {'page':30} {'first kB':>8} {'req':>4} {'paint':>7} {'ready':>7} {'shift':>6} "
                       f"{'next kB':>8} {'frames kB':>9}")
            for path, r in pg["rows"].items():
                out.append(f"  {path:30} {r['bytes'] / 1e3:8.0f} {r['requests']:4.0f} {r['fcp_ms']:5.0f}ms "
                           f"{r['dom_ready_ms']:5.0f}ms {r['cls']:6.3f} {r['next_page_bytes'] / 1e3:8.0f} "
                           f"{r['frame_bytes'] / 1e3:9.0f}")
    gr = results.get("grading")
    if gr:
        out.append("")
        if gr.get("skipped"):
            out.append(f"Grading: skipped - {gr['skipped']}")
        else:
            out.append(f"Grading: one submission {fmt(gr['sandboxed_s'], 's')} sandboxed, "
                       f"{fmt(gr['direct_s'], 's')} direct (x{gr['overhead']:.2f}); {gr['batch']} submissions "
                       f"{fmt(gr['serial_s'], 's')} serially, {fmt(gr['parallel_s'], 's')} with -j 2 "
                       f"(x{gr['speedup']:.2f})")
    if results["goals"]:
        out.append("")
        out.append("Goals")
        for g in results["goals"]:
            state = {True: "met", False: "MISSED", None: "n/a"}[g["met"]]
            unit = g["unit"] if g["unit"] == "s" else "x"
            cpu = f", cpu {fmt(g['cpu_value'], unit)}" if g.get("cpu_value") is not None else ""
            out.append(f"  {state:6} {g['goal']}: {fmt(g['value'], unit)}{cpu}"
                       f" (limit {fmt(g['limit'], unit)})")
    print("\n".join(out))


def cpu_model():
    """The processor's model name from /proc/cpuinfo (Linux), else platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit():
    """The commit of the tree being measured (with "+dirty" if it has changes), or None."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine():
    """Where and when the figures were taken: what a results file needs to be read later."""
    import datetime
    import numpy
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__,
            "load_start": [round(v, 1) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats, no book build: checks the plumbing, not speed")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json",
                        help="where to write the figures (default bench/results.json)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    sys.path.insert(0, str(ROOT))
    results = {"machine": machine(), "quick": args.quick, "sections": only}
    started = time.perf_counter()
    if "backward" in only:
        results["backward"] = bench_backward(args.quick)
    if "widgets" in only:
        results["widgets"] = bench_widgets(args.quick)
    if "book" in only:
        results["book"] = bench_book(args.quick)
    if "chapters" in only or "symbolic" in only:
        chapters = bench_chapters(args.quick)
        if "chapters" in only:
            results["chapters"] = chapters
        if "symbolic" in only:
            results["symbolic"] = symbolic_from_chapters(chapters)
    if "static" in only:
        sys.path.insert(0, str(ROOT / "bench"))
        from static_widgets import bench_static
        results["static"] = bench_static(args.quick)
    if "pages" in only:
        sys.path.insert(0, str(ROOT / "bench"))
        from pages import bench_pages
        results["pages"] = bench_pages(args.quick)
    if "grading" in only:
        sys.path.insert(0, str(ROOT / "bench"))
        from grading import bench_grading
        results["grading"] = bench_grading(args.quick)
    results["goals"] = evaluate_goals(results)
    results["bench_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print_table(results)
    print(f"\nWrote {args.out} ({results['bench_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
