"""The self-check questions (lib/quizzes.py): two to four a chapter, each right answer the
book's own number, each named mistake a different answer, all renderable by jupyterquiz."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lib import quizzes


@pytest.mark.parametrize("n", sorted(quizzes.CHAPTERS))
def test_every_chapter_has_two_to_four_questions_with_one_right_answer(n):
    questions = quizzes.chapter(n)
    assert 2 <= len(questions) <= 4
    json.dumps(questions)                                  # what jupyterquiz is given
    for q in questions:
        right = [a for a in q["answers"] if a["correct"]]
        assert len(right) == 1 and right[0]["feedback"].startswith("Right")
        wrong = [a for a in q["answers"] if not a["correct"]]
        assert len(wrong) >= 2 and all(a["feedback"] for a in wrong)
        if q["type"] == "numeric":
            values = [a["value"] for a in q["answers"] if a["type"] == "value"]
            digits = q["precision"]
            rounded = {float(f"{v:.{digits}g}") for v in values}
            assert len(rounded) == len(values), f"two answers of {q['question']!r} look the same"
            assert q["answers"][-1]["type"] == "range", "an unknown number gets an answer too"


def test_the_numbers_are_the_books():
    """Worked out by hand here, independently of lib.quizzes' own computation."""
    right = {n: [a["value"] for q in quizzes.chapter(n) if q["type"] == "numeric"
                 for a in q["answers"] if a["correct"]] for n in quizzes.CHAPTERS}
    assert right[1] == [2.0]                   # x = (2, 4, 4, 6): deviations (-2, 0, 0, 2), 8/4
    assert right[2] == [0.0]                   # a dense Jacobian
    assert right[4] == [3.0]                   # (a vᵀ + c I) e_1 = a + 7 e_1: third entry 3
    assert right[6] == [1.0]                   # rank N - 2
    assert right[7] == [128.0]                 # 8 · 4 · 4
    assert np.isclose(right[8][0], 6 / 8)      # (N - 2)/N
    assert right[9] == [25.0, 5.0]             # v_0 + 24 blocks; rank d - 1 for d = 6


def test_an_unknown_chapter_is_named():
    with pytest.raises(ValueError, match="chapter must be one of"):
        quizzes.chapter(11)


def test_jupyterquiz_renders_them_without_another_host(capsys):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from jupyterquiz import display_quiz
    InteractiveShell.instance()
    with capture_output() as shown:
        display_quiz(quizzes.chapter(1))
    kinds = [set(o.data) for o in shown.outputs]
    assert any("text/html" in k for k in kinds) and any("application/javascript" in k for k in kinds)
    script = next(o.data["application/javascript"] for o in shown.outputs if "application/javascript" in o.data)
    assert "A column is x = (2, 4, 4, 6)" in script


def test_show_adds_a_printable_version_and_nothing_prints_an_object_repr():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    InteractiveShell.instance()
    with capture_output() as shown:
        quizzes.show(2)
    html, script = shown.outputs
    assert "text/html" in html.data and "application/javascript" in script.data
    assert all(o.data["text/plain"] == "" for o in shown.outputs), "the PDF would print an object's repr"
    text = html.data["text/markdown"]
    assert "1. With y = γ ⊙ x̂ + β" in text and "*Answers.* (1) Σ_i ∂J/∂y_ij: β_j is added" in text
    assert "    - γ_j Σ_i ∂J/∂y_ij" in text
