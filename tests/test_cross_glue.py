"""cross_glue: the intro, which glues chapter 8's and 9's numbers, is written again whenever they run."""
from __future__ import annotations

import sys
from types import SimpleNamespace

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import cross_glue  # noqa: E402


def _env(sources, read):
    env = SimpleNamespace(bn_glue_sources=sources)
    cross_glue.remember_read(None, env, read)
    return env


def test_a_page_that_glues_from_a_page_read_again_is_written_again():
    env = _env({"intro": {"chapters/08_gradient", "chapters/10_training"}}, ["chapters/08_gradient"])
    assert cross_glue.to_write(None, env) == ["intro"]


def test_nothing_more_is_written_when_the_glued_pages_did_not_run():
    env = _env({"intro": {"chapters/08_gradient"}}, ["chapters/02_basics"])
    assert cross_glue.to_write(None, env) == []
    env = _env({"intro": {"chapters/08_gradient"}}, ["intro", "chapters/08_gradient"])
    assert cross_glue.to_write(None, env) == [], "a page read anyway is not added twice"


def test_a_removed_page_is_forgotten():
    env = _env({"intro": {"chapters/08_gradient"}}, ["chapters/08_gradient"])
    cross_glue.purge(None, env, "intro")
    assert cross_glue.to_write(None, env) == []
