"""The recorded benchmark of the backward passes, read for chapter 6's table.

``bench/run.py --only backward --out bench/results/backward.json`` times every method of
:func:`lib.batchnorm.backward` (and torch's kernel, when torch is installed) and writes
the figures with the machine, the versions, the date and the commit it measured. That file
is committed; chapter 6 renders it with :func:`backward_table` and glues its numbers, so
no timing is typed in the book. Running the benchmark again and committing the file
changes the page (the build re-executes chapter 6 when the file changes; see
``book/_ext/lib_digest.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "backward.json"
"""The committed results file chapter 6 renders."""

METHODS = ("staged", "rowwise", "columnwise", "simplified")
LABELS = {"staged": "`staged`", "rowwise": "`rowwise`", "columnwise": "`columnwise`",
          "simplified": "`simplified`", "torch": "PyTorch, one thread"}


def load(path=RESULTS) -> dict:
    """The results file as a dict; raises if it has no backward section or was a --quick run."""
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if results.get("quick"):
        raise ValueError(f"{path} is a --quick run (plumbing only), not a measurement")
    if not results.get("backward", {}).get("rows"):
        raise ValueError(f"{path} has no backward benchmark rows")
    return results


def _time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2g} ms"
    return f"{seconds * 1e6:.2g} µs"


def _ratio(value: float) -> str:
    return f"{value:.2g} × copy" if value < 10 else f"{value:.0f} × copy"


def rows(results: dict, dtype: str = "float64") -> list[dict]:
    """The benchmark rows of one dtype, in the order of the file (small to large)."""
    out = [r for r in results["backward"]["rows"] if r["dtype"] == dtype]
    if not out:
        raise ValueError(f"no {dtype} rows in the results")
    return out


def backward_table(results: dict, dtype: str = "float64") -> str:
    """A Markdown table: the copy time, then each method as a ratio to the copy, per shape.

    A contestant that was not measured (torch when it is not installed) gets no row.
    """
    rs = rows(results, dtype)
    head = f"| {dtype}, time per backward pass | " + " | ".join(
        f"{r['N']} × {r['D']}" for r in rs) + " |"
    lines = [head, "|:--|" + "--:|" * len(rs),
             "| copy of the array | " + " | ".join(_time(r["seconds"]["copy"]) for r in rs) + " |"]
    names = list(METHODS) + (["torch"] if all("torch" in r["ratio_to_copy"] for r in rs) else [])
    for name in names:
        lines.append(f"| {LABELS[name]} | "
                     + " | ".join(_ratio(r["ratio_to_copy"][name]) for r in rs) + " |")
    return "\n".join(lines)


def machine_line(results: dict) -> str:
    """Where and when the figures were taken, in words."""
    m = results["machine"]
    threads = results["backward"].get("threads", {}).get("openblas")
    torch = results["backward"].get("torch")
    parts = [f"{m['date'][:10]}", f"{m['cpus']} CPUs ({m.get('cpu_model') or m['processor']})",
             f"Python {m['python']}", f"numpy {m['numpy']}"
             + (f" with OpenBLAS on {threads} thread" if threads == "1" else ""),
             f"torch {torch}" if torch else "torch not installed, so not measured",
             f"commit {str(m.get('commit'))[:10]}"]
    return ", ".join(parts)


def speedups(results: dict, dtype: str = "float64") -> list[float]:
    """staged time / simplified time at each shape (the median of per-round ratios)."""
    return [r["staged_over_simplified"] for r in rows(results, dtype)]


def torch_sentence(results: dict) -> str:
    """Whether torch was measured in this file, in words (the table has its row only then)."""
    version = results["backward"].get("torch")
    if version:
        return (f"This file measured torch {version}, one thread: its row in the table is "
                "torch's native CPU kernel.")
    return ("The torch package was not installed where this file was recorded, so PyTorch was not "
            "measured and the table has no row for it.")
