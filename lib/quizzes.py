"""Self-check questions at the end of each chapter, in jupyterquiz's JSON format.

``chapter(n)`` returns the questions of chapter ``n`` as a list of dicts that
``jupyterquiz.display_quiz`` renders, in the static site (offline: its JavaScript is
embedded in the page) and in Jupyter. ``show(n)`` displays them, with a Markdown version for
the PDF edition (the questions, their choices and the answers), which has no JavaScript. Every number an answer is judged against is computed
here with ``lib``, never typed; a wrong answer that matches a known mistake gets that
mistake's explanation, in the words of :mod:`lib.exercises` where one fits.
"""
from __future__ import annotations

import math

import numpy as np

from lib.experiments.projection import backward_matrix
from lib.norms import layout_axes, normalize

__all__ = ["chapter", "show", "as_markdown", "CHAPTERS"]


def _choice(question, right, right_why, *wrong):
    """A multiple-choice question: the right answer first (jupyterquiz shuffles them)."""
    answers = [{"answer": right, "correct": True, "feedback": f"Right: {right_why}"}]
    answers += [{"answer": text, "correct": False, "feedback": why} for text, why in wrong]
    return {"question": question, "type": "multiple_choice", "answers": answers}


def _number(question, right, right_why, *wrong, digits=3):
    """A numeric question judged to ``digits`` significant digits; known mistakes named."""
    answers = [{"type": "value", "value": float(right), "correct": True, "feedback": f"Right: {right_why}"}]
    answers += [{"type": "value", "value": float(value), "correct": False, "feedback": why}
                for value, why in wrong]
    answers.append({"type": "range", "range": [-1e300, 1e300], "correct": False,
                    "feedback": "Not that: work it out on paper, then check it with the chapter's code."})
    return {"question": question, "type": "numeric", "precision": digits, "answers": answers}


def _chapter1():
    x = np.array([2.0, 4.0, 4.0, 6.0])
    var = normalize(x, 0, 0.0)[1].item()        # the biased variance, as lib computes it
    return [
        _number(f"A column is x = ({', '.join(f'{v:g}' for v in x)}). What is its variance "
                f"σ² as training-mode batch norm computes it?", var,
                "the biased variance, the mean square deviation.",
                (x.var(ddof=1), "that is the unbiased variance (divided by N - 1); training-mode batch "
                                "norm divides by N."),
                (math.sqrt(var), "that is σ, the standard deviation: the question asks for σ²."), digits=3),
        _choice("At inference, batch norm normalizes an example with", "running averages of the batch "
                "statistics collected in training", "predictions must not depend on the other examples "
                "of a batch.",
                ("the mean and variance of the current batch", "that is training mode: at inference there "
                 "may be one example at a time."),
                ("the example's own mean and variance over its features", "that is layer norm (chapter 7).")),
    ]


def _chapter2():
    N = 4
    J = backward_matrix(np.arange(N, dtype=float) ** 2)["P"]
    zeros = int((np.abs(J) < 1e-12).sum())
    return [
        _choice("With y = γ ⊙ x̂ + β, the gradient ∂J/∂β_j is", "Σ_i ∂J/∂y_ij", "β_j is added to every "
                "example of column j, so its gradient sums over the batch.",
                ("γ_j Σ_i ∂J/∂y_ij", "extra factor γ: ∂J/∂β_j sums ∂J/∂y_ij over the batch; γ multiplies x̂, "
                 "not β."),
                ("(1/N) Σ_i ∂J/∂y_ij", "a mean instead of a sum: every example's gradient counts in full.")),
        _number(f"How many entries of the {N} × {N} Jacobian ∂x̂/∂x of one column are zero (for a column "
                f"that is not constant)?", zeros, "none: every x̂_i depends on every x_k through μ and σ².",
                (N * N - N, "that is a diagonal Jacobian, as a dense layer's would be; batch norm's mean "
                            "and variance couple every row."), digits=2),
    ]


def _chapter3():
    return [
        _choice("Along how many paths does x_i reach the loss in the row-wise derivation?", "three: "
                "directly through x̂_i, through μ and through σ²", "the chain rule adds all three.",
                ("two: directly and through μ", "a missing path: σ² depends on x_i too."),
                ("one: directly through x̂_i", "both statistics depend on x_i: the paths through μ and σ² "
                 "are missing.")),
        _choice("What is ∂x̂_i/∂σ², holding x_i and μ fixed?", "-(x_i - μ)(σ² + ε)^(-3/2) / 2",
                "the power rule on (σ² + ε)^(-1/2).",
                ("-(x_i - μ)(√(σ² + ε))^(-3/2) / 2", "the exponent -3/2 applies to (σ² + ε), not to "
                 "its square root."),
                ("(x_i - μ)(σ² + ε)^(-3/2) / 2", "sign error: x̂ shrinks as the variance grows.")),
    ]


