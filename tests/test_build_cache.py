"""A warm cache never hides a wrong step (book/_ext/lib_digest.py).

The session's clean build (``built_book``) leaves a warm jupyter-cache. A copy of it, with a
copy of ``lib`` that the kernels import (PYTHONPATH), is rebuilt once, with three mistakes
planted: a wrong formula in ``lib`` (chapter 2), a reversed result in ``lib`` (chapter 9) and a
reversed claim in chapter 10's page (the two networks' results swapped before the
learning-rate claims are made, its training runs read from the store). The chapters that import
the changed code and the changed page run again (the others come from the cache), the build
fails, its last lines name each chapter, the step, the size and what did not cancel, or the
claim, and the failing chapters keep no record of a clean run, so the next warm build runs them
again (lib_digest runs every chapter without such a record; the clean build showed that the
right versions pass).
"""
from __future__ import annotations

import json
import shutil
import sys

import pytest

from book_build import strict_build
from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from lib_digest import STAMP  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PLANTS = [  # (file, right line, wrong line): dJ/dgamma doubled (chapter 2), and a reversed claim:
    # residual+BN's gradient said to grow exponentially (chapter 9, measured: a power law)
    ("lib/experiments/residual.py", '"residual+bn": ("power law", RELU_RATE_LIMIT)',
     '"residual+bn": ("exponential", RELU_RATE_LIMIT)'),
    ("lib/steps/basics.py", "    return sp.Sum(dy[i, j] * x_hat[i, j], (i, 1, N))",
     "    return sp.Sum(2 * dy[i, j] * x_hat[i, j], (i, 1, N))"),
]


@pytest.fixture(scope="module")
def warm_copy(built_book, tmp_path_factory):
    assert built_book.returncode == 0, built_book.log[-3000:]
    repo = tmp_path_factory.mktemp("warm") / "repo"
    shutil.copytree(built_book.source, repo / "book")          # with _build and its caches
    shutil.copytree(ROOT / "lib", repo / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.lock", "CITATION.cff"):             # what the build reads besides book/
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "assignments" / "masters", repo / "assignments" / "masters")  # the puller links
    shutil.copytree(ROOT / "bench" / "results", repo / "bench" / "results")  # chapter 6 renders its timings
    return repo


def _build(repo):
    return strict_build(repo / "book", env={"PYTHONPATH": str(repo)}, timeout=900)


def _executed(log):
    return sorted(line.split("/chapters/")[1].split(".md")[0] for line in log.splitlines()
                  if "Executing notebook" in line and "/chapters/" in line)


def _plant(repo, wrong=True):
    for rel, right, bad in PLANTS:
        path = repo / rel
        text = path.read_text()
        old, new = (right, bad) if wrong else (bad, right)
        assert old in text, f"{rel} no longer holds {old!r}: update the test"
        path.write_text(text.replace(old, new))


def _clean_runs(repo):
    """Chapters lib_digest recorded as having run cleanly with their current lib (it runs
    again, on the next build, every chapter missing here whose lib differs)."""
    records = (repo / "book" / "_build").rglob(STAMP)
    return set().union(*(json.loads(p.read_text()) for p in records))


# chapter 10: the learning-rate sweep with the two networks' results swapped before its claims
CLAIM_RIGHT = "sweep = tx.lr_sweep()\n"
CLAIM_REVERSED = 'sweep = tx.lr_sweep()\nsweep = {**sweep, "bn": sweep["plain"], "plain": sweep["bn"]}\n'


def test_planted_mistakes_fail_a_warm_build_and_are_named(warm_copy):
    """Three plants, one warm build: a wrong formula in lib (chapter 2), a reversed result in lib
    (chapter 9's residual+BN said to grow exponentially) and a reversed claim in a page
    (chapter 10's sweep swapped before its claims)."""
    assert {"chapters/01_layer", "chapters/02_basics", "chapters/10_training"} <= _clean_runs(warm_copy)
    _plant(warm_copy)
    page = warm_copy / "book" / "chapters" / "10_training.md"
    text = page.read_text()
    assert text.count(CLAIM_RIGHT) == 1, "chapter 10 no longer runs `sweep = tx.lr_sweep()`: update the test"
    page.write_text(text.replace(CLAIM_RIGHT, CLAIM_REVERSED))
    code, log = _build(warm_copy)
    assert code != 0
    # the chapters that import the changed code, and the changed page, ran again; the rest came from the cache
    ran = set(_executed(log))
    assert {"02_basics", "09_residual", "10_training"} <= ran
    assert "01_layer" not in ran
    tail = log[log.index("chapter(s) failed to execute"):]
    assert "chapters/02_basics: sympy check failed: step 'dJ/dgamma [N = 2]' (N = 2, D = 2)" in tail
    assert "lhs - rhs" in tail
    assert "chapters/09_residual: AssertionError: {'architecture': 'residual+bn'" in tail
    assert "chapters/10_training: ClaimError: claim 'train-lr-factor' (chapter 10) does not hold" in tail
    # and they keep failing on the next warm build, until fixed: no clean run is recorded for them
    recorded = _clean_runs(warm_copy)
    assert not {"chapters/02_basics", "chapters/09_residual", "chapters/10_training"} & recorded
    assert "chapters/01_layer" in recorded
