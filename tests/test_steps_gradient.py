"""Chapter 8's exact facts: each holds, and each refuses a deliberate slip (or a wrong display)."""
from __future__ import annotations

import pytest
import sympy as sp

from conftest import proved_steps
from lib.steps import gradient as gr
from lib.steps.matrices import I, N, ONES, ONES_N, add, mul
from lib.steps.columnwise import SIGMA2, X_HAT
from lib.symbolic import EPS, StepError

SMALL = [2, 3]


def test_every_fact_holds_for_N_2_to_5():
    steps = proved_steps(gr)
    assert len(steps) == 11
    assert all(st.sizes == "N = 2..5" for st in steps[:10])


def test_displays_are_printed_from_the_checked_formulas():
    assert gr.squared_length_step(sizes=[2]).latex() == (
        r"\left\|\hat{x}\right\|^{2} = \frac{N \sigma^{2}}{\sigma^{2} + \epsilon}")
    assert r"\frac{\delta + 1}{N}" in gr.santurkar_step(sizes=[2]).latex()
    assert gr.trace_sq_step(sizes=[2]).latex().endswith(r"N + \delta^{2} - 2")


MUTANTS = {
    # the length, not the squared length, of x_hat: the slip the page used to make
    "length for squared length": (gr.squared_length_step, N * sp.sqrt(SIGMA2 / (SIGMA2 + EPS))),
    "P keeps nothing of x_hat": (gr.eigen_step, sp.ZeroMatrix(N, 1)),
    "tr P for tr P^T P": (gr.trace_sq_step, N - 2 + gr.DELTA),
    "tr P without delta": (gr.trace_step, N - 2),
    "1/sqrt(m) on the last term": (gr.santurkar_step, gr.santurkar_formula(last=sp.sqrt(N))),
    "the 1/a law squared": (gr.scale_step, 1 / gr.A ** 2),
    "P without the mean": (gr.ones_step, mul(-1 / N, ONES_N)),
    "an asymmetric P": (gr.symmetry_step, add(I, mul(-1 / N, ONES), mul(-1 / N, X_HAT, ONES_N.T))),
    "SGD shrinks the weight": (gr.sgd_norm_step, add(mul(gr.W.T, gr.W), mul(-gr.ETA ** 2, gr.NABLA.T, gr.NABLA))),
    "backward map without 1/s": (gr.backward_map_step, mul(gr.p_formula(), gr.G)),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_a_wrong_fact_fails(name):
    step, wrong = MUTANTS[name]
    with pytest.raises(StepError):
        step(wrong, sizes=SMALL)


def test_delta_means_what_its_formula_says(monkeypatch):
    monkeypatch.setattr(gr, "delta_formula", lambda: SIGMA2 / (SIGMA2 + EPS))   # 1 - delta
    with pytest.raises(StepError):
        gr.eigen_step(sizes=[2])


def test_the_printed_left_side_is_the_computed_one():
    # the left side is a general object evaluated on the components, not a typed label
    assert gr.trace_step(sizes=[2]).latex().startswith(r"\operatorname{tr}\left(P \right)")
    assert gr.trace_sq_step(sizes=[2]).latex().startswith(r"\operatorname{tr}\left(P^{\top} P \right)")
    with pytest.raises(StepError):                     # tr P is not N - 2 + delta^2
        gr.trace_step(gr.trace_sq_formula(), sizes=[2])


def test_example_step_is_checked_at_every_stated_size_and_audited():
    from lib.steps import audit, layouts

    step = gr.example_step(shapes=((2, 1), (3, 2)))
    assert step.sizes == "(N, D) = (2, 1), (3, 2); M = N"
    with pytest.raises(StepError):                     # wrong at N = 3 only (M fixed at 2), not the last
        gr.example_step(layouts.general_formula().subs(layouts.M, 2), shapes=((3, 1), (2, 1)))
    assert (8, gr) in audit.CHAPTERS                       # so audit.book_steps() lists it, chapter 8
    assert any(s.function.endswith("gradient.example_step") for s in proved_steps(gr))
    assert audit.shown_as(step) == ["eq-grad-example"]