def _chapter4():
    a, v, g = np.array([1.0, 0.0, 3.0]), np.array([1.0, 2.0, 2.0]), np.array([1.0, 0.0, 0.0])
    c, dc = a @ v, a                               # c(v) = aᵀv and its gradient
    dv = (np.outer(dc, v) + c * np.eye(3)) @ g
    return [
        _number("Take c(v) = aᵀv with a = (1, 0, 3), v = (1, 2, 2) and ∂f/∂u = (1, 0, 0). What is the "
                "third entry of ∂f/∂v by the lemma?", dv[2], "(∂c/∂v vᵀ + c I) ∂f/∂u with ∂c/∂v = a.",
                ((c * g)[2], "that is c(v) ∂f/∂u alone: the term through c is missing."),
                ((np.outer(v, dc) @ g + c * g)[2], "transposed outer product: use ∂c/∂v vᵀ, not v ∂c/∂vᵀ."),
                digits=3),
        _choice("For u = c(v) v and a loss f(u), the lemma gives ∂f/∂v =",
                "(∂c/∂v vᵀ + c(v) I) ∂f/∂u", "both v and the factor c(v) depend on v.",
                ("c(v) ∂f/∂u", "the term through c is missing: c depends on v too."),
                ("(v ∂c/∂vᵀ + c(v) I) ∂f/∂u", "transposed: the outer product is ∂c/∂v vᵀ, which "
                 "multiplies ∂f/∂u as (vᵀ ∂f/∂u) ∂c/∂v.")),
    ]


def _chapter5():
    return [
        _choice("The centred column R = x - μ1 is a matrix times x. Which matrix?", "I - 11ᵀ/N",
                "μ1 = (11ᵀ/N) x.",
                ("I - I/N", "that scales x; it does not subtract the mean."),
                ("11ᵀ/N", "that matrix gives μ1, the part that is subtracted.")),
        _choice("With R = x - μ1 the centred column and c = (σ² + ε)^(-1/2), what is ∂c/∂R?",
                "-(1/N)(σ² + ε)^(-3/2) R", "σ² = RᵀR/N, so ∂σ²/∂R = 2R/N.",
                ("-(1/N)(σ² + ε)^(-1/2) R", "wrong exponent: differentiating (σ² + ε)^(-1/2) gives the "
                 "power -3/2."),
                ("-(2/N)(σ² + ε)^(-3/2) R", "the factor 1/2 of the power rule is missing.")),
    ]


def _chapter6():
    rank = int(np.linalg.matrix_rank(backward_matrix(np.array([0.0, 1.0, 5.0]))["P"]))
    return [
        _number("For N = 3 and ε = 0, what is the rank of P = I - 11ᵀ/N - x̂x̂ᵀ/N?", rank,
                "N - 2: P removes the directions of 1 and of x̂.",
                (rank + 1, "N - 1 is the rank with ε > 0, when P keeps a little of x̂; with ε = 0 it "
                           "removes x̂ as well as 1."),
                (3, "P is not invertible: it sends 1 to zero."), digits=1),
        _choice("The simplified gradient (1/s) P ∂J/∂x̂ removes from ∂J/∂x̂", "its mean and its component "
                "along x̂", "P projects out 1 and x̂.",
                ("only its mean", "the term x̂x̂ᵀg/N (the path through the variance) is missing."),
                ("only its component along x̂", "the term 11ᵀg/N (the path through the mean) is "
                 "missing.")),
    ]


def _chapter7():
    shape = (8, 3, 4, 4)
    work, axes, _ = layout_axes("spatial batch norm", shape)
    M = int(np.prod([work[k] for k in axes]))
    return [
        _number(f"A batch of images has shape (N, C, H, W) = {shape}. How many numbers share one mean "
                f"in spatial batch norm (the effective batch M)?", M, "N·H·W: every example and every "
                "pixel of one channel.",
                (shape[0], "that is only N: spatial batch norm also averages over H and W."),
                (int(np.prod(shape[1:])), "C·H·W is the group of layer norm, one example's features."),
                digits=4),
        _choice("Layer norm computes its mean and variance over", "the features of each example",
                "so it does not depend on the batch at all.",
                ("the examples of the batch, per feature", "that is batch norm."),
                ("the pixels of one channel of one example", "that is instance norm.")),
    ]


def _chapter8():
    N = 8
    kept = backward_matrix(np.arange(N, dtype=float))["P"].trace() / N
    return [
        _number(f"An upstream gradient g with independent, equal-variance entries goes through batch "
                f"norm (ε = 0) for one column of N = {N}. On average, what fraction of ‖g‖² does P keep?",
                kept, "trace P / N = (N - 2)/N.",
                ((N - 1) / N, "about (N - 1)/N: only the mean was removed; P also removes the x̂ "
                              "direction."),
                (1.0, "nothing was removed: P projects out two directions."), digits=3),
        _choice("A column is scaled by a = 10 (with a²σ² far above ε). Its input gradient", "shrinks by a "
                "factor 10", "the output is unchanged, and ∂J/∂x scales like 1/a.",
                ("grows by a factor 10", "inverted: a larger input gives a smaller gradient."),
                ("does not change", "the output is scale invariant, but the gradient is not: it scales "
                 "by 1/a.")),
    ]


