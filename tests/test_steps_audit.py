"""The verification page's machinery: every step of the book, each refusing a planted mistake."""
from __future__ import annotations

import pytest

from lib.steps import audit


@pytest.fixture(scope="module")
def audited():
    return audit.audited()


@pytest.fixture(scope="module")
def steps(audited):
    return [(chapter, step) for chapter, step, _ in audited]


def test_every_chapter_module_contributes_its_steps(steps):
    chapters = {chapter for chapter, _ in steps}
    assert chapters == {2, 3, 4, 5, 6, 7, 8, 9}
    assert len(steps) >= 70
    assert all(step.function.startswith("lib.steps.") for _, step in steps)
    # building a step runs its check: every step of the book holds, at the sizes it states
    # (test_steps_<chapter> test the displays and the mutations; the holding is tested here once)
    assert all(step.sizes and step.seconds >= 0 for _, step in steps)


def test_every_step_with_a_formula_refuses_a_planted_mistake(audited):
    results = [(step.name, a) for _, step, a in audited]
    assert not [name for name, a in results if a["rejected"] is False]
    assert sum(a["rejected"] is True for _, a in results) >= 65


def test_an_audit_reports_a_check_that_cannot_fail(monkeypatch):
    """A check made vacuous (its comparison always passes) is reported, not hidden."""
    from lib.steps import basics
    step = basics.dbeta_step(sizes=[2])
    monkeypatch.setattr(audit, "_function", lambda s: (lambda **kw: None))
    assert audit.audit(step)["rejected"] is False