def _chapter9():
    from lib.steps.residual import RECURSIONS, V0, l
    L, d = 24, 6
    linear, doubling = (float(RECURSIONS[case][2].subs({V0: 1, l: L}))
                        for case in ("batch norm in the branch", "no normalization"))
    x_hat = np.arange(1.0, d + 1)
    x_hat /= np.sqrt((x_hat ** 2).mean())                     # x / rms(x), eps = 0
    rank = int(np.linalg.matrix_rank(np.eye(d) - np.outer(x_hat, x_hat) / d, tol=1e-10))
    return [
        _number(f"A residual stack starts from unit variance, and each of its {L} blocks has batch norm "
                f"last in its branch. Ignoring ε and the covariance (zero on average), what is the "
                f"variance of the skip path after the last block?", linear,
                "each block adds the branch's unit variance: v_l = v₀ + l.",
                (L, "the starting variance v₀ = 1 is still there: v_l = v₀ + l."),
                (doubling, "that is a branch without normalization, which doubles the variance."), digits=3),
        _choice("At initialization, going from the output to the input of a deep residual network with "
                "batch norm in every branch, the squared gradient norm grows", "like a power of the "
                "depth", "the branch's gain falls like 1/v_l as the skip path's variance grows.",
                ("exponentially, as in a plain network with batch norm", "that is chapter 8's network "
                 "without skip connections; here each branch is scaled down by about 1/√l."),
                ("not at all", "each block still adds the branch's gain, about c/v_l; the product "
                 "grows like (L/l)ᶜ.")),
        _number(f"What is the rank of RMS norm's backward map I - x̂x̂ᵀ/d for d = {d} features and "
                f"ε = 0?", rank, "it removes the direction x̂ and nothing else.",
                (d - 2, "that is layer norm's: RMS norm does not remove the mean."),
                (d, "with ε = 0 the direction x̂ is removed exactly."), digits=2),
    ]


def _chapter10():
    return [
        _choice("Why can the batch statistics act as a regularizer in training?", "each example's output "
                "depends on the random other examples of its batch, a noise that shrinks as N grows",
                "the noise chapter 8 measures, which vanishes at inference.",
                ("they shrink the weights towards zero", "that is weight decay; batch norm leaves the "
                 "weights' scale free."),
                ("they make the loss convex", "the loss of a deep network stays non-convex with batch norm.")),
        _choice("Santurkar et al. (2018) argue that batch norm helps training mainly because it",
                "makes the loss landscape smoother", "they found that injected covariate shift does not "
                "undo its benefit, while the gradients become more predictive.",
                ("reduces internal covariate shift", "that was the original explanation of Ioffe and "
                 "Szegedy (2015), which Santurkar et al. dispute."),
                ("removes the need for a learning rate", "it allows larger learning rates, but one still "
                 "has to choose one.")),
    ]


CHAPTERS = {1: _chapter1, 2: _chapter2, 3: _chapter3, 4: _chapter4, 5: _chapter5, 6: _chapter6,
            7: _chapter7, 8: _chapter8, 9: _chapter9, 10: _chapter10}


def chapter(n: int) -> list[dict]:
    """The self-check questions of chapter ``n`` (1 to 10)."""
    if n not in CHAPTERS:
        raise ValueError(f"chapter must be one of {sorted(CHAPTERS)}, got {n!r}")
    return CHAPTERS[n]()


def as_markdown(questions) -> str:
    """The questions for print: each with its choices, then the answers with their reasons."""
    lines, answers = [], []
    for k, q in enumerate(questions, start=1):
        lines.append(f"{k}. {q['question']}")
        right = next(a for a in q["answers"] if a["correct"])
        why = right["feedback"].removeprefix("Right: ")
        if q["type"] == "multiple_choice":
            lines += [f"    - {a['answer']}" for a in q["answers"]]
            answers.append(f"({k}) {right['answer']}: {why}")
        else:
            answers.append(f"({k}) {right['value']:g}: {why}")
    return "\n".join(lines) + "\n\n*Answers.* " + " ".join(answers)


def show(n: int) -> None:
    """Display chapter ``n``'s questions: jupyterquiz's page and script, and a printable text."""
    from IPython.display import display
    from IPython.utils.capture import capture_output
    from jupyterquiz import display_quiz

    questions = chapter(n)
    with capture_output() as shown:
        display_quiz(questions)
    for k, output in enumerate(shown.outputs):
        data = dict(output.data)
        if k == 0:
            data["text/markdown"] = as_markdown(questions)
        data["text/plain"] = ""
        display(data, raw=True)
